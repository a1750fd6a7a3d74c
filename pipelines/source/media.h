// Encoded media as it leaves a source pipeline: the facts of a stream and its access units.
// Plain values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sreda::pipelines {

enum class TrackKind { video, audio };

struct MediaFacts {
  bool has_video = false;
  std::string video_codec;     // "h264"
  std::string video_profile;   // "high", "main", "baseline", … (from caps)
  std::string video_level;
  int width = 0;
  int height = 0;
  int fps_num = 0;             // 0 when the stream does not say
  int fps_den = 1;
  std::vector<uint8_t> video_codec_data;  // AVCDecoderConfigurationRecord (avcC)

  bool has_audio = false;
  std::string audio_codec;     // "aac"
  int audio_rate = 0;
  int audio_channels = 0;
  std::vector<uint8_t> audio_codec_data;  // AudioSpecificConfig
};

// One encoded access unit. Video: AVCC (4-byte length-prefixed NAL units), one picture. Audio: one raw AAC
// frame. Times in microseconds on the source's clock.
struct AccessUnit {
  TrackKind track = TrackKind::video;
  int64_t pts_us = 0;
  int64_t dts_us = 0;
  int64_t duration_us = 0;  // 0 when unknown
  bool keyframe = false;
  std::vector<uint8_t> data;
};

}  // namespace sreda::pipelines
