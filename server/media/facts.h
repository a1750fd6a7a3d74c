// The facts of a stream: what the hub, the packagers and the ladder need to know about a publisher's
// tracks (codec, profile and level, picture size and rate, sample rate and channels, the codec
// configuration bytes), and whether a track plays in browsers as it is. Plain values; any thread.
#pragma once

#include <string>
#include <vector>

namespace sreda::media {

struct MediaFacts {
  bool has_video = false;
  std::string video_codec;     // "h264", "hevc"
  std::string video_profile;   // "high", "main", "baseline", … (GStreamer's names: h264_profile_name)
  std::string video_level;
  int width = 0;
  int height = 0;
  int fps_num = 0;             // 0 when the stream does not say
  int fps_den = 1;
  std::vector<uint8_t> video_codec_data;  // AVCDecoderConfigurationRecord (avcC) / HEVC's (hvcC)
  std::string video_caps;      // the encoded track's GStreamer caps (codec_data included), for a decoder
  int video_kbps = 0;          // measured over the publish's first keyframe interval (LiveOutput); 0 unknown

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

}  // namespace sreda::media
