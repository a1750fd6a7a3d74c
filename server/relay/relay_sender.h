// One push relay of a live event: its own queue (RelayQueue, relays.queue_ms) and its own thread, which
// checks the destination against the allow-list, connects (RelayConnection), sends, and on any failure
// closes, waits (Backoff: relays.retry_min_s doubling to retry_max_s) and tries again, by itself, until the
// event ends or the relay is removed. A stuck or refusing target only fills its own queue: the media thread
// never waits for it.
//
// States (RelayStatus): waiting (no media yet, or an intermission before anything was sent) → sending →
// reconnecting (last_error says why) → … → stopped. While sending, a target that takes nothing for 2 s while
// media waits (TakeWatch) is "not keeping up": last_error says so, it is fed no more and its queue drops to
// its limit until it takes again, or its connection times out and it reconnects. One log line per state
// change, with the masked URL. Across the studio's intermission the connection stays open and the timestamps
// go on (the event's clock is continuous); a new session whose codecs differ reconnects cleanly.
//
// Threads: the media calls (session_start, unit, session_end) from the event's media thread; event_end,
// stop and status from any thread; join from whoever owns it (never the media thread). Every GStreamer
// state change and every connect happens on the relay's own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/core/log.h"
#include "server/core/metrics.h"
#include "server/media/access_unit.h"
#include "server/media/facts.h"
#include "server/relay/relay_queue.h"
#include "server/relay/relay_service.h"
#include "server/relay/relay_url.h"

namespace sreda::relay {

struct SenderOptions {
  int queue_ms = 4000;
  int retry_min_s = 1;
  int retry_max_s = 30;
  int connect_timeout_s = 10;
  int srt_latency_ms = 0;  // libsrt's default when the URL gives none (0: libsrt's own)
  std::shared_ptr<const Destinations> allowed;
};

class RelaySender {
 public:
  RelaySender(int64_t event_id, RelayTarget target, SenderOptions options, core::Metrics* metrics);
  ~RelaySender();  // stops and joins
  RelaySender(const RelaySender&) = delete;
  RelaySender& operator=(const RelaySender&) = delete;

  void start();
  // Asks the thread to end soon (closes the connection without waiting for the queue). Idempotent.
  void stop();
  // The event ended: what is queued goes out, the target gets the end of stream, then the thread ends.
  void event_end();
  void join();
  bool finished() const { return finished_; }

  void session_start(std::shared_ptr<const media::MediaFacts> facts);
  void unit(const media::AccessUnit& unit);
  void session_end();

  const RelayTarget& target() const { return target_; }
  RelayStatus status() const;

 private:
  void run();
  // One connection, from the check of the destination to its end; its error, or ok when asked to end.
  core::Result<void> connect_and_send();
  void set_state(const std::string& state, const std::string& error = {});
  // Whether the target is keeping up (TakeWatch): when not, says why in last_error (the state stays
  // "sending"; one log line when it starts, one when it ends) and the caller holds the media back.
  bool note_stall(const TakeWatch& watch, bool& said);
  bool wait_for(int64_t ms);  // false when asked to stop first
  bool ending() const;        // under mutex_

  const int64_t event_id_;
  const RelayTarget target_;
  const SenderOptions options_;
  core::Metrics* metrics_;
  core::Logger log_;
  std::string masked_url_;
  std::map<std::string, std::string> labels_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  RelayQueue queue_;
  std::shared_ptr<const media::MediaFacts> facts_;  // the current session's
  bool stop_ = false;
  bool event_ended_ = false;
  bool sent_anything_ = false;
  RelayStatus status_;
  int64_t connected_since_ms_ = 0;  // steady clock, while sending
  uint64_t dropped_reported_ = 0;

  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace sreda::relay
