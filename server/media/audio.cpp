#include "server/media/audio.h"

#include "server/media/bit_reader.h"

namespace sreda::media {
namespace {

core::Error bad(const std::string& code, const std::string& message) {
  return core::Error{code, message, "asc"};
}

}  // namespace

core::Result<AacConfig> parse_audio_specific_config(std::span<const uint8_t> d) {
  static constexpr int kRates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                     22050, 16000, 12000, 11025, 8000,  7350};
  if (d.size() < 2) return bad("asc_short", "the AAC AudioSpecificConfig is shorter than 2 bytes");
  BitReader r(d);
  AacConfig c;
  c.object_type = static_cast<int>(r.bits(5));
  if (c.object_type == 31) c.object_type = 32 + static_cast<int>(r.bits(6));
  if (c.object_type == 0) return bad("asc_object_type", "the AAC AudioSpecificConfig has object type 0");
  const uint32_t index = r.bits(4);
  if (index == 15) {
    c.sample_rate = static_cast<int>(r.bits(24));
  } else if (index < 13) {
    c.sample_rate = kRates[index];
  } else {
    return bad("asc_rate", "the AAC AudioSpecificConfig has a reserved sampling rate index");
  }
  c.channel_config = static_cast<int>(r.bits(4));
  if (r.overrun) return bad("asc_short", "the AAC AudioSpecificConfig ends early");
  if (c.sample_rate <= 0) return bad("asc_rate", "the AAC AudioSpecificConfig has a sampling rate of 0");
  if (c.channel_config >= 1 && c.channel_config <= 7)
    c.channels = c.channel_config == 7 ? 8 : c.channel_config;
  return c;
}

std::string aac_codec_string(const AacConfig& config) {
  return "mp4a.40." + std::to_string(config.object_type);
}

core::Result<MpegAudioHeader> parse_mpeg_audio_header(std::span<const uint8_t> d) {
  if (d.size() < 4 || d[0] != 0xFF || (d[1] & 0xE0) != 0xE0)
    return core::Error{"mpa_sync", "the MP3 frame does not start with a frame header", {}};
  static constexpr int kRates[3] = {44100, 48000, 32000};
  MpegAudioHeader h;
  const int version_bits = (d[1] >> 3) & 3, layer_bits = (d[1] >> 1) & 3, rate_index = (d[2] >> 2) & 3;
  if (version_bits == 1 || layer_bits == 0 || rate_index == 3 || (d[2] >> 4) == 15)
    return core::Error{"mpa_reserved", "the MP3 frame header has a reserved value", {}};
  h.version = version_bits == 3 ? 1 : version_bits == 2 ? 2 : 25;
  h.layer = 4 - layer_bits;
  h.sample_rate = kRates[rate_index] / (h.version == 1 ? 1 : h.version == 2 ? 2 : 4);
  h.channels = (d[3] >> 6) == 3 ? 1 : 2;
  h.samples = h.layer == 1 ? 384 : (h.layer == 3 && h.version != 1) ? 576 : 1152;
  return h;
}

}  // namespace sreda::media
