// Audio codec configuration: AAC's AudioSpecificConfig, the RFC 6381 codec string, and the header of an
// MPEG audio frame (MP3 in FLV carries whole frames and no configuration). Pure functions on bytes,
// bounds-checked for hostile input: a truncated or reserved value is an error. Any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "server/core/result.h"

namespace sreda::media {

struct AacConfig {
  int object_type = 0;     // 2 = AAC LC, 5 = SBR (HE-AAC), 29 = PS (HE-AACv2); escapes give 32 + n
  int sample_rate = 0;     // the core sampling rate (> 0)
  int channel_config = 0;  // as written: 0 = in a program config element, 1–7 standard, 8–15 reserved
  int channels = 0;        // from channel_config 1–7 (7 → 8); 0 when the configuration does not say
};
// An AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), including escape object types and explicit rates:
// errors asc_short, asc_object_type, asc_rate. A channel configuration the caller cannot use (channels 0)
// is the caller's to refuse.
core::Result<AacConfig> parse_audio_specific_config(std::span<const uint8_t> data);

// RFC 6381 CODECS: "mp4a.40.2" (the object type).
std::string aac_codec_string(const AacConfig& config);

struct MpegAudioHeader {
  int version = 1;    // 1, 2 or 25 (MPEG-2.5)
  int layer = 3;      // 1, 2, 3
  int sample_rate = 0;
  int channels = 0;
  int samples = 0;    // per frame
};
// The 4-byte header of an MPEG audio frame: errors mpa_sync, mpa_reserved.
core::Result<MpegAudioHeader> parse_mpeg_audio_header(std::span<const uint8_t> data);

}  // namespace sreda::media
