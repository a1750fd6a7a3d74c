// Encoded media as it leaves a source: the facts of a stream, its access units, and the listener that
// takes them. Plain values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sreda::pipelines {

enum class TrackKind { video, audio };

struct MediaFacts {
  bool has_video = false;
  std::string video_codec;     // "h264", "hevc"
  std::string video_profile;   // "high", "main", "baseline", … (from caps)
  std::string video_level;
  int width = 0;
  int height = 0;
  int fps_num = 0;             // 0 when the stream does not say
  int fps_den = 1;
  std::vector<uint8_t> video_codec_data;  // AVCDecoderConfigurationRecord (avcC) / HEVC's (hvcC)
  std::string video_caps;      // the encoded track's GStreamer caps (codec_data included), for a decoder

  bool has_audio = false;
  std::string audio_codec;     // "aac", "opus", "mp3", "mp2"
  int audio_rate = 0;
  int audio_channels = 0;
  std::vector<uint8_t> audio_codec_data;  // AudioSpecificConfig (AAC)
  std::string audio_caps;
};

// Whether a track goes to players as published (HLS/CMAF in every browser: H.264 in 8-bit 4:2:0 and AAC), or
// must be transcoded by the ladder first. A missing track needs nothing. H.264's High 10, High 4:2:2 and
// High 4:4:4 profiles (OBS's Color Format P010/I010 or I444) play in no browser: they are transcoded too.
inline bool h264_profile_plays_in_browsers(const std::string& profile) {
  return profile.find("10") == std::string::npos && profile.find("4:2:2") == std::string::npos &&
         profile.find("4:4:4") == std::string::npos;
}
inline bool video_plays_as_is(const MediaFacts& f) {
  return !f.has_video || (f.video_codec == "h264" && h264_profile_plays_in_browsers(f.video_profile));
}
inline bool audio_plays_as_is(const MediaFacts& f) { return !f.has_audio || f.audio_codec == "aac"; }

// One encoded access unit. Video: 4-byte length-prefixed NAL units (AVC / HEVC "hvc1"), one picture.
// Audio: one frame (raw AAC, an Opus packet, an MPEG audio frame). Times in microseconds on the source's clock.
struct AccessUnit {
  TrackKind track = TrackKind::video;
  int64_t pts_us = 0;
  int64_t dts_us = 0;
  int64_t duration_us = 0;  // 0 when unknown
  bool keyframe = false;
  std::vector<uint8_t> data;
};

// Where a source (the GStreamer source pipeline, or the direct FLV path of RTMP) hands its media.
// on_prepared comes before the first unit; it comes again when the codec configuration changes mid-stream
// (a new session start for consumers).
class SourceListener {
 public:
  virtual ~SourceListener() = default;
  virtual void on_prepared(const MediaFacts& facts) = 0;
  virtual void on_access_unit(const AccessUnit& unit) = 0;
  // A media error or an unsupported codec: the source is failed; the owner stops it.
  virtual void on_failed(const std::string& reason) = 0;
  virtual void on_eos() = 0;
};

}  // namespace sreda::pipelines
