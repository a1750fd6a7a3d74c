// libFuzzer target: server/media's codec configuration parsers on arbitrary bytes — the avcC (and the
// SPS of each record that parses, as the FLV source reads it), a lone SPS, the AudioSpecificConfig and
// an MPEG audio header. Nothing may crash or read past the input; what parses must make sense.
#include <cstddef>
#include <cstdint>
#include <span>

#include "server/media/audio.h"
#include "server/media/h264.h"

using namespace sreda::media;

namespace {

void check_sps(std::span<const uint8_t> nal) {
  auto s = parse_sps(nal);
  if (!s) return;
  // 1024 macroblocks of 16 lines, twice for field coding, at the most; cropping never below one pixel.
  if (s->width <= 0 || s->height <= 0 || s->width > 16384 || s->height > 32768) __builtin_trap();
  if (s->fps_num < 0 || s->fps_den <= 0 || (s->fps_num > 0 && s->fps_num / s->fps_den > 1000))
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  if (auto c = parse_avc_config(in)) {
    if (c->nal_length_size != 1 && c->nal_length_size != 2 && c->nal_length_size != 4) __builtin_trap();
    if (c->sps.empty() || c->pps.empty()) __builtin_trap();
    size_t total = 7;
    for (const auto& list : {c->sps, c->pps})
      for (const auto& set : list) {
        if (set.empty()) __builtin_trap();
        total += 2 + set.size();
      }
    if (total > size) __builtin_trap();
    if (avc_codec_string(*c).size() != 11) __builtin_trap();
    for (const auto& sps : c->sps) check_sps(sps);
  }
  check_sps(in);
  if (auto a = parse_audio_specific_config(in)) {
    if (a->object_type <= 0 || a->object_type > 95 || a->sample_rate <= 0 || a->sample_rate >= (1 << 24))
      __builtin_trap();
    if (a->channel_config < 0 || a->channel_config > 15 || a->channels < 0 || a->channels > 8)
      __builtin_trap();
    if (aac_codec_string(*a).rfind("mp4a.40.", 0) != 0) __builtin_trap();
  }
  if (auto h = parse_mpeg_audio_header(in)) {
    if (h->sample_rate < 8000 || h->sample_rate > 48000 || (h->channels != 1 && h->channels != 2))
      __builtin_trap();
    if (h->samples != 384 && h->samples != 576 && h->samples != 1152) __builtin_trap();
  }
  return 0;
}
