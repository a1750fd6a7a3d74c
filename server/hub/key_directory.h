// Stream key → studio, in memory, so ingest can check a key at once (SRT must answer inside libsrt's
// listen callback). Loaded from the store at start-up; the API updates it after each committed change.
// Thread-safe (a mutex at this seam).
//
// Rotation: each key a studio gets has a new `generation`; the publish a key opened carries it. When put()
// replaces a studio's key with a different one, or remove_studio() removes it, the on_revoked callback (given
// to the constructor) hears (studio id, the generation now valid; 0 = none), after the lock is released, on
// the caller's thread: the hub then disconnects a publisher of that studio that used an older key.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace sreda::hub {

struct StudioKey {
  int64_t studio_id = 0;
  std::string name;
  std::string srt_passphrase;  // empty: none
  uint64_t generation = 0;     // set by KeyDirectory::put: which of the studio's keys this is
};

class KeyDirectory {
 public:
  using OnRevoked = std::function<void(int64_t studio_id, uint64_t valid_generation)>;
  explicit KeyDirectory(OnRevoked on_revoked = {}) : on_revoked_(std::move(on_revoked)) {}

  // Sets the studio's entry, replacing any older key of the same studio (a different key: revoked).
  void put(const std::string& stream_key, const StudioKey& studio);
  void remove_studio(int64_t studio_id);
  std::optional<StudioKey> find(const std::string& stream_key) const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, StudioKey> by_key_;
  uint64_t next_generation_ = 1;
  const OnRevoked on_revoked_;
};

// Log-safe form of a key: its first 4 characters and an ellipsis.
std::string redact_key(const std::string& key);

}  // namespace sreda::hub
