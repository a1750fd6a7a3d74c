#include "server/app/overload.h"

#include <algorithm>
#include <chrono>

namespace sreda::app {

namespace {

int64_t monotonic_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* to_string(Overload::Cause cause) { return cause == Overload::Cause::ladder ? "ladder" : "whep_encode"; }

Overload::Overload(int late_frames, core::Metrics& metrics)
    : late_frames_(static_cast<size_t>(std::max(0, late_frames))), metrics_(metrics) {
  metrics_.gauge("sreda_overload", "1 while the server is behind real time (new real-time viewers get 503), else 0",
                 [this] { return behind() ? 1.0 : 0.0; });
  metrics_.describe("sreda_overload_late_frames_total", "counter",
                    "frames dropped because an encode was behind real time (cause: ladder, whep_encode)");
}

void Overload::report(Cause cause, const std::string& source, int64_t frames) {
  report(cause, source, frames, monotonic_us());
}

void Overload::report(Cause cause, const std::string& source, int64_t frames, int64_t now_us) {
  if (frames <= 0) return;
  metrics_.add("sreda_overload_late_frames_total", {{"cause", to_string(cause)}}, static_cast<double>(frames));
  if (late_frames_ == 0) return;
  std::string started;
  {
    std::lock_guard lock(mutex_);
    last_late_us_ = now_us;
    for (auto it = times_.begin(); it != times_.end();) {  // forget the sources that went quiet
      while (!it->second.empty() && now_us - it->second.front() > kWindowUs) it->second.pop_front();
      it = it->second.empty() && it->first != source ? times_.erase(it) : std::next(it);
    }
    auto& times = times_[source];
    for (int64_t i = 0; i < frames && times.size() < late_frames_; ++i) times.push_back(now_us);
    if (behind_ || times.size() < late_frames_) return;
    behind_ = true;
    cause_ = cause;
    why_ = source + " fell behind real time (" + std::to_string(late_frames_) + " late frames within " +
           std::to_string(kWindowUs / 1'000'000) + " s)";
    started = why_;
  }
  log_.warn("overload: " + started + "; new real-time viewers are refused until it catches up");
}

std::optional<realtime::Overloaded> Overload::refusal() { return refusal(monotonic_us()); }

std::optional<realtime::Overloaded> Overload::refusal(int64_t now_us) {
  std::lock_guard lock(mutex_);
  catch_up(now_us);
  if (!behind_) return std::nullopt;
  return realtime::Overloaded{to_string(cause_), "the server is overloaded: " + why_ +
                                                     "; real time is not available now (the page plays LL-HLS)"};
}

void Overload::tick() { tick(monotonic_us()); }

void Overload::tick(int64_t now_us) {
  std::lock_guard lock(mutex_);
  catch_up(now_us);
}

bool Overload::behind() const {
  std::lock_guard lock(mutex_);
  return behind_;
}

void Overload::catch_up(int64_t now_us) {
  if (!behind_ || now_us - last_late_us_ < kCalmUs) return;
  behind_ = false;
  times_.clear();
  log_.info("overload ended: no late frame for " + std::to_string(kCalmUs / 1'000'000) + " s (was: " + why_ +
            "); new real-time viewers are admitted again");
}

}  // namespace sreda::app
