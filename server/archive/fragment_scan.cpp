#include "server/archive/fragment_scan.h"

#include <cstring>
#include <string_view>

#include "server/media/audio.h"
#include "server/media/h264.h"

namespace sreda::archive {

namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint64_t be64(const uint8_t* p) { return (uint64_t{be32(p)} << 32) | be32(p + 4); }

struct Box {
  std::string_view type;
  std::span<const uint8_t> payload;  // after the header
  size_t total = 0;                  // header + payload
};

// The box at the start of `bytes`; nullopt when its header or body is incomplete or malformed.
std::optional<Box> read_box(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8) return std::nullopt;
  uint64_t size = be32(bytes.data());
  size_t header = 8;
  if (size == 1) {
    if (bytes.size() < 16) return std::nullopt;
    size = be64(bytes.data() + 8);
    header = 16;
  }
  if (size == 0 || size < header || size > bytes.size()) return std::nullopt;  // 0: "to the end" = torn
  return Box{std::string_view(reinterpret_cast<const char*>(bytes.data() + 4), 4),
             bytes.subspan(header, static_cast<size_t>(size) - header), static_cast<size_t>(size)};
}

// Calls fn(box) for each complete child box.
template <class Fn>
void for_each_child(std::span<const uint8_t> bytes, Fn&& fn) {
  while (!bytes.empty()) {
    auto box = read_box(bytes);
    if (!box) return;
    fn(*box);
    bytes = bytes.subspan(box->total);
  }
}

// A cursor over a full box payload; reads past the end yield zeros and set `bad`.
struct Reader {
  std::span<const uint8_t> b;
  size_t at = 0;
  bool bad = false;
  uint32_t u32() {
    if (at + 4 > b.size()) {
      bad = true;
      at = b.size();
      return 0;
    }
    const uint32_t v = be32(b.data() + at);
    at += 4;
    return v;
  }
  uint64_t u64() {
    const uint64_t hi = u32();
    return (hi << 32) | u32();
  }
  void skip(size_t n) {
    if (at + n > b.size()) {
      bad = true;
      at = b.size();
    } else {
      at += n;
    }
  }
};

struct TrafInfo {
  uint32_t track_id = 0;
  std::optional<uint64_t> decode_time;
  uint64_t duration = 0;
};

TrafInfo parse_traf(std::span<const uint8_t> traf, const std::vector<InitTrack>& tracks) {
  TrafInfo out;
  uint32_t default_duration = 0;
  for_each_child(traf, [&](const Box& box) {
    Reader r{box.payload};
    if (box.type == "tfhd") {
      const uint32_t flags = r.u32() & 0xffffff;
      out.track_id = r.u32();
      for (const auto& t : tracks)
        if (t.track_id == out.track_id) default_duration = t.default_duration;
      if (flags & 0x01) r.skip(8);
      if (flags & 0x02) r.skip(4);
      if (flags & 0x08) default_duration = r.u32();
    } else if (box.type == "tfdt") {
      const uint32_t version = r.u32() >> 24;
      const uint64_t t = version == 1 ? r.u64() : r.u32();
      if (!r.bad) out.decode_time = t;
    } else if (box.type == "trun") {
      const uint32_t flags = r.u32() & 0xffffff;
      const uint32_t count = r.u32();
      if (flags & 0x01) r.skip(4);
      if (flags & 0x04) r.skip(4);
      for (uint32_t i = 0; i < count && !r.bad; ++i) {
        uint32_t d = default_duration;
        if (flags & 0x100) d = r.u32();
        if (flags & 0x200) r.skip(4);
        if (flags & 0x400) r.skip(4);
        if (flags & 0x800) r.skip(4);
        if (!r.bad) out.duration += d;
      }
    }
  });
  return out;
}

}  // namespace

std::vector<InitTrack> parse_init_tracks(std::span<const uint8_t> init) {
  std::vector<InitTrack> tracks;
  std::vector<InitTrack> trex;
  for_each_child(init, [&](const Box& top) {
    if (top.type != "moov") return;
    for_each_child(top.payload, [&](const Box& box) {
      if (box.type == "trak") {
        InitTrack t;
        for_each_child(box.payload, [&](const Box& child) {
          if (child.type == "tkhd") {
            Reader r{child.payload};
            const uint32_t version = r.u32() >> 24;
            r.skip(version == 1 ? 16 : 8);  // creation and modification times
            t.track_id = r.u32();
          } else if (child.type == "mdia") {
            for_each_child(child.payload, [&](const Box& m) {
              if (m.type != "mdhd") return;
              Reader r{m.payload};
              const uint32_t version = r.u32() >> 24;
              r.skip(version == 1 ? 16 : 8);
              t.timescale = r.u32();
            });
          }
        });
        if (t.track_id != 0) tracks.push_back(t);
      } else if (box.type == "mvex") {
        for_each_child(box.payload, [&](const Box& m) {
          if (m.type != "trex") return;
          Reader r{m.payload};
          r.skip(4);
          InitTrack t;
          t.track_id = r.u32();
          r.skip(4);  // default_sample_description_index
          t.default_duration = r.u32();
          if (!r.bad) trex.push_back(t);
        });
      }
    });
  });
  for (auto& t : tracks)
    for (const auto& x : trex)
      if (x.track_id == t.track_id) t.default_duration = x.default_duration;
  return tracks;
}

FragmentScan scan_fragments(std::span<const uint8_t> bytes, const std::vector<InitTrack>& tracks) {
  FragmentScan out;
  uint32_t reference = tracks.empty() ? 0 : tracks.front().track_id;
  uint32_t timescale = tracks.empty() ? 0 : tracks.front().timescale;
  for (const auto& t : tracks) {
    if (t.track_id == 1) {
      reference = 1;
      timescale = t.timescale;
    }
  }
  size_t at = 0;
  std::optional<TrafInfo> pending;  // the reference traf of a moof still waiting for its mdat
  bool moof_open = false;
  while (at < bytes.size()) {
    const auto box = read_box(bytes.subspan(at));
    if (!box) break;
    if (box->type == "moof") {
      pending.reset();
      moof_open = true;
      bool first = true;
      for_each_child(box->payload, [&](const Box& child) {
        if (child.type != "traf") return;
        TrafInfo info = parse_traf(child.payload, tracks);
        // Without a known reference track, the first traf of the moof stands in.
        if (info.track_id == reference || (reference == 0 && first)) pending = info;
        first = false;
      });
    } else if (box->type == "mdat") {
      if (moof_open) {
        ++out.fragments;
        if (pending) {
          if (!out.first_decode_time) out.first_decode_time = pending->decode_time;
          out.decode_duration += pending->duration;
        }
        out.complete_bytes = static_cast<int64_t>(at + box->total);
      }
      moof_open = false;
      pending.reset();
    }
    at += box->total;
  }
  out.timescale = timescale;
  if (timescale > 0) out.duration_s = static_cast<double>(out.decode_duration) / timescale;
  return out;
}

namespace {

// The payload of the first box of type `type` (found by its type bytes; bounds-checked), or empty.
std::span<const uint8_t> find_box(std::span<const uint8_t> bytes, const char* type) {
  for (size_t i = 4; i + 4 <= bytes.size(); ++i) {
    if (std::memcmp(bytes.data() + i, type, 4) != 0) continue;
    const uint32_t size = be32(bytes.data() + i - 4);
    if (size < 8 || i - 4 + size > bytes.size()) continue;
    return bytes.subspan(i + 4, size - 8);
  }
  return {};
}

// ES descriptor length: 1–4 bytes of 7 bits.
bool descriptor(std::span<const uint8_t> b, size_t& at, uint8_t& tag, size_t& length) {
  if (at >= b.size()) return false;
  tag = b[at++];
  length = 0;
  for (int i = 0; i < 4; ++i) {
    if (at >= b.size()) return false;
    const uint8_t c = b[at++];
    length = (length << 7) | (c & 0x7f);
    if (!(c & 0x80)) return at + length <= b.size();
  }
  return false;
}

}  // namespace

InitMedia media_of_init(std::span<const uint8_t> init) {
  return {!find_box(init, "avcC").empty(), !find_box(init, "esds").empty()};
}

std::string codecs_of_init(std::span<const uint8_t> init) {
  std::string codecs;
  if (auto avcc = find_box(init, "avcC"); !avcc.empty()) {
    if (auto info = media::parse_avc_config(avcc)) codecs = media::avc_codec_string(*info);
  }
  if (auto esds = find_box(init, "esds"); esds.size() > 4) {
    // version/flags, then ES_Descriptor(3) { ES_ID, flags, DecoderConfigDescriptor(4) { 13 bytes,
    // DecoderSpecificInfo(5) = AudioSpecificConfig } }
    size_t at = 4, length = 0;
    uint8_t tag = 0;
    if (descriptor(esds, at, tag, length) && tag == 3 && at + 3 <= esds.size()) {
      const uint8_t flags = esds[at + 2];
      at += 3;
      if (flags & 0x80) at += 2;
      if ((flags & 0x40) && at < esds.size()) at += 1 + esds[at];
      if (flags & 0x20) at += 2;
      if (descriptor(esds, at, tag, length) && tag == 4 && at + 13 <= esds.size()) {
        at += 13;
        if (descriptor(esds, at, tag, length) && tag == 5) {
          if (auto info = media::parse_audio_specific_config(esds.subspan(at, length)))
            codecs += (codecs.empty() ? "" : ",") + media::aac_codec_string(*info);
        }
      }
    }
  }
  return codecs;
}

}  // namespace sreda::archive
