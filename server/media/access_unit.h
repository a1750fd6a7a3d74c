// One encoded access unit, as every layer passes it: a source (RTMP's FLV parser, the GStreamer source
// pipeline, the ladder's encoders) makes it, the hub queues it, the packagers and the ladder take it.
// Plain values; any thread.
#pragma once

#include <cstdint>
#include <vector>

namespace sreda::media {

enum class TrackKind { video, audio };

// Video: 4-byte length-prefixed NAL units (AVC "avc1" / HEVC "hvc1"), one picture. Audio: one frame (raw AAC
// without an ADTS header, an Opus packet, an MPEG audio frame). Times in microseconds on one clock shared by
// the tracks of a stream (a source's, or GStreamer running time); they need not start at zero.
struct AccessUnit {
  TrackKind track = TrackKind::video;
  int64_t pts_us = 0;
  int64_t dts_us = 0;  // == pts_us for audio and for video without B-frames
  bool keyframe = false;
  std::vector<uint8_t> data;
  int64_t duration_us = 0;  // 0 when unknown
};

}  // namespace sreda::media
