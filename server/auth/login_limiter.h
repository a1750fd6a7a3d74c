// Failed-login counting per client address, so a password cannot be guessed at speed.
// Thread-safe (a mutex at this seam): the login handler runs on the store thread.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sreda::auth {

class LoginLimiter {
 public:
  LoginLimiter(int max_failures, int window_s) : max_failures_(max_failures), window_ms_(window_s * 1000LL) {}

  // 0 when a login may be tried now; otherwise the seconds to wait.
  int64_t retry_after_s(const std::string& address, int64_t now_ms);
  // A success does not clear the address's failures: one known account must not reset the count for
  // guessing another's password (the failures age out of the window).
  void record_failure(const std::string& address, int64_t now_ms);

 private:
  void prune(std::deque<int64_t>& q, int64_t now_ms) const;

  int max_failures_;
  int64_t window_ms_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<int64_t>> failures_;  // bounded: max_failures_ entries each
};

}  // namespace sreda::auth
