// Comment rate limit: at most `max` comments within `window_ms`; the next one mutes for `mute_ms`. One
// state per connection and one per viewer id; a comment must pass both. Pure; one thread.
#pragma once

#include <cstdint>
#include <deque>

namespace sreda::audience {

struct LimitState {
  std::deque<int64_t> times;  // accepted comments within the window
  int64_t muted_until_ms = 0;
};

class CommentLimiter {
 public:
  CommentLimiter(int max, int64_t window_ms, int64_t mute_ms) : max_(max), window_ms_(window_ms), mute_ms_(mute_ms) {}
  // 0: allowed and counted in both states. Otherwise the milliseconds to wait; nothing is counted.
  int64_t admit(LimitState& connection, LimitState& viewer, int64_t now_ms) const;

 private:
  int64_t wait(LimitState& s, int64_t now_ms) const;
  int max_;
  int64_t window_ms_;
  int64_t mute_ms_;
};

}  // namespace sreda::audience
