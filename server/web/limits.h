// The HTTP port's limits, as small values the live front and the API hold: connections per address and in
// total (ConnectionBudget), request rates per address (RateLimiter), and the one log line per burst of
// refusals (BurstLog). Keys are web::limit_key() of web::client_address() (client_address.h).
// Thread-safety: ConnectionBudget is thread-safe (a mutex at this seam: the live front acquires, the live
// front or the web thread releases); RateLimiter and BurstLog belong to one thread each (no lock). Times are
// passed in (steady ms), so the unit tests need no clock.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sreda::web {

class ConnectionBudget {
 public:
  enum class Verdict { ok, total, per_address };
  ConnectionBudget(int64_t max_total, int64_t max_per_address) : max_total_(max_total), max_per_address_(max_per_address) {}
  // Counts one connection for `key`, or says which cap refuses it. `per_address_cap` overrides the
  // default cap (a shared address's is larger); < 0: no per-address cap (a trusted proxy).
  Verdict acquire(const std::string& key, int64_t per_address_cap);
  Verdict acquire(const std::string& key) { return acquire(key, max_per_address_); }
  void release(const std::string& key);
  int64_t total() const;
  int64_t of(const std::string& key) const;
  int64_t max_per_address() const { return max_per_address_; }

 private:
  const int64_t max_total_;
  const int64_t max_per_address_;
  mutable std::mutex mutex_;
  int64_t total_ = 0;
  std::unordered_map<std::string, int64_t> per_key_;
};

// A token bucket per key: `rate` requests per second, bursts of `burst`.
class RateLimiter {
 public:
  RateLimiter(double rate_per_s, double burst) : rate_per_ms_(rate_per_s / 1000.0), burst_(burst) {}
  // 0 when the request may go now (a token is taken); otherwise the whole seconds to wait (≥ 1).
  // `scale` multiplies rate and burst (a shared address's are larger).
  int64_t take(const std::string& key, int64_t now_ms, double scale = 1.0);
  size_t keys() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    int64_t at_ms;
  };
  double rate_per_ms_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;  // bounded: full buckets are forgotten past 50,000 keys
};

// One log line per burst of refusals: the first refusal after `quiet_ms` without one is reported
// (returns true: the caller writes the line); the rest of the burst only counts.
class BurstLog {
 public:
  explicit BurstLog(int64_t quiet_ms = 10'000) : quiet_ms_(quiet_ms) {}
  bool first_of_burst(int64_t now_ms) {
    const bool first = last_ms_ < 0 || now_ms - last_ms_ >= quiet_ms_;
    last_ms_ = now_ms;
    return first;
  }

 private:
  int64_t quiet_ms_;
  int64_t last_ms_ = -1;
};

}  // namespace sreda::web
