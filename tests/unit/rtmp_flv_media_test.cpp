// RTMP's FLV media to access units without GStreamer: FlvMediaSource's prepared/held/failure semantics on
// real encoder bytes (the codec configuration parsers have their tests in media_codec_config_test.cpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/ingest/rtmp/flv_media.h"
#include "tests/unit/media_fixtures.h"

namespace sreda::ingest::rtmp {
namespace {

using test_fixtures::hex;
using test_fixtures::kOpenH264_320x180;
using test_fixtures::kX264_1280x720;
using test_fixtures::kX264_320x240;

TEST(RtmpFlvMedia, FrameRateFromMetadata) {
  int n = 0, d = 0;
  frame_rate_from_double(25, n, d);
  EXPECT_EQ(n, 25);
  EXPECT_EQ(d, 1);
  frame_rate_from_double(29.97, n, d);
  EXPECT_EQ(n, 30000);
  EXPECT_EQ(d, 1001);
  frame_rate_from_double(12.5, n, d);
  EXPECT_EQ(n, 12500);
  EXPECT_EQ(d, 1000);
  frame_rate_from_double(-1, n, d);
  EXPECT_EQ(n, 0);
}

// ---- FlvMediaSource --------------------------------------------------------------------------------

struct Recorder : media::SourceListener {
  std::vector<media::MediaFacts> prepared;
  std::vector<media::AccessUnit> units;
  std::vector<std::string> failures;
  void on_prepared(const media::MediaFacts& f) override { prepared.push_back(f); }
  void on_access_unit(media::AccessUnit u) override { units.push_back(std::move(u)); }
  void on_failed(const std::string& reason) override { failures.push_back(reason); }
  void on_eos() override {}
};

FlvTag video_tag(uint32_t ms, std::vector<uint8_t> body) {
  FlvTag t;
  t.type = FlvTag::video;
  t.timestamp = ms;
  t.data = std::move(body);
  return t;
}
FlvTag audio_tag(uint32_t ms, std::vector<uint8_t> body) {
  FlvTag t = video_tag(ms, std::move(body));
  t.type = FlvTag::audio;
  return t;
}
FlvTag avc_header(const char* avcc) {
  auto body = hex("1700000000");
  auto rec = hex(avcc);
  body.insert(body.end(), rec.begin(), rec.end());
  return video_tag(0, body);
}
FlvTag aac_header(const char* asc = "1190") {
  auto body = hex("af00");
  auto rec = hex(asc);
  body.insert(body.end(), rec.begin(), rec.end());
  return audio_tag(0, body);
}
// A picture of one 5-byte NAL unit; `cts_ms` the composition time offset.
FlvTag picture(uint32_t ms, bool key, int cts_ms) {
  std::vector<uint8_t> body = {static_cast<uint8_t>(key ? 0x17 : 0x27), 1, static_cast<uint8_t>(cts_ms >> 16),
                               static_cast<uint8_t>(cts_ms >> 8), static_cast<uint8_t>(cts_ms),
                               0, 0, 0, 5, 0x65, 1, 2, 3, 4};
  return video_tag(ms, body);
}
FlvTag aac_frame(uint32_t ms) { return audio_tag(ms, {0xAF, 1, 0x21, 0x10, 0x04}); }

TEST(RtmpFlvMediaSource, PreparedWithBothTracksThenUnitsInOrder) {
  Recorder r;
  FlvMediaSource src(r);
  EXPECT_TRUE(src.feed(avc_header(kX264_320x240)));
  EXPECT_TRUE(r.prepared.empty()) << "waits for the audio configuration";
  EXPECT_TRUE(src.feed(aac_header()));
  ASSERT_EQ(r.prepared.size(), 1u);
  const auto& f = r.prepared[0];
  EXPECT_TRUE(f.has_video);
  EXPECT_EQ(f.video_codec, "h264");
  EXPECT_EQ(f.video_profile, "high");
  EXPECT_EQ(f.video_level, "1.3");
  EXPECT_EQ(f.width, 320);
  EXPECT_EQ(f.height, 240);
  EXPECT_EQ(f.fps_num, 25);
  EXPECT_EQ(f.video_codec_data, hex(kX264_320x240));
  EXPECT_TRUE(f.has_audio);
  EXPECT_EQ(f.audio_codec, "aac");
  EXPECT_EQ(f.audio_rate, 48000);
  EXPECT_EQ(f.audio_channels, 2);
  EXPECT_EQ(f.audio_codec_data, hex("1190"));

  EXPECT_TRUE(src.feed(picture(1000, true, 80)));
  EXPECT_TRUE(src.feed(aac_frame(1010)));
  EXPECT_TRUE(src.feed(picture(1040, false, -40)));
  ASSERT_EQ(r.units.size(), 3u);
  EXPECT_EQ(r.units[0].track, media::TrackKind::video);
  EXPECT_EQ(r.units[0].dts_us, 1'000'000);
  EXPECT_EQ(r.units[0].pts_us, 1'080'000);
  EXPECT_TRUE(r.units[0].keyframe);
  EXPECT_EQ(r.units[0].duration_us, 40'000);
  EXPECT_EQ(r.units[0].data, hex("000000056501020304"));
  EXPECT_EQ(r.units[1].track, media::TrackKind::audio);
  EXPECT_EQ(r.units[1].pts_us, 1'010'000);
  EXPECT_EQ(r.units[1].duration_us, 1024 * 1'000'000LL / 48000);
  EXPECT_EQ(r.units[1].data, hex("211004"));
  EXPECT_EQ(r.units[2].pts_us, 1'000'000) << "a negative composition time";
  EXPECT_FALSE(r.units[2].keyframe);
  EXPECT_EQ(src.dropped_units(), 0u);
}

TEST(RtmpFlvMediaSource, VideoOnlyPreparesAfterTheWindowWithHeldUnits) {
  Recorder r;
  FlvMediaSource src(r);
  src.feed(avc_header(kX264_320x240));
  for (uint32_t ms = 0; ms <= 3000; ms += 40) src.feed(picture(ms, ms % 2000 == 0, 0));
  EXPECT_TRUE(r.prepared.empty());
  src.feed(picture(3040, false, 0));
  ASSERT_EQ(r.prepared.size(), 1u);
  EXPECT_FALSE(r.prepared[0].has_audio);
  EXPECT_EQ(r.units.size(), 3040u / 40 + 1) << "every held unit is delivered";
  EXPECT_EQ(r.units.front().dts_us, 0);
  // Audio that shows up after that is not part of the session.
  src.feed(aac_header());
  src.feed(aac_frame(3050));
  EXPECT_EQ(r.prepared.size(), 1u);
  EXPECT_EQ(r.units.back().track, media::TrackKind::video);
}

TEST(RtmpFlvMediaSource, MediaHeldBeforeBothTracksAreConfiguredIsBoundedInBytes) {
  Recorder r;
  FlvMediaSource src(r, 4 << 20);
  ASSERT_TRUE(src.feed(avc_header(kX264_320x240)));
  // 1 MiB pictures all at time 0 (a flood that never reaches the prepare window): held until the bound.
  FlvTag big = picture(0, true, 0);
  big.data.resize(9 + 0x0FFFF0, 0x65);
  big.data[5] = 0x00, big.data[6] = 0x0F, big.data[7] = 0xFF, big.data[8] = 0xF0;  // NAL length 1 MiB - 16
  int fed = 0;
  while (fed < 100 && src.feed(big)) ++fed;
  EXPECT_EQ(fed, 4) << "4 MiB are held, the fifth picture is over the bound";
  EXPECT_TRUE(src.failed());
  EXPECT_TRUE(src.held_bytes_exceeded());
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("ingest.max_held_media_bytes"), std::string::npos) << r.failures[0];
  EXPECT_TRUE(r.units.empty());
  // An honest publisher's held media is far below the default bound.
  Recorder honest;
  FlvMediaSource ok(honest);
  ok.feed(avc_header(kX264_320x240));
  for (uint32_t ms = 0; ms <= 3040; ms += 40) ok.feed(picture(ms, ms % 1000 == 0, 0));
  EXPECT_EQ(honest.prepared.size(), 1u);
  EXPECT_FALSE(ok.held_bytes_exceeded());
}

TEST(RtmpFlvMediaSource, UnitsBeforeTheirConfigurationAreDropped) {
  Recorder r;
  FlvMediaSource src(r);
  src.feed(picture(0, true, 0));
  src.feed(aac_frame(0));
  EXPECT_EQ(src.dropped_units(), 2u);
  src.feed(avc_header(kX264_320x240));
  src.feed(aac_header());
  src.feed(picture(40, true, 0));
  ASSERT_EQ(r.units.size(), 1u);
  EXPECT_EQ(r.units[0].dts_us, 40'000);
}

// MP3 over RTMP is accepted (the ladder transcodes it): its facts come from the first frame's header.
TEST(RtmpFlvMediaSource, Mp3IsAcceptedWithItsFacts) {
  Recorder r;
  FlvMediaSource src(r);
  EXPECT_TRUE(src.feed(avc_header(kX264_320x240)));
  EXPECT_TRUE(src.feed(audio_tag(0, {0x2F, 0xFF, 0xFB, 0x90, 0x64, 1, 2, 3})));
  EXPECT_TRUE(src.feed(audio_tag(26, {0x2F, 0xFF, 0xFB, 0x90, 0x64, 4, 5, 6})));
  EXPECT_TRUE(src.feed(audio_tag(52, {0x2F, 0x00, 0x01})));  // not a frame: dropped
  EXPECT_EQ(src.dropped_units(), 1u);
  EXPECT_TRUE(r.failures.empty());
  ASSERT_EQ(r.prepared.size(), 1u);
  const auto& f = r.prepared[0];
  EXPECT_EQ(f.audio_rate, 44100);
  EXPECT_EQ(f.audio_codec, "mp3");
  EXPECT_EQ(f.audio_channels, 2);
  EXPECT_NE(f.audio_caps.find("layer=(int)3"), std::string::npos) << f.audio_caps;
  ASSERT_EQ(r.units.size(), 2u);
  EXPECT_EQ(r.units[1].dts_us, 26'000);
  EXPECT_EQ(r.units[1].duration_us, 1152 * 1'000'000LL / 44100);
  EXPECT_EQ(r.units[1].data, hex("fffb9064040506"));
}

TEST(RtmpFlvMediaSource, OtherCodecsFailWithAReason) {
  Recorder r;
  FlvMediaSource speex(r);
  EXPECT_FALSE(speex.feed(audio_tag(0, {0xB6, 0x01, 0x02})));
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("unsupported codec Speex"), std::string::npos) << r.failures[0];
  EXPECT_FALSE(speex.feed(aac_header())) << "stays failed";
  EXPECT_EQ(r.failures.size(), 1u);

  Recorder r2;
  FlvMediaSource vp6(r2);
  EXPECT_FALSE(vp6.feed(video_tag(0, {0x14, 0, 0})));
  ASSERT_EQ(r2.failures.size(), 1u);
  EXPECT_NE(r2.failures[0].find("VP6"), std::string::npos);

  Recorder r3;
  FlvMediaSource hevc(r3);
  EXPECT_FALSE(hevc.feed(video_tag(0, {0x90, 'h', 'v', 'c', '1'})));  // enhanced RTMP
  EXPECT_EQ(r3.failures.size(), 1u);
}

TEST(RtmpFlvMediaSource, BadConfigurationFails) {
  Recorder r;
  FlvMediaSource src(r);
  EXPECT_FALSE(src.feed(video_tag(0, hex("17000000000164"))));
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("bad H.264 configuration"), std::string::npos);
  Recorder r2;
  FlvMediaSource src2(r2);
  EXPECT_FALSE(src2.feed(aac_header("1180")));  // channel configuration 0: the layout is in a PCE
  ASSERT_EQ(r2.failures.size(), 1u);
  EXPECT_EQ(r2.failures[0], "bad AAC configuration: the AAC channel configuration 0 is not supported "
                            "(use mono, stereo or 5.1)");
  Recorder r3;
  FlvMediaSource src3(r3);
  EXPECT_FALSE(src3.feed(aac_header("1690")));  // a reserved sampling rate index
  ASSERT_EQ(r3.failures.size(), 1u);
  EXPECT_NE(r3.failures[0].find("bad AAC configuration: "), std::string::npos) << r3.failures[0];
}

TEST(RtmpFlvMediaSource, NewConfigurationMidStreamIsANewSessionStart) {
  Recorder r;
  FlvMediaSource src(r);
  src.feed(avc_header(kX264_320x240));
  src.feed(aac_header());
  src.feed(picture(0, true, 0));
  src.feed(avc_header(kX264_320x240));  // repeated as is: nothing new
  EXPECT_EQ(r.prepared.size(), 1u);
  src.feed(avc_header(kX264_1280x720));
  ASSERT_EQ(r.prepared.size(), 2u);
  EXPECT_EQ(r.prepared[1].width, 1280);
  EXPECT_TRUE(r.prepared[1].has_audio);
  src.feed(aac_header("120856e500"));
  ASSERT_EQ(r.prepared.size(), 3u);
  EXPECT_EQ(r.prepared[2].audio_rate, 44100);
  src.feed(picture(40, true, 0));
  EXPECT_EQ(r.units.size(), 2u);
}

TEST(RtmpFlvMediaSource, MalformedPicturesAreDroppedNotDelivered) {
  Recorder r;
  FlvMediaSource src(r);
  src.feed(avc_header(kX264_320x240));
  src.feed(aac_header());
  EXPECT_TRUE(src.feed(video_tag(0, hex("17010000000000000965"))));  // length past the end
  EXPECT_TRUE(src.feed(video_tag(0, hex("1701000000000000"))));      // a cut length field
  EXPECT_TRUE(src.feed(video_tag(0, hex("170100"))));                // no composition time
  EXPECT_TRUE(src.feed(video_tag(0, hex("17010000000000000065"))));  // a zero length
  EXPECT_TRUE(r.units.empty());
  EXPECT_EQ(src.dropped_units(), 4u);
  EXPECT_TRUE(r.failures.empty()) << "one bad picture does not end the publish";
}

TEST(RtmpFlvMediaSource, TwoByteNalLengthsBecomeFourByte) {
  Recorder r;
  FlvMediaSource src(r);
  std::string avcc = kX264_320x240;
  avcc[9] = 'd';  // lengthSizeMinusOne = 1 (0xfd)
  src.feed(avc_header(avcc.c_str()));
  src.feed(aac_header());
  ASSERT_EQ(r.prepared.size(), 1u);
  EXPECT_EQ(r.prepared[0].video_codec_data[4], 0xff) << "the record the consumers get says 4-byte lengths";
  src.feed(video_tag(0, hex("17010000000002650100024102")));
  ASSERT_EQ(r.units.size(), 1u);
  EXPECT_EQ(r.units[0].data, hex("000000026501000000024102"));
}

TEST(RtmpFlvMediaSource, MetadataFrameRateWhenTheSpsHasNone) {
  Recorder r;
  FlvMediaSource src(r);
  // onMetaData {framerate: 30}, as ffmpeg writes it (ECMA array).
  FlvTag meta;
  meta.type = FlvTag::script;
  meta.data = hex("02000a6f6e4d65746144617461080000000100096672616d657261746500403e000000000000000009");
  src.feed(meta);
  src.feed(avc_header(kOpenH264_320x180));
  src.feed(aac_header());
  ASSERT_EQ(r.prepared.size(), 1u);
  EXPECT_EQ(r.prepared[0].fps_num, 30);
  EXPECT_EQ(r.prepared[0].fps_den, 1);
  EXPECT_EQ(r.prepared[0].video_profile, "constrained-baseline");
}

}  // namespace
}  // namespace sreda::ingest::rtmp
