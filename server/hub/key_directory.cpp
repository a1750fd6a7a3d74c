#include "server/hub/key_directory.h"

namespace sreda::hub {

void KeyDirectory::put(const std::string& stream_key, const StudioKey& studio) {
  std::lock_guard lock(mutex_);
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    if (it->second.studio_id == studio.studio_id) it = by_key_.erase(it);
    else ++it;
  }
  by_key_[stream_key] = studio;
}

void KeyDirectory::remove_studio(int64_t studio_id) {
  std::lock_guard lock(mutex_);
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    if (it->second.studio_id == studio_id) it = by_key_.erase(it);
    else ++it;
  }
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
