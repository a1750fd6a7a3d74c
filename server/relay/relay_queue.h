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
//
// TakeWatch: whether a target is keeping up. A target that accepts and then stops reading (a platform that
// hangs: its TCP window fills, our socket's buffer fills) takes no more bytes while media waits for it; the
// connection itself may take a long while to time out. Once it has taken nothing for `stall_ms` while fed,
// it is not keeping up: the relay stops feeding it (its own queue drops to its limit and counts) and says so.
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

class TakeWatch {
 public:
  explicit TakeWatch(int64_t stall_ms) : stall_ms_(stall_ms) {}
  // Units went into the connection at `now_ms` (steady clock).
  void fed(int64_t now_ms) {
    if (waiting_since_ms_ == 0) waiting_since_ms_ = now_ms;
  }
  // The bytes the target has taken so far (RelayConnection::bytes_sent).
  void taken(uint64_t bytes);
  // How long the target has taken nothing while media waited for it (ms); 0 while it keeps up, and until it
  // has taken something after it was first fed (a slow answer to the publish is not a stall).
  int64_t stalled_ms(int64_t now_ms) const {
    return armed_ && waiting_since_ms_ ? now_ms - waiting_since_ms_ : 0;
  }
  bool stalled(int64_t now_ms) const { return stalled_ms(now_ms) >= stall_ms_; }

 private:
  int64_t stall_ms_;
  uint64_t bytes_ = 0;
  int64_t waiting_since_ms_ = 0;  // the first feed since the target last took a byte; 0: nothing waits
  bool armed_ = false;            // it took bytes after a feed: it is past its publish
};

}  // namespace sreda::relay
