// The overload rule: whether this server's encodes keep up with real time, for the admission of new real-time
// (WHEP) viewers. Late frames come from the ladder's rungs (LiveOutputEvents::rung_late: a rung's leaky queue
// dropped a frame) and from the WHEP encodes (WhepHooks::encode_late: only after an encode's first output, only
// in a second where its queue dropped at least a quarter as many frames as the encoder took — see WhepFeed —
// and only while its event has viewers). One source — a rung of one event, or one event's WHEP encode — with
// `late_frames` late frames within kWindowUs makes the server "behind" (the ladder's own measure before it
// drops a rung: Ladder::kDropFramesToDegrade frames within kDropCooldownUs); kCalmUs without any late frame
// and it has caught up. While behind, a new WHEP viewer gets 503 with Retry-After and the reason (its page
// plays LL-HLS); viewers already watching stay, and the ladder's own rung dropping goes on as before (the
// later stage). Counted in /metrics: sreda_overload (0/1), sreda_overload_late_frames_total{cause}; one log
// line when it starts and one when it ends. late_frames 0 (webrtc.overload_late_frames): never behind.
//
// Threads: report() from streaming threads, refusal() from the rtc thread, tick() from the control thread (the
// live tick, so the end is logged even when nobody asks); one mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "server/core/log.h"
#include "server/core/metrics.h"
#include "server/realtime/whep_service.h"

namespace sreda::app {

class Overload {
 public:
  enum class Cause { ladder, whep_encode };
  static constexpr int64_t kWindowUs = 5'000'000;  // late frames counted within this (monotonic time)
  static constexpr int64_t kCalmUs = 10'000'000;   // no late frame this long: caught up

  Overload(int late_frames, core::Metrics& metrics);

  // `frames` late frames of `source` (its name in words, e.g. "event 7 rendition 720p").
  void report(Cause cause, const std::string& source, int64_t frames);
  void report(Cause cause, const std::string& source, int64_t frames, int64_t now_us);
  // Why a new real-time viewer must wait now (nullopt: it may come).
  std::optional<realtime::Overloaded> refusal();
  std::optional<realtime::Overloaded> refusal(int64_t now_us);
  // Ends the overload after kCalmUs without a late frame.
  void tick();
  void tick(int64_t now_us);
  bool behind() const;

 private:
  void catch_up(int64_t now_us);  // under mutex_

  const size_t late_frames_;
  core::Metrics& metrics_;
  core::Logger log_{"overload"};
  mutable std::mutex mutex_;
  std::map<std::string, std::deque<int64_t>> times_;  // each source's late frames within kWindowUs
  bool behind_ = false;
  Cause cause_ = Cause::ladder;
  std::string why_;
  int64_t last_late_us_ = 0;
};

const char* to_string(Overload::Cause cause);

}  // namespace sreda::app
