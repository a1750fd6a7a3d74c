#include "server/auth/login_limiter.h"

namespace sreda::auth {

void LoginLimiter::prune(std::deque<int64_t>& q, int64_t now_ms) const {
  while (!q.empty() && q.front() <= now_ms - window_ms_) q.pop_front();
}

int64_t LoginLimiter::retry_after_s(const std::string& address, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(address);
  if (it == failures_.end()) return 0;
  prune(it->second, now_ms);
  if (it->second.empty()) {
    failures_.erase(it);
    return 0;
  }
  if (static_cast<int>(it->second.size()) < max_failures_) return 0;
  return (it->second.front() + window_ms_ - now_ms + 999) / 1000;
}

void LoginLimiter::record_failure(const std::string& address, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (failures_.size() > 100000) failures_.clear();  // overflow policy: forget everyone rather than grow
  auto& q = failures_[address];
  prune(q, now_ms);
  q.push_back(now_ms);
  while (static_cast<int>(q.size()) > max_failures_) q.pop_front();
}

}  // namespace sreda::auth
