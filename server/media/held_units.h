// Access units held back until a source is prepared (its tracks' formats known, or enough media came with
// one), so that every consumer starts with the codec configuration: what the source pipeline (RTMP, SRT, a
// pulled source) and WHIP (server/ingest/whip) both do. Bounded in count (beyond max_units the oldest goes,
// counted: a stream that only prepares late keeps its newest seconds) and in bytes (beyond max_bytes everything
// held goes and the source must fail: a publisher holding the server's memory, ingest.max_held_media_bytes).
//
// Threads: none of its own; its owner's mutex guards it (deliver() calls the listener under that mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "server/media/source_listener.h"

namespace sreda::media {

class HeldUnits {
 public:
  HeldUnits(size_t max_units, size_t max_bytes) : max_units_(max_units), max_bytes_(max_bytes) {}

  // Holds `unit`. False when it would take what is held beyond max_bytes: then everything held is let go
  // and the owner fails its source with over_bytes_reason().
  bool hold(AccessUnit unit);
  // The source is prepared: the listener hears on_prepared(facts), then every held unit of a track the facts
  // have (facts.has_video, has_audio), in order; nothing stays held.
  void deliver(SourceListener& listener, const MediaFacts& facts);

  // How much media is held: the first held unit's DTS to the last one's (0 when none).
  int64_t span_us() const { return held_.empty() ? 0 : held_.back().dts_us - first_dts_us_; }
  uint64_t dropped() const { return dropped_; }  // the oldest units let go beyond max_units
  std::string over_bytes_reason() const;

 private:
  const size_t max_units_, max_bytes_;
  std::deque<AccessUnit> held_;
  size_t bytes_ = 0;
  int64_t first_dts_us_ = -1;
  uint64_t dropped_ = 0;
};

}  // namespace sreda::media
