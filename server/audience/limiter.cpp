#include "server/audience/limiter.h"

#include <algorithm>

namespace sreda::audience {

int64_t CommentLimiter::wait(LimitState& s, int64_t now_ms) const {
  if (s.muted_until_ms > now_ms) return s.muted_until_ms - now_ms;
  while (!s.times.empty() && s.times.front() <= now_ms - window_ms_) s.times.pop_front();
  if (static_cast<int>(s.times.size()) < max_) return 0;
  // Over the limit: a short mute (or, without one, until the oldest comment leaves the window).
  if (mute_ms_ > 0) {
    s.muted_until_ms = now_ms + mute_ms_;
    s.times.clear();
    return mute_ms_;
  }
  return std::max<int64_t>(1, s.times.front() + window_ms_ - now_ms);
}

int64_t CommentLimiter::admit(LimitState& connection, LimitState& viewer, int64_t now_ms) const {
  const int64_t a = wait(connection, now_ms);
  const int64_t b = &viewer == &connection ? a : wait(viewer, now_ms);
  if (a || b) return std::max(a, b);
  connection.times.push_back(now_ms);
  if (&viewer != &connection) viewer.times.push_back(now_ms);
  return 0;
}

int64_t slow_mode_wait(std::optional<int64_t> viewer_last_ms, std::deque<int64_t>& group_recent, int64_t slow_ms,
                       int per_group, int64_t now_ms) {
  int64_t wait = viewer_last_ms && now_ms - *viewer_last_ms < slow_ms ? slow_ms - (now_ms - *viewer_last_ms) : 0;
  while (!group_recent.empty() && now_ms - group_recent.front() >= slow_ms) group_recent.pop_front();
  if (static_cast<int>(group_recent.size()) >= per_group) wait = std::max(wait, slow_ms - (now_ms - group_recent.front()));
  return wait;
}

}  // namespace sreda::audience
