// The one narrow seam through which later stages (packager, ladder, recorder) take a live event's media.
// Owned by the consumer side (STYLE.md 11).
#pragma once

#include <cstdint>
#include <memory>

#include "server/media/access_unit.h"
#include "server/media/facts.h"

namespace sreda::hub {

// on_session_start and on_access_unit come from one publisher session at a time, in order: from the
// session's MediaQueue thread (RTMP) or the SRT source pipeline's GStreamer streaming threads; never from an
// ingest thread. on_session_end and on_event_end come from the control thread after the last unit. Times are the event's media clock in microseconds:
// it starts near 0 when the event first goes live and keeps increasing across reconnects.
class MediaConsumer {
 public:
  virtual ~MediaConsumer() = default;
  // A publisher session starts: codec facts. `discontinuity` is true after a reconnect. `first_sample_wall_ms`
  // is the wall clock when the session's first media arrived at ingest (for PROGRAM-DATE-TIME), and
  // `first_sample_media_us` that media's time on the event's clock.
  virtual void on_session_start(const media::MediaFacts& facts, bool discontinuity,
                                int64_t first_sample_wall_ms, int64_t first_sample_media_us) = 0;
  virtual void on_access_unit(const media::AccessUnit& unit) = 0;
  // The publisher dropped: the event waits for it (intermission).
  virtual void on_session_end() = 0;
  // The event ended: no more media.
  virtual void on_event_end() = 0;
  // The media clock an earlier run of the event reached (it was live when the server stopped or crashed;
  // in microseconds): the event's clock goes on from there. 0 for a new event. Control thread.
  virtual int64_t resumed_media_end_us() const { return 0; }
};

// Makes the consumers of one event when it first goes live. Control thread. The studio picks its ladder.
class ConsumerFactory {
 public:
  virtual ~ConsumerFactory() = default;
  virtual std::shared_ptr<MediaConsumer> create(int64_t event_id, int64_t studio_id) = 0;
};

}  // namespace sreda::hub
