// MediaQueue: takes one publisher session's media off the thread that read it. The ingest thread parses a
// studio's stream and queues its units here; a thread of the session's own hands them to the event's
// consumers (packagers, the ladder's input, the recorder). So a slow consumer of one event never delays
// another studio's socket reads.
//
// Bounded: a unit may wait at most `max_wait_ms` (wall time since it was queued: a codec configuration's
// held media, released at once, is not "behind") and at most `max_bytes` wait. Over either bound the queue
// drops: video up to its next keyframe (a picture without its
// references would only show as garbage), audio unit by unit; a codec configuration (session start) is
// never dropped. Each burst of drops is one log line when it starts and one when it ends, and every dropped
// unit is counted (dropped(), which the hub adds to sreda_ingest_dropped_total).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/hub/media_consumer.h"
#include "server/media/access_unit.h"
#include "server/media/facts.h"

namespace sreda::hub {

class MediaQueue {
 public:
  struct Limits {
    int64_t max_wait_ms = 3'000;  // the oldest unit's wait: beyond it viewers would rather skip than lag
    size_t max_bytes = 16 << 20;  // 3 s of a 40 Mbit/s stream
    int64_t drain_ms = 5'000;     // close(): how long queued media may still take to reach the consumers
    std::function<int64_t()> now_ms;  // a monotonic clock in ms (tests); empty: core::steady_ms
  };

  // `name` names the thread and the log lines (e.g. "media-42").
  MediaQueue(std::string name, std::shared_ptr<MediaConsumer> consumer, Limits limits);
  MediaQueue(std::string name, std::shared_ptr<MediaConsumer> consumer)
      : MediaQueue(std::move(name), std::move(consumer), Limits{}) {}
  ~MediaQueue();
  MediaQueue(const MediaQueue&) = delete;
  MediaQueue& operator=(const MediaQueue&) = delete;

  // -- the producer's thread (one producer) --
  void session_start(const media::MediaFacts& facts, bool discontinuity, int64_t first_sample_wall_ms,
                     int64_t first_sample_media_us);
  // False when the unit was dropped (the queue is full, or video waits for its next keyframe, or closed).
  bool unit(media::AccessUnit unit);

  // -- any thread but the queue's own --
  // Delivers what waits (for at most Limits::drain_ms; what is left then is dropped and counted), stops the
  // thread and returns once no call into the consumer is under way. Later units are dropped. Idempotent.
  void close();

  uint64_t dropped() const;
  uint64_t delivered() const;

 private:
  struct Item {
    bool start = false;
    media::MediaFacts facts;
    bool discontinuity = false;
    int64_t wall_ms = 0, media_us = 0;
    int64_t queued_ms = 0;  // when it was queued (now_ms)
    media::AccessUnit unit;
  };
  void run();
  bool over_limits_locked(const media::AccessUnit& incoming, int64_t now) const;
  int64_t now_ms() const;
  void drop_locked(const std::string& why);

  const std::string name_;
  const std::shared_ptr<MediaConsumer> consumer_;
  const Limits limits_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the queue's thread: items, or closing
  std::condition_variable drained_;  // close(): nothing waits any more
  std::deque<Item> items_;
  size_t bytes_ = 0;
  bool closing_ = false;
  bool video_waits_keyframe_ = false;
  uint64_t dropped_ = 0, delivered_ = 0;
  uint64_t burst_dropped_ = 0;  // drops in the burst under way (0: none)
  std::mutex join_mutex_;  // close() from two threads joins once
  std::thread thread_;
};

}  // namespace sreda::hub
