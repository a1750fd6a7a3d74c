// Refusals by cause over the last minutes, for people (the desk's live monitor): rate limits, slow mode,
// bans, the rating cap, too many connections… Counted in buckets of `bucket_ms`; buckets older than the
// window are dropped, so memory is bounded by (window / bucket) × causes. Any thread (own mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace sreda::audience {

class RefusalTally {
 public:
  explicit RefusalTally(int64_t window_ms = 10 * 60'000, int64_t bucket_ms = 10'000)
      : window_ms_(window_ms), bucket_ms_(bucket_ms) {}
  void add(const std::string& cause, int64_t now_ms);
  // Cause → refusals within the window ending now (causes with none are absent).
  std::map<std::string, int64_t> counts(int64_t now_ms) const;
  int64_t window_ms() const { return window_ms_; }

 private:
  void expire(int64_t now_ms) const;
  int64_t window_ms_, bucket_ms_;
  mutable std::mutex mutex_;
  mutable std::deque<std::pair<int64_t, std::map<std::string, int64_t>>> buckets_;  // bucket start, counts
};

}  // namespace sreda::audience
