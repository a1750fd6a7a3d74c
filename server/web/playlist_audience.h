// The origin's estimate of an event's players (curators' reports): distinct client addresses that fetched the
// event's live playlists (master or media) within the current window. Addresses are held as 64-bit hashes in
// memory for one window only, never stored or logged. Behind a caching edge the edge counts once, and a school
// behind one address counts once: an estimate, labelled so wherever it is shown.
// Threads: note() on the front's thread (LiveRoutes::handle), take() on any other (the audience hub's sampler);
// one short lock each.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace sreda::web {

class PlaylistAudience {
 public:
  // Per event at most this many addresses are told apart in one window (more count as this many).
  static constexpr size_t kMaxPerEvent = 200'000;

  void note(int64_t event_id, std::string_view address) {
    const uint64_t h = std::hash<std::string_view>{}(address);
    std::lock_guard lock(mutex_);
    auto& seen = window_[event_id];
    if (seen.size() < kMaxPerEvent) seen.insert(h);
  }
  // Event id → distinct addresses since the last take; starts a new window.
  std::unordered_map<int64_t, int64_t> take() {
    std::unordered_map<int64_t, std::unordered_set<uint64_t>> window;
    {
      std::lock_guard lock(mutex_);
      window.swap(window_);
    }
    std::unordered_map<int64_t, int64_t> out;
    for (const auto& [id, seen] : window) out[id] = static_cast<int64_t>(seen.size());
    return out;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<int64_t, std::unordered_set<uint64_t>> window_;
};

}  // namespace sreda::web
