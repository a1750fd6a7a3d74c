// H.264 codec configuration: the AVCDecoderConfigurationRecord (avcC) and the sequence parameter set
// inside it, GStreamer's profile and level names, and the RFC 6381 codec string. Pure functions on bytes,
// bounds-checked for hostile input (a publisher's bytes): a truncated or inconsistent record is an error,
// never a read past its end. Any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "server/core/result.h"

namespace sreda::media {

struct AvcConfig {
  int profile_idc = 0;            // the record's copies of the SPS's first three bytes
  int profile_compatibility = 0;
  int level_idc = 0;
  int nal_length_size = 4;        // 1, 2 or 4
  std::vector<std::vector<uint8_t>> sps, pps;  // at least one of each
};
// An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1): errors avcc_short, avcc_version,
// avcc_length_size, avcc_no_sps, avcc_no_pps.
core::Result<AvcConfig> parse_avc_config(std::span<const uint8_t> data);

struct SpsInfo {
  int profile_idc = 0;
  int constraint_flags = 0;  // constraint_set0_flag in bit 7 … set5 in bit 2
  int level_idc = 0;
  int chroma_format_idc = 1;
  int width = 0;   // after cropping
  int height = 0;
  int fps_num = 0;  // from VUI timing (time_scale / 2·num_units_in_tick); 0 when absent
  int fps_den = 1;
};
// A sequence parameter set NAL unit (with its 1-byte NAL header and emulation-prevention bytes).
core::Result<SpsInfo> parse_sps(std::span<const uint8_t> nal);
// GStreamer's names (codec-utils): "baseline", "constrained-baseline", "main", "high", "high-10", …
std::string h264_profile_name(int profile_idc, int constraint_flags);
// "3", "3.1", "1b", …
std::string h264_level_name(int level_idc, int profile_idc, int constraint_flags);

// RFC 6381 CODECS: "avc1.64001f" (profile, compatibility and level as the record gives them).
std::string avc_codec_string(const AvcConfig& config);

}  // namespace sreda::media
