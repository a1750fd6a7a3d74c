// libFuzzer target: RTMP's FLV media parsing without GStreamer. The input is a sequence of tags, each
// [type byte][2-byte big-endian length][body]; they go through FlvMediaSource, and each body also goes
// straight into the avcC, SPS and AudioSpecificConfig parsers. Nothing may crash; delivered units must
// be well-formed (4-byte NAL lengths that add up, PTS/DTS from the tag) and come after `prepared`.
#include <cstddef>
#include <cstdint>
#include <span>

#include "server/ingest/rtmp/flv_media.h"
#include "server/media/audio.h"
#include "server/media/h264.h"

using namespace sreda::ingest::rtmp;
using namespace sreda::media;

namespace {
struct Checker : SourceListener {
  bool prepared = false;
  void on_prepared(const MediaFacts& f) override {
    if (!f.has_video && !f.has_audio) __builtin_trap();
    if (f.has_video && (f.width <= 0 || f.height <= 0 || f.video_codec_data.size() < 7)) __builtin_trap();
    if (f.has_audio && (f.audio_rate <= 0 || f.audio_channels <= 0)) __builtin_trap();
    prepared = true;
  }
  void on_access_unit(AccessUnit u) override {
    if (!prepared || u.data.empty()) __builtin_trap();
    if (u.track == TrackKind::video) {
      size_t at = 0;
      while (at < u.data.size()) {
        if (at + 4 > u.data.size()) __builtin_trap();
        size_t len = (size_t{u.data[at]} << 24) | (size_t{u.data[at + 1]} << 16) | (size_t{u.data[at + 2]} << 8) |
                     u.data[at + 3];
        if (len == 0 || at + 4 + len > u.data.size()) __builtin_trap();
        at += 4 + len;
      }
    }
  }
  void on_failed(const std::string&) override {}
  void on_eos() override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Checker checker;
  FlvMediaSource source(checker);
  uint32_t ms = 0;
  for (size_t at = 0; at + 3 <= size;) {
    const uint8_t kind = data[at] % 3;
    size_t len = (size_t{data[at + 1]} << 8) | data[at + 2];
    at += 3;
    if (len > size - at) len = size - at;
    std::span<const uint8_t> body(data + at, len);
    at += len;
    (void)parse_avc_config(body);
    (void)parse_sps(body);
    (void)parse_audio_specific_config(body);
    FlvTag tag;
    tag.type = kind == 0 ? FlvTag::video : kind == 1 ? FlvTag::audio : FlvTag::script;
    tag.timestamp = ms;
    ms += 20;
    tag.data.assign(body.begin(), body.end());
    source.feed(tag);
  }
  return 0;
}
