// Comment rate limit: at most `max` comments within `window_ms`; the next one mutes for `mute_ms`. One
// state per connection and one per viewer id; a comment must pass both. The hub keeps a second limiter with
// a larger `max` per address group (ws.comments_per_address_window). Pure; one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

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
  // One state alone: 0 when one more comment fits (nothing counted), else the milliseconds to wait (over the
  // limit now: the mute starts).
  int64_t wait(LimitState& s, int64_t now_ms) const;
  void count(LimitState& s, int64_t now_ms) const { s.times.push_back(now_ms); }

 private:
  int max_;
  int64_t window_ms_;
  int64_t mute_ms_;
};

// Slow mode: 0 when one more comment fits, else the milliseconds to wait. One comment per `slow_ms` for a viewer
// (`viewer_last_ms`: its last comment, if any) and at most `per_group` per `slow_ms` for its address group
// (`group_recent`: the group's recent comment times, oldest first; expired ones are dropped here).
int64_t slow_mode_wait(std::optional<int64_t> viewer_last_ms, std::deque<int64_t>& group_recent, int64_t slow_ms,
                       int per_group, int64_t now_ms);

}  // namespace sreda::audience
