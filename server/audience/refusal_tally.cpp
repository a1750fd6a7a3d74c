#include "server/audience/refusal_tally.h"

namespace sreda::audience {

void RefusalTally::expire(int64_t now_ms) const {
  while (!buckets_.empty() && buckets_.front().first + bucket_ms_ <= now_ms - window_ms_) buckets_.pop_front();
}

void RefusalTally::add(const std::string& cause, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const int64_t start = now_ms - now_ms % bucket_ms_;
  if (buckets_.empty() || buckets_.back().first < start) buckets_.emplace_back(start, std::map<std::string, int64_t>{});
  buckets_.back().second[cause]++;
  expire(now_ms);
}

std::map<std::string, int64_t> RefusalTally::counts(int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  expire(now_ms);
  std::map<std::string, int64_t> out;
  for (const auto& [start, causes] : buckets_)
    for (const auto& [cause, n] : causes) out[cause] += n;
  return out;
}

}  // namespace sreda::audience
