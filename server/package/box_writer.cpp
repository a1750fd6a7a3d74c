#include "server/package/box_writer.h"

#include <cstring>
#include <string_view>

#include "server/media/audio.h"
#include "server/media/h264.h"

namespace sreda::package {
namespace {

// Appends big-endian fields and nested boxes; sizes are patched when a box is closed.
class BoxBuffer {
 public:
  explicit BoxBuffer(Bytes& out) : out_(out) {}
  void u8(uint32_t v) { out_.push_back(static_cast<uint8_t>(v)); }
  void u16(uint32_t v) {
    u8(v >> 8);
    u8(v);
  }
  void u24(uint32_t v) {
    u8(v >> 16);
    u16(v & 0xFFFF);
  }
  void u32(uint32_t v) {
    u16(v >> 16);
    u16(v & 0xFFFF);
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }
  void zeros(size_t n) { out_.insert(out_.end(), n, 0); }
  void fourcc(std::string_view f) { out_.insert(out_.end(), f.begin(), f.begin() + 4); }
  void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  size_t pos() const { return out_.size(); }
  void patch_u32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out_[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  }
  // Opens a box; returns where its size lives.
  size_t open(std::string_view type) {
    const size_t at = pos();
    u32(0);
    fourcc(type);
    return at;
  }
  size_t open_full(std::string_view type, uint8_t version, uint32_t flags) {
    const size_t at = open(type);
    u8(version);
    u24(flags);
    return at;
  }
  void close(size_t at) { patch_u32(at, static_cast<uint32_t>(pos() - at)); }
  void matrix() {
    static constexpr uint32_t kUnity[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};
    for (uint32_t v : kUnity) u32(v);
  }

 private:
  Bytes& out_;
};

// An MPEG-4 descriptor header (ISO/IEC 14496-1 8.3.3) with a 4-byte size, as most muxers write it.
void descriptor(BoxBuffer& b, uint8_t tag, size_t size) {
  b.u8(tag);
  b.u8(0x80 | ((size >> 21) & 0x7F));
  b.u8(0x80 | ((size >> 14) & 0x7F));
  b.u8(0x80 | ((size >> 7) & 0x7F));
  b.u8(size & 0x7F);
}

void write_esds(BoxBuffer& b, const AudioConfig& audio) {
  const size_t esds = b.open_full("esds", 0, 0);
  const size_t dsi = audio.asc.size();
  const size_t dcd = 13 + 5 + dsi;  // DecoderConfigDescriptor payload incl. the DSI descriptor
  const size_t es = 3 + 5 + dcd + 5 + 1;
  descriptor(b, 0x03, es);   // ES_Descriptor
  b.u16(kAudioTrackId);      // ES_ID
  b.u8(0);                   // no stream dependence, URL or OCR
  descriptor(b, 0x04, dcd);  // DecoderConfigDescriptor
  b.u8(0x40);                // objectTypeIndication: MPEG-4 Audio
  b.u8(0x15);                // streamType audio (5) << 2 | reserved 1
  b.u24(0);                  // bufferSizeDB
  b.u32(0);                  // maxBitrate
  b.u32(0);                  // avgBitrate
  descriptor(b, 0x05, dsi);  // DecoderSpecificInfo: the AudioSpecificConfig as given
  b.bytes(audio.asc);
  descriptor(b, 0x06, 1);  // SLConfigDescriptor
  b.u8(0x02);              // predefined: MP4
  b.close(esds);
}

void write_sample_entry_video(BoxBuffer& b, const VideoConfig& video) {
  const size_t avc1 = b.open("avc1");
  b.zeros(6);
  b.u16(1);     // data_reference_index
  b.zeros(16);  // pre_defined, reserved, pre_defined[3]
  b.u16(video.width);
  b.u16(video.height);
  b.u32(0x00480000);  // 72 dpi
  b.u32(0x00480000);
  b.u32(0);
  b.u16(1);     // frame_count
  b.zeros(32);  // compressorname
  b.u16(0x0018);
  b.u16(0xFFFF);  // pre_defined = -1
  const size_t avcc = b.open("avcC");
  b.bytes(video.avcc);
  b.close(avcc);
  b.close(avc1);
}

void write_sample_entry_audio(BoxBuffer& b, const AudioConfig& audio) {
  const size_t mp4a = b.open("mp4a");
  b.zeros(6);
  b.u16(1);  // data_reference_index
  b.zeros(8);
  b.u16(audio.channels);
  b.u16(16);  // samplesize
  b.u32(0);   // pre_defined, reserved
  b.u32(audio.rate < 65536 ? static_cast<uint32_t>(audio.rate) << 16 : 0);
  write_esds(b, audio);
  b.close(mp4a);
}

void write_trak(BoxBuffer& b, const VideoConfig* video, const AudioConfig* audio) {
  const uint32_t track_id = video ? kVideoTrackId : kAudioTrackId;
  const uint32_t timescale = video ? kVideoTimescale : static_cast<uint32_t>(audio->rate);
  const size_t trak = b.open("trak");
  const size_t tkhd = b.open_full("tkhd", 0, 0x000003);  // enabled, in movie
  b.u32(0);                                              // creation_time
  b.u32(0);                                              // modification_time
  b.u32(track_id);
  b.u32(0);
  b.u32(0);  // duration: unknown (fragmented)
  b.zeros(8);
  b.u16(0);                   // layer
  b.u16(0);                   // alternate_group
  b.u16(video ? 0 : 0x0100);  // volume
  b.u16(0);
  b.matrix();
  b.u32(video ? static_cast<uint32_t>(video->width) << 16 : 0);
  b.u32(video ? static_cast<uint32_t>(video->height) << 16 : 0);
  b.close(tkhd);

  const size_t mdia = b.open("mdia");
  const size_t mdhd = b.open_full("mdhd", 0, 0);
  b.u32(0);
  b.u32(0);
  b.u32(timescale);
  b.u32(0);
  b.u16(0x55C4);  // language "und"
  b.u16(0);
  b.close(mdhd);
  const size_t hdlr = b.open_full("hdlr", 0, 0);
  b.u32(0);
  b.fourcc(video ? "vide" : "soun");
  b.zeros(12);
  const std::string_view name = video ? "VideoHandler" : "SoundHandler";
  b.bytes({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
  b.u8(0);
  b.close(hdlr);

  const size_t minf = b.open("minf");
  if (video) {
    const size_t vmhd = b.open_full("vmhd", 0, 1);
    b.zeros(8);  // graphicsmode, opcolor
    b.close(vmhd);
  } else {
    const size_t smhd = b.open_full("smhd", 0, 0);
    b.u32(0);  // balance, reserved
    b.close(smhd);
  }
  const size_t dinf = b.open("dinf");
  const size_t dref = b.open_full("dref", 0, 0);
  b.u32(1);
  b.close(b.open_full("url ", 0, 1));  // media data in the same file
  b.close(dref);
  b.close(dinf);

  const size_t stbl = b.open("stbl");
  const size_t stsd = b.open_full("stsd", 0, 0);
  b.u32(1);
  if (video) {
    write_sample_entry_video(b, *video);
  } else {
    write_sample_entry_audio(b, *audio);
  }
  b.close(stsd);
  for (std::string_view empty : {"stts", "stsc", "stco"}) {
    const size_t box = b.open_full(empty, 0, 0);
    b.u32(0);
    b.close(box);
  }
  const size_t stsz = b.open_full("stsz", 0, 0);
  b.u32(0);
  b.u32(0);
  b.close(stsz);
  b.close(stbl);
  b.close(minf);
  b.close(mdia);
  b.close(trak);
}

void write_trex(BoxBuffer& b, uint32_t track_id) {
  const size_t trex = b.open_full("trex", 0, 0);
  b.u32(track_id);
  b.u32(1);  // default_sample_description_index
  b.u32(0);
  b.u32(0);
  b.u32(0);
  b.close(trex);
}

}  // namespace

core::Result<Bytes> write_init_segment(const InitSegmentInput& input) {
  if (!input.video && !input.audio) return core::Error{"no_tracks", "an init segment needs a track", ""};
  if (input.video) {
    auto avc = media::parse_avc_config(input.video->avcc);
    if (!avc) return avc.error();
    if (input.video->width <= 0 || input.video->height <= 0 || input.video->width > 0xFFFF ||
        input.video->height > 0xFFFF) {
      return core::Error{"bad_video", "video width/height are missing", "width"};
    }
  }
  if (input.audio) {
    auto aac = media::parse_audio_specific_config(input.audio->asc);
    if (!aac) return aac.error();
    if (input.audio->rate <= 0 || input.audio->channels <= 0 || input.audio->asc.size() > 0xFFFF) {
      return core::Error{"bad_audio", "audio rate/channels are missing", "rate"};
    }
  }
  Bytes out;
  BoxBuffer b(out);
  const size_t ftyp = b.open("ftyp");
  b.fourcc("iso6");
  b.u32(0);
  for (std::string_view brand : {"iso6", "cmfc", "isom", "mp41"}) b.fourcc(brand);
  b.close(ftyp);

  const size_t moov = b.open("moov");
  const size_t mvhd = b.open_full("mvhd", 0, 0);
  b.u32(0);
  b.u32(0);
  b.u32(1000);        // movie timescale
  b.u32(0);           // duration: unknown (fragmented)
  b.u32(0x00010000);  // rate 1.0
  b.u16(0x0100);      // volume 1.0
  b.zeros(10);
  b.matrix();
  b.zeros(24);               // pre_defined
  b.u32(kAudioTrackId + 1);  // next_track_ID
  b.close(mvhd);
  if (input.video) write_trak(b, &*input.video, nullptr);
  if (input.audio) write_trak(b, nullptr, &*input.audio);
  const size_t mvex = b.open("mvex");
  if (input.video) write_trex(b, kVideoTrackId);
  if (input.audio) write_trex(b, kAudioTrackId);
  b.close(mvex);
  b.close(moov);
  return out;
}

Bytes write_fragment(uint32_t sequence_number, const std::vector<FragmentTrack>& tracks) {
  // Sample flags (ISO/IEC 14496-12 8.8.3.1): sync = depends on no other sample; non-sync = depends on
  // others and is_non_sync_sample.
  static constexpr uint32_t kSyncFlags = 0x02000000;
  static constexpr uint32_t kNonSyncFlags = 0x01010000;
  // One allocation: the boxes take at most 16 bytes per sample plus ~100 per track; the media is copied
  // once (growing the vector while appending a part's media moved it several times over).
  size_t size = 256;
  for (const FragmentTrack& track : tracks) {
    size += 128 + 16 * track.samples.size();
    for (const FragmentSample& s : track.samples) size += s.data->size();
  }
  Bytes out;
  out.reserve(size);
  BoxBuffer b(out);
  const size_t moof = b.open("moof");
  const size_t mfhd = b.open_full("mfhd", 0, 0);
  b.u32(sequence_number);
  b.close(mfhd);
  std::vector<size_t> data_offset_at;  // per written traf
  std::vector<const FragmentTrack*> written;
  for (const FragmentTrack& track : tracks) {
    if (track.samples.empty()) continue;
    const size_t traf = b.open("traf");
    const size_t tfhd = b.open_full("tfhd", 0, 0x020000);  // default-base-is-moof
    b.u32(track.track_id);
    b.close(tfhd);
    const size_t tfdt = b.open_full("tfdt", 1, 0);
    b.u64(track.base_decode_time);
    b.close(tfdt);
    // data-offset, sample duration, size, flags (+ composition time offset for video)
    const uint32_t flags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | (track.video ? 0x000800 : 0);
    const size_t trun = b.open_full("trun", 1, flags);
    b.u32(static_cast<uint32_t>(track.samples.size()));
    data_offset_at.push_back(b.pos());
    written.push_back(&track);
    b.u32(0);  // data_offset, patched below
    for (const FragmentSample& s : track.samples) {
      b.u32(s.duration);
      b.u32(static_cast<uint32_t>(s.data->size()));
      b.u32(!track.video || s.keyframe ? kSyncFlags : kNonSyncFlags);
      if (track.video) b.u32(static_cast<uint32_t>(s.composition_offset));
    }
    b.close(trun);
    b.close(traf);
  }
  b.close(moof);
  const size_t mdat = b.open("mdat");
  for (size_t i = 0; i < written.size(); ++i) {
    b.patch_u32(data_offset_at[i], static_cast<uint32_t>(b.pos() - moof));
    for (const FragmentSample& s : written[i]->samples) b.bytes(*s.data);
  }
  b.close(mdat);
  return out;
}

}  // namespace sreda::package
