#include "server/package/codec_strings.h"

#include <cstdio>

namespace sreda::package {

core::Result<AvcInfo> parse_avcc(std::span<const uint8_t> avcc) {
  if (avcc.size() < 7 || avcc[0] != 1) {
    return core::Error{"bad_avcc", "codec_data is not an AVCDecoderConfigurationRecord", "avcc"};
  }
  AvcInfo info;
  info.profile = avcc[1];
  info.compatibility = avcc[2];
  info.level = avcc[3];
  info.nal_length_size = (avcc[4] & 0x03) + 1;
  if (info.nal_length_size == 3) {
    return core::Error{"bad_avcc", "NAL length size 3 is not allowed", "avcc"};
  }
  return info;
}

core::Result<AacInfo> parse_audio_specific_config(std::span<const uint8_t> asc) {
  static constexpr int kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                   22050, 16000, 12000, 11025, 8000,  7350};
  if (asc.size() < 2) return core::Error{"bad_asc", "AudioSpecificConfig is too short", "asc"};
  // A small MSB-first bit reader over the config.
  size_t bit = 0;
  auto read = [&](int n) -> int {
    int v = 0;
    for (int i = 0; i < n; ++i, ++bit) {
      if (bit / 8 >= asc.size()) return -1;
      v = (v << 1) | ((asc[bit / 8] >> (7 - bit % 8)) & 1);
    }
    return v;
  };
  AacInfo info;
  info.object_type = read(5);
  if (info.object_type == 31) {
    const int ext = read(6);
    if (ext < 0) return core::Error{"bad_asc", "AudioSpecificConfig is truncated", "asc"};
    info.object_type = 32 + ext;
  }
  const int index = read(4);
  if (index < 0) return core::Error{"bad_asc", "AudioSpecificConfig is truncated", "asc"};
  if (index == 15) {
    info.sample_rate = read(24);
  } else if (index < 13) {
    info.sample_rate = kRates[index];
  }
  info.channel_config = read(4);
  if (info.object_type <= 0 || info.channel_config < 0 || info.sample_rate < 0) {
    return core::Error{"bad_asc", "AudioSpecificConfig is truncated or invalid", "asc"};
  }
  return info;
}

std::string avc_codec_string(const AvcInfo& info) {
  char text[32];
  std::snprintf(text, sizeof text, "avc1.%02x%02x%02x", info.profile, info.compatibility, info.level);
  return text;
}

std::string aac_codec_string(const AacInfo& info) {
  return "mp4a.40." + std::to_string(info.object_type);
}

}  // namespace sreda::package
