// server/media's codec configuration parsers on real encoder bytes (tests/unit/media_fixtures.h), the
// codec strings the packager writes (RFC 6381), and hostile input: every truncation, lengths and counts
// that point past the end, reserved values. Nothing reads past its input (the ASan preset runs these).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/media/audio.h"
#include "server/media/h264.h"
#include "tests/unit/media_fixtures.h"

namespace sreda::media {
namespace {

using test_fixtures::hex;
using Bytes = std::vector<uint8_t>;

SpsInfo sps_of(const char* avcc) {
  auto config = parse_avc_config(hex(avcc));
  EXPECT_TRUE(config.ok()) << config.error().message;
  if (!config.ok()) return {};
  auto sps = parse_sps(config->sps.front());
  EXPECT_TRUE(sps.ok()) << sps.error().message;
  return sps.ok() ? *sps : SpsInfo{};
}

// Where the parameter sets of a record end (what follows them, High profile's chroma format and bit
// depths, the parser does not need).
size_t parameter_sets_end(const AvcConfig& c) {
  size_t end = 5 + 1 + 1;
  for (const auto& s : c.sps) end += 2 + s.size();
  for (const auto& p : c.pps) end += 2 + p.size();
  return end;
}

// ---- avcC ------------------------------------------------------------------------------------------

TEST(MediaAvcConfig, RealRecords) {
  auto c = parse_avc_config(hex(test_fixtures::kX264_1280x720));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->profile_idc, 100);
  EXPECT_EQ(c->level_idc, 31);
  EXPECT_EQ(c->nal_length_size, 4);
  ASSERT_EQ(c->sps.size(), 1u);
  ASSERT_EQ(c->pps.size(), 1u);
  EXPECT_EQ(c->sps[0].size(), 0x1au);
  EXPECT_EQ(c->pps[0], hex("68ef8fcb"));

  auto mp4 = parse_avc_config(hex(test_fixtures::kX264_1920x1080_Mp4));
  ASSERT_TRUE(mp4.ok());
  EXPECT_EQ(mp4->sps[0].size(), 0x1bu);
  EXPECT_EQ(mp4->pps[0], hex("68ebe3cb22c0"));
}

TEST(MediaAvcConfig, CodecStrings) {
  EXPECT_EQ(avc_codec_string(*parse_avc_config(hex(test_fixtures::kX264_1280x720))), "avc1.64001f");
  EXPECT_EQ(avc_codec_string(*parse_avc_config(hex(test_fixtures::kX264_1920x1080_Mp4))), "avc1.640028");
  EXPECT_EQ(avc_codec_string(*parse_avc_config(hex(test_fixtures::kX264_Main_1280x720_50_Mp4))),
            "avc1.4d4020");
  EXPECT_EQ(avc_codec_string(*parse_avc_config(hex(test_fixtures::kX264_Baseline_2997))), "avc1.42c00d");
}

TEST(MediaAvcConfig, Errors) {
  EXPECT_EQ(parse_avc_config(hex("0164")).error().code, "avcc_short");
  EXPECT_EQ(parse_avc_config(Bytes{0x00, 0x64}).error().code, "avcc_short");
  EXPECT_EQ(parse_avc_config(hex("0264000dffe1000100")).error().code, "avcc_version");
  EXPECT_EQ(parse_avc_config(hex("0164000dfee100")).error().code, "avcc_length_size");
  EXPECT_EQ(parse_avc_config(hex("0164000dffe0000000")).error().code, "avcc_no_sps");
  EXPECT_EQ(parse_avc_config(hex("0164000dffe10002676400")).error().code, "avcc_no_pps");
  EXPECT_EQ(parse_avc_config(hex("0164000dffe10019676400")).error().code, "avcc_short");  // SPS cut short
  EXPECT_EQ(parse_avc_config(hex("0164000dffe100026764")).error().code, "avcc_short");    // no PPS count
}

TEST(MediaAvcConfig, EveryTruncationIsRejected) {
  for (const char* fixture :
       {test_fixtures::kX264_320x240, test_fixtures::kX264_1280x720, test_fixtures::kX264_Baseline_2997,
        test_fixtures::kOpenH264_320x180, test_fixtures::kX264_1920x1080_Mp4,
        test_fixtures::kX264_Main_1280x720_50_Mp4}) {
    const Bytes full = hex(fixture);
    auto whole = parse_avc_config(full);
    ASSERT_TRUE(whole.ok()) << fixture;
    const size_t end = parameter_sets_end(*whole);
    ASSERT_LE(end, full.size());
    for (size_t n = 0; n < end; ++n) {
      // A copy of exactly n bytes, so that ASan sees any read past it.
      const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(parse_avc_config(cut).ok()) << fixture << " cut to " << n << " bytes";
    }
    EXPECT_TRUE(parse_avc_config(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(end))).ok());
  }
}

TEST(MediaAvcConfig, HostileLengthsAndCounts) {
  // An SPS length of 0xffff with four bytes behind it.
  EXPECT_EQ(parse_avc_config(hex("0164001fffe1ffff67640000")).error().code, "avcc_short");
  // 31 SPSs announced, one present.
  EXPECT_EQ(parse_avc_config(hex("0164001fffff00026764")).error().code, "avcc_short");
  // An empty SPS, an empty PPS.
  EXPECT_EQ(parse_avc_config(hex("0164001fffe10000010001")).error().code, "avcc_short");
  EXPECT_EQ(parse_avc_config(hex("0164001fffe100026764010000")).error().code, "avcc_short");
  // 255 PPSs announced, one present.
  EXPECT_EQ(parse_avc_config(hex("0164001fffe100026764ff000168")).error().code, "avcc_short");
}

// ---- SPS -------------------------------------------------------------------------------------------

// What each real SPS says: the picture after cropping, GStreamer's profile and level names, the VUI rate.
struct SpsCase {
  const char* name;
  const char* avcc;
  int width, height;
  const char* profile;
  const char* level;
  int fps_num, fps_den;
};

TEST(MediaSps, RealEncoders) {
  const SpsCase cases[] = {
      {"x264 High 320x240, VUI timing", test_fixtures::kX264_320x240, 320, 240, "high", "1.3", 25, 1},
      {"x264 High 1280x720", test_fixtures::kX264_1280x720, 1280, 720, "high", "3.1", 25, 1},
      {"x264 192 lines cropped to 180", test_fixtures::kX264_320x180, 320, 180, "high", "1.2", 25, 1},
      {"x264 baseline at 30000/1001", test_fixtures::kX264_Baseline_2997, 320, 240, "constrained-baseline",
       "1.3", 30000, 1001},
      {"openh264: cropped, VUI without timing", test_fixtures::kOpenH264_320x180, 320, 180,
       "constrained-baseline", "1.2", 0, 1},
      {"MP4 1920x1080 (1088 lines cropped)", test_fixtures::kX264_1920x1080_Mp4, 1920, 1080, "high", "4", 30,
       1},
      {"MP4 Main 1280x720 at 50", test_fixtures::kX264_Main_1280x720_50_Mp4, 1280, 720, "main", "3.2", 50, 1},
  };
  for (const SpsCase& c : cases) {
    SCOPED_TRACE(c.name);
    const SpsInfo s = sps_of(c.avcc);
    EXPECT_EQ(s.width, c.width);
    EXPECT_EQ(s.height, c.height);
    EXPECT_EQ(h264_profile_name(s.profile_idc, s.constraint_flags), c.profile);
    EXPECT_EQ(h264_level_name(s.level_idc, s.profile_idc, s.constraint_flags), c.level);
    EXPECT_EQ(s.fps_num, c.fps_num);
    EXPECT_EQ(s.fps_den, c.fps_den);
  }
}

TEST(MediaSps, Errors) {
  EXPECT_FALSE(parse_sps(hex("68ef8fcb")).ok());  // a PPS
  EXPECT_FALSE(parse_sps(hex("6764000d")).ok());  // ends before the picture size
  EXPECT_FALSE(parse_sps(hex("67")).ok());
  EXPECT_FALSE(parse_sps({}).ok());
}

TEST(MediaSps, EveryTruncationBeforeThePictureSizeIsRejected) {
  // The 1280x720 SPS: its picture size ends within the first 9 bytes; every shorter cut must fail, and
  // every cut at all must keep to its bytes (a copy of exactly n bytes for ASan).
  auto config = parse_avc_config(hex(test_fixtures::kX264_1280x720));
  ASSERT_TRUE(config.ok());
  const Bytes sps = config->sps.front();
  size_t first_ok = sps.size() + 1;
  for (size_t n = 0; n <= sps.size(); ++n) {
    const Bytes cut(sps.begin(), sps.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = parse_sps(cut);
    if (r.ok() && first_ok > sps.size()) first_ok = n;
    if (r.ok()) {
      EXPECT_EQ(r->width, 1280) << n;
      EXPECT_EQ(r->height, 720) << n;
    } else {
      EXPECT_GT(first_ok, sps.size()) << "a longer cut failed after a shorter one parsed: " << n;
    }
  }
  EXPECT_GT(first_ok, 4u);
  EXPECT_LT(first_ok, sps.size());
}

TEST(MediaSps, HostileValues) {
  // Exp-Golomb codes longer than 32 bits (all zeros after the profile): an overrun, not a huge value.
  EXPECT_FALSE(parse_sps(hex("67640028000000000000000000")).ok());
  // High profile with chroma_format_idc 4 (ue "00101").
  EXPECT_EQ(parse_sps(hex("6764002894")).error().message, "the SPS has an invalid chroma format");
  // Baseline, id 0, log2_max_frame_num 0, poc type 3 ("00100"): invalid.
  EXPECT_EQ(parse_sps(hex("6742c01ec8")).error().message, "the SPS has an invalid picture order count type");
  // Baseline, poc type 1 with a 300-entry cycle.
  EXPECT_EQ(parse_sps(hex("6742c01ed3009680")).error().message,
            "the SPS has too many reference frames in its POC cycle");
  // A width of 4096 macroblocks (ue 4095): out of range.
  EXPECT_EQ(parse_sps(hex("6742c01ef400080070")).error().message, "the SPS picture size is out of range");
}

TEST(MediaH264, LevelNames) {
  EXPECT_EQ(h264_level_name(30, 100, 0), "3");
  EXPECT_EQ(h264_level_name(11, 66, 0x10), "1b");
  EXPECT_EQ(h264_level_name(11, 100, 0x10), "1.1");
  EXPECT_EQ(h264_level_name(40, 77, 0), "4");
  EXPECT_EQ(h264_level_name(0, 77, 0), "");
}

// ---- AudioSpecificConfig ---------------------------------------------------------------------------

TEST(MediaAudioSpecificConfig, RealConfigs) {
  auto lc = parse_audio_specific_config(hex(test_fixtures::kAacLc48kStereo));
  ASSERT_TRUE(lc.ok());
  EXPECT_EQ(lc->object_type, 2);
  EXPECT_EQ(lc->sample_rate, 48000);
  EXPECT_EQ(lc->channel_config, 2);
  EXPECT_EQ(lc->channels, 2);
  EXPECT_EQ(aac_codec_string(*lc), "mp4a.40.2");
  auto mono = parse_audio_specific_config(hex(test_fixtures::kAacLc44kMonoSbrExt));
  ASSERT_TRUE(mono.ok());
  EXPECT_EQ(mono->sample_rate, 44100);
  EXPECT_EQ(mono->channels, 1);
  EXPECT_EQ(aac_codec_string(*mono), "mp4a.40.2");
}

TEST(MediaAudioSpecificConfig, ObjectTypesAndRates) {
  auto explicit_rate = parse_audio_specific_config(hex("178061a810"));  // rate index 15: 50000 Hz
  ASSERT_TRUE(explicit_rate.ok());
  EXPECT_EQ(explicit_rate->sample_rate, 50000);
  EXPECT_EQ(explicit_rate->channels, 2);
  auto escaped = parse_audio_specific_config(hex("f94640"));  // object type 31 → 32 + 10
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->object_type, 42);
  EXPECT_EQ(escaped->sample_rate, 48000);
  auto escaped0 = parse_audio_specific_config(Bytes{0xf8, 0x08, 0xc4, 0x00});  // 32 + 0, 44.1 kHz, 5.1
  ASSERT_TRUE(escaped0.ok());
  EXPECT_EQ(escaped0->object_type, 32);
  EXPECT_EQ(escaped0->channels, 6);
  auto he = parse_audio_specific_config(hex("2b10"));
  ASSERT_TRUE(he.ok());
  EXPECT_EQ(he->object_type, 5);
  EXPECT_EQ(he->sample_rate, 24000);
  EXPECT_EQ(aac_codec_string(*he), "mp4a.40.5");
  auto sbr = parse_audio_specific_config(Bytes{0x2b, 0x92, 0x08, 0x00});  // SBR, 22.05 kHz core
  ASSERT_TRUE(sbr.ok());
  EXPECT_EQ(sbr->sample_rate, 22050);
  EXPECT_EQ(aac_codec_string(*sbr), "mp4a.40.5");
}

TEST(MediaAudioSpecificConfig, ChannelConfigurationsTheCallerJudges) {
  auto pce = parse_audio_specific_config(hex("1180"));  // 0: the layout is in a program config element
  ASSERT_TRUE(pce.ok());
  EXPECT_EQ(pce->channel_config, 0);
  EXPECT_EQ(pce->channels, 0);
  auto eight = parse_audio_specific_config(hex("11b8"));  // 7: 7.1
  ASSERT_TRUE(eight.ok());
  EXPECT_EQ(eight->channels, 8);
  auto reserved = parse_audio_specific_config(hex("11c0"));  // 8
  ASSERT_TRUE(reserved.ok());
  EXPECT_EQ(reserved->channel_config, 8);
  EXPECT_EQ(reserved->channels, 0);
}

TEST(MediaAudioSpecificConfig, Errors) {
  EXPECT_EQ(parse_audio_specific_config(hex("12")).error().code, "asc_short");
  EXPECT_EQ(parse_audio_specific_config({}).error().code, "asc_short");
  EXPECT_EQ(parse_audio_specific_config(hex("0190")).error().code, "asc_object_type");
  EXPECT_EQ(parse_audio_specific_config(hex("1690")).error().code, "asc_rate");        // index 13
  EXPECT_EQ(parse_audio_specific_config(hex("1710")).error().code, "asc_rate");        // index 14
  EXPECT_EQ(parse_audio_specific_config(hex("1780")).error().code, "asc_short");       // explicit rate cut
  EXPECT_EQ(parse_audio_specific_config(hex("1780000010")).error().code, "asc_rate");  // explicit 0 Hz
  EXPECT_EQ(parse_audio_specific_config(hex("f800")).error().code, "asc_short");       // escaped type, cut
}

TEST(MediaAudioSpecificConfig, EveryTruncationIsRejected) {
  for (const char* fixture : {"178061a810", "f94640"}) {  // the ones longer than 2 bytes that need them all
    const Bytes full = hex(fixture);
    ASSERT_TRUE(parse_audio_specific_config(full).ok()) << fixture;
    for (size_t n = 0; n < full.size(); ++n) {
      const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(parse_audio_specific_config(cut).ok()) << fixture << " cut to " << n << " bytes";
    }
  }
}

// ---- MPEG audio ------------------------------------------------------------------------------------

TEST(MediaMpegAudioHeader, RealHeadersAndErrors) {
  auto h = parse_mpeg_audio_header(hex("fffb9064"));  // libmp3lame, 44.1 kHz joint stereo
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ((std::vector<int>{h->version, h->layer, h->sample_rate, h->channels, h->samples}),
            (std::vector<int>{1, 3, 44100, 2, 1152}));
  h = parse_mpeg_audio_header(hex("fff394c4"));  // MPEG-2, 24 kHz mono
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((std::vector<int>{h->version, h->layer, h->sample_rate, h->channels, h->samples}),
            (std::vector<int>{2, 3, 24000, 1, 576}));
  EXPECT_EQ(parse_mpeg_audio_header(hex("fffb90")).error().code, "mpa_sync");
  EXPECT_EQ(parse_mpeg_audio_header(hex("21100400")).error().code, "mpa_sync");
  EXPECT_EQ(parse_mpeg_audio_header(hex("fffb9c64")).error().code, "mpa_reserved");  // rate index 3
  EXPECT_EQ(parse_mpeg_audio_header(hex("ffeb9064")).error().code, "mpa_reserved");  // version 01
}

}  // namespace
}  // namespace sreda::media
