#include "server/web/limits.h"

#include <algorithm>
#include <cmath>

namespace sreda::web {

ConnectionBudget::Verdict ConnectionBudget::acquire(const std::string& key, int64_t per_address_cap) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return Verdict::total;
  auto& n = per_key_[key];
  if (per_address_cap >= 0 && n >= per_address_cap) {
    if (n == 0) per_key_.erase(key);
    return Verdict::per_address;
  }
  ++n;
  ++total_;
  return Verdict::ok;
}

void ConnectionBudget::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = per_key_.find(key);
  if (it == per_key_.end()) return;
  if (--it->second <= 0) per_key_.erase(it);
  --total_;
}

int64_t ConnectionBudget::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

int64_t ConnectionBudget::of(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = per_key_.find(key);
  return it == per_key_.end() ? 0 : it->second;
}

int64_t RateLimiter::take(const std::string& key, int64_t now_ms, double scale) {
  const double burst = burst_ * scale;
  const double rate = rate_per_ms_ * scale;
  if (buckets_.size() > 50'000) {
    // Overflow policy: forget the buckets that have refilled (they would allow a full burst anyway).
    for (auto it = buckets_.begin(); it != buckets_.end();)
      it = it->second.tokens + (now_ms - it->second.at_ms) * rate >= burst ? buckets_.erase(it) : std::next(it);
    if (buckets_.size() > 50'000) buckets_.clear();
  }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst, now_ms});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst, b.tokens + static_cast<double>(std::max<int64_t>(0, now_ms - b.at_ms)) * rate);
    b.at_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  if (rate <= 0) return 60;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - b.tokens) / rate / 1000.0)));
}

}  // namespace sreda::web
