#include "server/hub/key_directory.h"

#include <optional>

namespace sreda::hub {

void KeyDirectory::put(const std::string& stream_key, const StudioKey& studio) {
  bool revoked = false;
  uint64_t generation = 0;
  OnRevoked notify;
  {
    std::lock_guard lock(mutex_);
    notify = on_revoked_;
    std::optional<uint64_t> same_key;
    for (auto it = by_key_.begin(); it != by_key_.end();) {
      if (it->second.studio_id != studio.studio_id) {
        ++it;
        continue;
      }
      if (it->first == stream_key) same_key = it->second.generation;
      else revoked = true;
      it = by_key_.erase(it);
    }
    generation = same_key ? *same_key : next_generation_++;  // a rename keeps the key's generation
    StudioKey entry = studio;
    entry.generation = generation;
    by_key_[stream_key] = entry;
  }
  if (revoked && notify) notify(studio.studio_id, generation);
}

void KeyDirectory::remove_studio(int64_t studio_id) {
  bool revoked = false;
  OnRevoked notify;
  {
    std::lock_guard lock(mutex_);
    notify = on_revoked_;
    for (auto it = by_key_.begin(); it != by_key_.end();) {
      if (it->second.studio_id == studio_id) {
        it = by_key_.erase(it);
        revoked = true;
      } else {
        ++it;
      }
    }
  }
  if (revoked && notify) notify(studio_id, 0);
}

std::optional<StudioKey> KeyDirectory::find(const std::string& stream_key) const {
  std::lock_guard lock(mutex_);
  auto it = by_key_.find(stream_key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

size_t KeyDirectory::size() const {
  std::lock_guard lock(mutex_);
  return by_key_.size();
}

std::string redact_key(const std::string& key) { return key.substr(0, 4) + "…"; }

}  // namespace sreda::hub
