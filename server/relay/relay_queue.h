// One push target's own queue of media (STYLE.md 8) and its reconnect pace. Pure; the owner locks.
//
// RelayQueue: the units a target has not taken yet, each with its publisher session's facts. Bounded in media
// time (relays.queue_ms): when the target falls further behind, the oldest units go and, for a stream with
// video, everything up to the next video keyframe goes with them (the target resumes on a picture it can
// decode); with no keyframe left the queue empties and waits for the next one. Every unit dropped is
// counted (dropped_units: sreda_relay_dropped_total). A fresh queue, or one that skipped, starts on a video
// keyframe.
//
// Backoff: relays.retry_min_s doubling to retry_max_s after each failed try; reset() after a connection that
// carried media.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "server/media/access_unit.h"
#include "server/media/facts.h"

namespace sreda::relay {

struct QueuedUnit {
  std::shared_ptr<const media::MediaFacts> facts;  // the session the unit belongs to
  media::AccessUnit unit;
};

class RelayQueue {
 public:
  explicit RelayQueue(int64_t limit_us) : limit_us_(limit_us) {}

  // Adds a unit of the session `facts` (whose has_video decides the keyframe rule). Drops to the limit.
  void push(std::shared_ptr<const media::MediaFacts> facts, media::AccessUnit unit);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const QueuedUnit& front() const { return items_.front(); }
  QueuedUnit pop();
  // Drops everything and waits for a keyframe again (a new connection starts on a picture). Counted.
  void restart();
  // Drops units until the front is a video keyframe (or the stream has no video). Counted.
  void skip_to_keyframe();
  // The media time the queue spans (newest decode time − oldest), microseconds.
  int64_t span_us() const;
  uint64_t dropped() const { return dropped_; }
  size_t bytes() const { return bytes_; }

 private:
  void drop_front();
  int64_t limit_us_;
  std::deque<QueuedUnit> items_;
  bool need_keyframe_ = true;
  uint64_t dropped_ = 0;
  size_t bytes_ = 0;
};

class Backoff {
 public:
  Backoff(int min_s, int max_s)
      : min_ms_(int64_t{min_s} * 1000), max_ms_(int64_t{max_s} * 1000), next_ms_(min_ms_) {}
  // The wait before the next try, and doubles the one after (up to the maximum).
  int64_t next_ms();
  void reset() { next_ms_ = min_ms_; }

 private:
  int64_t min_ms_, max_ms_, next_ms_;
};

}  // namespace sreda::relay
