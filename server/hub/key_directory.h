// Stream key → studio, in memory, so ingest can check a key at once (SRT must answer inside libsrt's
// listen callback). Loaded from the store at start-up; the API updates it after each committed change.
// Thread-safe (a mutex at this seam).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace sreda::hub {

struct StudioKey {
  int64_t studio_id = 0;
  std::string name;
  std::string srt_passphrase;  // empty: none
};

class KeyDirectory {
 public:
  // Sets the studio's entry, replacing any older key of the same studio.
  void put(const std::string& stream_key, const StudioKey& studio);
  void remove_studio(int64_t studio_id);
  std::optional<StudioKey> find(const std::string& stream_key) const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, StudioKey> by_key_;
};

// Log-safe form of a key: its first 4 characters and an ellipsis.
std::string redact_key(const std::string& key);

}  // namespace sreda::hub
