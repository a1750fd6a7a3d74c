// Where a source hands its media: RTMP's FLV parser (ingest) and the GStreamer source pipeline of SRT
// (pipelines) call it; the hub's publisher input implements it.
#pragma once

#include <string>

#include "server/media/access_unit.h"
#include "server/media/facts.h"

namespace sreda::media {

// on_prepared comes before the first unit; it comes again when the codec configuration changes mid-stream
// (a new session start for consumers). Threads: the source's (see each source).
class SourceListener {
 public:
  virtual ~SourceListener() = default;
  virtual void on_prepared(const MediaFacts& facts) = 0;
  virtual void on_access_unit(AccessUnit unit) = 0;  // by value: the source moves it in (no copy)
  // A media error or an unsupported codec: the source is failed; the owner stops it.
  virtual void on_failed(const std::string& reason) = 0;
  virtual void on_eos() = 0;
};

}  // namespace sreda::media
