// Box writer: the output is parsed back with a small independent ISO BMFF parser.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "server/package/box_writer.h"

namespace sreda::package {
namespace {

// --- a tiny independent box parser -------------------------------------------------------------------
struct Box {
  std::string type;
  size_t offset = 0;  // of the header
  size_t size = 0;
  size_t body = 0;  // offset of the payload (after the header)
  std::vector<Box> children;
  const Box* find(const std::string& t) const {
    for (const Box& c : children)
      if (c.type == t) return &c;
    return nullptr;
  }
  std::vector<const Box*> all(const std::string& t) const {
    std::vector<const Box*> out;
    for (const Box& c : children)
      if (c.type == t) out.push_back(&c);
    return out;
  }
};

uint32_t rd32(const Bytes& b, size_t at) {
  return (uint32_t{b.at(at)} << 24) | (uint32_t{b.at(at + 1)} << 16) | (uint32_t{b.at(at + 2)} << 8) |
         b.at(at + 3);
}
uint64_t rd64(const Bytes& b, size_t at) {
  return (uint64_t{rd32(b, at)} << 32) | rd32(b, at + 4);
}
uint16_t rd16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>((b.at(at) << 8) | b.at(at + 1));
}

bool is_container(const std::string& t) {
  for (const char* c : {"moov", "trak", "mdia", "minf", "dinf", "stbl", "mvex", "moof", "traf"})
    if (t == c) return true;
  return false;
}

// Parses [begin, end) into boxes; fails the test when a size does not fit.
std::vector<Box> parse(const Bytes& b, size_t begin, size_t end) {
  std::vector<Box> out;
  size_t at = begin;
  while (at < end) {
    EXPECT_LE(at + 8, end);
    if (at + 8 > end) break;
    Box box;
    box.offset = at;
    box.size = rd32(b, at);
    box.type.assign(reinterpret_cast<const char*>(&b[at + 4]), 4);
    box.body = at + 8;
    EXPECT_GE(box.size, 8u) << box.type;
    EXPECT_LE(at + box.size, end) << box.type;
    if (box.size < 8 || at + box.size > end) break;
    if (is_container(box.type)) box.children = parse(b, box.body, at + box.size);
    if (box.type == "stsd") box.children = parse(b, box.body + 8, at + box.size);
    if (box.type == "avc1") box.children = parse(b, box.body + 78, at + box.size);
    if (box.type == "mp4a") box.children = parse(b, box.body + 28, at + box.size);
    out.push_back(std::move(box));
    at += out.back().size;
  }
  return out;
}

// --- fixtures ----------------------------------------------------------------------------------------
VideoConfig test_video() {
  VideoConfig v;
  // avcC: version 1, High profile (0x64), level 3.1 (0x1f), 4-byte lengths, one SPS, one PPS.
  v.avcc = {0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67,
            0x64, 0x00, 0x1f, 0x01, 0x00, 0x03, 0x68, 0xeb, 0xe3};
  v.width = 320;
  v.height = 240;
  v.fps_num = 25;
  return v;
}

AudioConfig test_audio() {
  AudioConfig a;
  a.asc = {0x11, 0x90};  // AAC-LC, 48 kHz, 2 channels
  a.rate = 48000;
  a.channels = 2;
  return a;
}

TEST(PackageBoxWriter, InitSegmentStructure) {
  auto init = write_init_segment(InitSegmentInput{test_video(), test_audio()});
  ASSERT_TRUE(init.ok());
  const Bytes& b = *init;
  auto top = parse(b, 0, b.size());
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].type, "ftyp");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&b[8]), 4), "iso6");
  EXPECT_EQ(top[1].type, "moov");
  EXPECT_EQ(top[0].size + top[1].size, b.size());
  const Box& moov = top[1];
  ASSERT_TRUE(moov.find("mvhd"));
  EXPECT_EQ(rd32(b, moov.find("mvhd")->body + 12), 1000u);  // timescale
  auto traks = moov.all("trak");
  ASSERT_EQ(traks.size(), 2u);

  // Video track.
  const Box* tkhd = traks[0]->find("tkhd");
  ASSERT_TRUE(tkhd);
  EXPECT_EQ(rd32(b, tkhd->body + 12), kVideoTrackId);
  EXPECT_EQ(rd32(b, tkhd->body + 76), 320u << 16);
  EXPECT_EQ(rd32(b, tkhd->body + 80), 240u << 16);
  const Box* mdia = traks[0]->find("mdia");
  ASSERT_TRUE(mdia && mdia->find("mdhd") && mdia->find("hdlr") && mdia->find("minf"));
  EXPECT_EQ(rd32(b, mdia->find("mdhd")->body + 12), kVideoTimescale);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&b[mdia->find("hdlr")->body + 8]), 4), "vide");
  const Box* minf = mdia->find("minf");
  EXPECT_TRUE(minf->find("vmhd"));
  ASSERT_TRUE(minf->find("dinf"));
  EXPECT_TRUE(minf->find("dinf")->find("dref"));
  const Box* stbl = minf->find("stbl");
  ASSERT_TRUE(stbl);
  for (const char* t : {"stsd", "stts", "stsc", "stsz", "stco"}) EXPECT_TRUE(stbl->find(t)) << t;
  EXPECT_EQ(rd32(b, stbl->find("stts")->body + 4), 0u);  // no samples in the init segment
  const Box* avc1 = stbl->find("stsd")->find("avc1");
  ASSERT_TRUE(avc1);
  EXPECT_EQ(rd16(b, avc1->body + 24), 320);
  EXPECT_EQ(rd16(b, avc1->body + 26), 240);
  const Box* avcc = avc1->find("avcC");
  ASSERT_TRUE(avcc);
  EXPECT_EQ(Bytes(b.begin() + avcc->body, b.begin() + avcc->offset + avcc->size), test_video().avcc);

  // Audio track: mp4a + esds carrying the real AudioSpecificConfig.
  const Box* amdia = traks[1]->find("mdia");
  ASSERT_TRUE(amdia);
  EXPECT_EQ(rd32(b, amdia->find("mdhd")->body + 12), 48000u);
  EXPECT_TRUE(amdia->find("minf")->find("smhd"));
  const Box* mp4a = amdia->find("minf")->find("stbl")->find("stsd")->find("mp4a");
  ASSERT_TRUE(mp4a);
  EXPECT_EQ(rd16(b, mp4a->body + 16), 2);             // channels
  EXPECT_EQ(rd32(b, mp4a->body + 24), 48000u << 16);  // rate
  const Box* esds = mp4a->find("esds");
  ASSERT_TRUE(esds);
  // Walk the descriptors: 03 → (skip ES header) 04 → (skip 13 bytes) 05 → ASC.
  size_t at = esds->body + 4;
  auto descriptor = [&](uint8_t tag) {
    EXPECT_EQ(b.at(at), tag);
    ++at;
    size_t len = 0;
    for (int i = 0; i < 4; ++i) {
      const uint8_t c = b.at(at++);
      len = (len << 7) | (c & 0x7f);
      if (!(c & 0x80)) break;
    }
    return len;
  };
  descriptor(0x03);
  at += 3;
  descriptor(0x04);
  EXPECT_EQ(b.at(at), 0x40);
  at += 13;
  const size_t asc_len = descriptor(0x05);
  EXPECT_EQ(Bytes(b.begin() + at, b.begin() + at + asc_len), test_audio().asc);

  const Box* mvex = moov.find("mvex");
  ASSERT_TRUE(mvex);
  auto trex = mvex->all("trex");
  ASSERT_EQ(trex.size(), 2u);
  EXPECT_EQ(rd32(b, trex[0]->body + 4), kVideoTrackId);
  EXPECT_EQ(rd32(b, trex[1]->body + 4), kAudioTrackId);
}

TEST(PackageBoxWriter, RejectsBadConfig) {
  VideoConfig v = test_video();
  v.avcc = {0x02};
  EXPECT_FALSE(write_init_segment(InitSegmentInput{v, std::nullopt}).ok());
  EXPECT_FALSE(write_init_segment(InitSegmentInput{}).ok());
}

TEST(PackageBoxWriter, FragmentOffsetsSizesFlags) {
  const Bytes v0(100, 0xA0), v1(30, 0xA1), v2(20, 0xA2), a0(7, 0xB0), a1(9, 0xB1);
  FragmentTrack video{kVideoTrackId,
                      180000,
                      true,
                      {{3600, 7200, true, &v0}, {3600, -3600, false, &v1}, {3600, 0, false, &v2}}};
  FragmentTrack audio{kAudioTrackId, 96000, false, {{1024, 0, true, &a0}, {1024, 0, true, &a1}}};
  const Bytes b = write_fragment(7, {video, audio});
  auto top = parse(b, 0, b.size());
  ASSERT_EQ(top.size(), 2u);
  ASSERT_EQ(top[0].type, "moof");
  ASSERT_EQ(top[1].type, "mdat");
  EXPECT_EQ(top[0].size + top[1].size, b.size());
  EXPECT_EQ(rd32(b, top[0].find("mfhd")->body + 4), 7u);
  auto trafs = top[0].all("traf");
  ASSERT_EQ(trafs.size(), 2u);
  const std::vector<const FragmentTrack*> inputs = {&video, &audio};
  for (size_t t = 0; t < 2; ++t) {
    const Box* tfhd = trafs[t]->find("tfhd");
    ASSERT_TRUE(tfhd);
    EXPECT_EQ(rd32(b, tfhd->body) & 0xffffff, 0x020000u);  // default-base-is-moof
    EXPECT_EQ(rd32(b, tfhd->body + 4), inputs[t]->track_id);
    const Box* tfdt = trafs[t]->find("tfdt");
    ASSERT_TRUE(tfdt);
    EXPECT_EQ(b[tfdt->body], 1);  // version 1
    EXPECT_EQ(rd64(b, tfdt->body + 4), inputs[t]->base_decode_time);
    const Box* trun = trafs[t]->find("trun");
    ASSERT_TRUE(trun);
    EXPECT_EQ(b[trun->body], 1);  // version 1: signed composition offsets
    const uint32_t flags = rd32(b, trun->body) & 0xffffff;
    const bool cto = flags & 0x800;
    EXPECT_EQ(cto, inputs[t]->video);
    const uint32_t count = rd32(b, trun->body + 4);
    ASSERT_EQ(count, inputs[t]->samples.size());
    size_t data = top[0].offset + rd32(b, trun->body + 8);  // data offset from the moof start
    size_t at = trun->body + 12;
    for (uint32_t i = 0; i < count; ++i) {
      const FragmentSample& s = inputs[t]->samples[i];
      EXPECT_EQ(rd32(b, at), s.duration);
      const uint32_t size = rd32(b, at + 4);
      EXPECT_EQ(size, s.data->size());
      const uint32_t sample_flags = rd32(b, at + 8);
      EXPECT_EQ(sample_flags, (!inputs[t]->video || s.keyframe) ? 0x02000000u : 0x01010000u);
      if (cto) {
        EXPECT_EQ(static_cast<int32_t>(rd32(b, at + 12)), s.composition_offset);
        at += 16;
      } else {
        at += 12;
      }
      // The sample's bytes are where the data offset says, inside mdat.
      EXPECT_GE(data, top[1].body);
      EXPECT_LE(data + size, top[1].offset + top[1].size);
      EXPECT_EQ(Bytes(b.begin() + data, b.begin() + data + size), *s.data)
          << "track " << t << " sample " << i;
      data += size;
    }
  }
}

TEST(PackageBoxWriter, FragmentSkipsEmptyTrack) {
  const Bytes v0(10, 1);
  FragmentTrack video{kVideoTrackId, 0, true, {{3600, 0, true, &v0}}};
  FragmentTrack audio{kAudioTrackId, 0, false, {}};
  const Bytes b = write_fragment(1, {video, audio});
  auto top = parse(b, 0, b.size());
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].all("traf").size(), 1u);
  EXPECT_EQ(top[1].size, 8u + 10u);
}

}  // namespace
}  // namespace sreda::package
