// The narrow seam between a rendition's source pipeline and its packager (STYLE.md 11).
//
// Threads: every method may be called from any GStreamer streaming thread (video and audio appsinks may
// call from two different threads); implementations serialise internally with one short lock.
//
// Timestamps: microseconds (int64), on ONE clock shared by all tracks of the rendition — GStreamer
// running time / 1000 is the natural choice. The packager maps them to its own output timeline, so they
// need not start at zero and may restart after begin_run() (a publisher reconnect).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "server/core/result.h"
#include "server/media/access_unit.h"

namespace sreda::package {

using Bytes = std::vector<uint8_t>;
using BytesPtr = std::shared_ptr<const Bytes>;
// A segment's bytes as its parts, in order: the packager never concatenates a segment on the ingest
// thread (a 2 s segment is copied only when someone asks for it whole, see CmafPackager::segment()).
using SegmentParts = std::vector<BytesPtr>;
inline size_t total_size(const SegmentParts& parts) {
  size_t n = 0;
  for (const BytesPtr& p : parts) n += p ? p->size() : 0;
  return n;
}
inline Bytes concat(const SegmentParts& parts) {
  Bytes all;
  all.reserve(total_size(parts));
  for (const BytesPtr& p : parts) {
    if (p) all.insert(all.end(), p->begin(), p->end());
  }
  return all;
}

// From the caps of `h264parse ! video/x-h264,stream-format=avc,alignment=au`.
struct VideoConfig {
  Bytes avcc;  // caps "codec_data": an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1)
  int width = 0;
  int height = 0;
  int fps_num = 0;  // caps "framerate"; 0/1 when variable or unknown
  int fps_den = 1;
};

// From the caps of `aacparse` (stream-format=raw).
struct AudioConfig {
  Bytes asc;  // caps "codec_data": the AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1)
  int rate = 0;
  int channels = 0;
};

class PackagerInput {
 public:
  virtual ~PackagerInput() = default;
  // Codec configuration from caps; call before the first access unit of that track. A later call with
  // a different configuration (e.g. after a reconnect) starts a new init segment at the next segment.
  virtual core::Result<void> configure_video(const VideoConfig& config) = 0;
  virtual core::Result<void> configure_audio(const AudioConfig& config) = 0;
  // Starts a run of media: `first_sample_wall_ms` is the wall clock (ms since the epoch) when the first
  // sample of this run arrived at ingest, for EXT-X-PROGRAM-DATE-TIME. The first call starts the
  // stream; every later call is a discontinuity (publisher reconnected; timestamps may restart): the
  // current segment is closed, the output timeline keeps increasing, and the next segment carries
  // EXT-X-DISCONTINUITY. Without any call, the wall clock at the first push is used.
  // `first_sample_media_us`, when known, is that sample's input time: renditions fed from one clock then
  // give the same PROGRAM-DATE-TIME to the same presentation time (players align levels by it).
  virtual void begin_run(int64_t first_sample_wall_ms, std::optional<int64_t> first_sample_media_us = {}) = 0;
  // One access unit (server/media/access_unit.h). Video: AVCC, length-prefixed NAL units (the length size
  // given by the avcC); audio: one raw AAC frame (no ADTS header). The data is copied; duration_us is not
  // used (a sample lasts until the next one).
  virtual void push(const media::AccessUnit& unit) = 0;
  // The event ended: flush everything, close the last segment, ENDLIST. Later pushes are ignored.
  virtual void end_of_stream() = 0;
};

}  // namespace sreda::package
