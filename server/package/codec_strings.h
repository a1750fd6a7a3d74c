// RFC 6381 CODECS strings from the real codec configuration. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "server/core/result.h"

namespace sreda::package {

struct AvcInfo {
  uint8_t profile = 0;
  uint8_t compatibility = 0;
  uint8_t level = 0;
  int nal_length_size = 4;
};

struct AacInfo {
  int object_type = 0;  // 2 = AAC-LC, 5 = SBR (HE-AAC), 29 = PS (HE-AACv2)
  int sample_rate = 0;  // 0 when not given by the index table
  int channel_config = 0;
};

// Parses the head of an AVCDecoderConfigurationRecord.
core::Result<AvcInfo> parse_avcc(std::span<const uint8_t> avcc);
// Parses the head of an AudioSpecificConfig.
core::Result<AacInfo> parse_audio_specific_config(std::span<const uint8_t> asc);

// "avc1.64001f"
std::string avc_codec_string(const AvcInfo& info);
// "mp4a.40.2"
std::string aac_codec_string(const AacInfo& info);

}  // namespace sreda::package
