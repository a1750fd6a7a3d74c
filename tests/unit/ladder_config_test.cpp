// Ladder presets (config/ladders/*.jsonc) and which rungs a source gets.
#include <gtest/gtest.h>

#include "pipelines/ladder/ladder_plan.h"
#include "server/live/ladder_config.h"

namespace sreda::live {
namespace {

bool same(const pipelines::LadderSpec& a, const pipelines::LadderSpec& b) {
  if (a.name != b.name || a.x264_preset != b.x264_preset || a.vbv_ms != b.vbv_ms ||
      a.poster_interval_s != b.poster_interval_s || a.poster_width != b.poster_width || a.rungs.size() != b.rungs.size())
    return false;
  for (size_t i = 0; i < a.rungs.size(); ++i) {
    const auto &x = a.rungs[i], &y = b.rungs[i];
    if (x.name != y.name || x.audio_only != y.audio_only || x.height != y.height || x.bitrate_kbps != y.bitrate_kbps)
      return false;
  }
  return true;
}

TEST(LadderConfig, ShippedPresetsParseAndTheBuiltInEqualsDefaultJsonc) {
  std::vector<std::string> errors;
  auto set = load_ladders(std::string(SREDA_SOURCE_DIR) + "/config/ladders", true, "default", "3=small", errors);
  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_TRUE(set.ladders.count("default"));
  ASSERT_TRUE(set.ladders.count("small"));
  EXPECT_TRUE(same(set.ladders["default"], builtin_default_ladder()));
  EXPECT_EQ(set.for_studio(3)->name, "small");
  EXPECT_EQ(set.for_studio(4)->name, "default");
}

TEST(LadderConfig, MissingDefaultFolderFallsBackUnlessConfigured) {
  std::vector<std::string> errors;
  auto set = load_ladders("/nonexistent/ladders", false, "default", "", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(same(*set.for_studio(1), builtin_default_ladder()));
  load_ladders("/nonexistent/ladders", true, "default", "", errors);
  EXPECT_FALSE(errors.empty());
  errors.clear();
  load_ladders(std::string(SREDA_SOURCE_DIR) + "/config/ladders", true, "default", "x=small,4=nope", errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("ladder.studios"), std::string::npos);
  EXPECT_NE(errors[1].find("nope"), std::string::npos);
}

TEST(LadderConfig, BadPresetsNameTheirField) {
  auto r = parse_ladder("x", R"({"rungs":[{"name":"720p","height":721,"bitrate_kbps":2800}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "x.rungs[0].height");
  r = parse_ladder("x", R"({"rungs":[{"name":"source","height":720,"bitrate_kbps":2800}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "x.rungs[0].name");
  r = parse_ladder("x", R"({"x264_preset":"placebo","rungs":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "x.x264_preset");
  r = parse_ladder("x", R"({"rungz":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "x.rungz");
  r = parse_ladder("x", "{ // comment\n \"rungs\": [{\"name\":\"a\",\"audio\":true,\"bitrate_kbps\":64}]}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->rungs[0].audio_only);
}

media::MediaFacts video(int w, int h, bool audio = true) {
  media::MediaFacts f;
  f.has_video = true;
  f.video_codec = "h264";
  f.width = w;
  f.height = h;
  f.has_audio = audio;
  return f;
}

std::vector<std::string> names(const std::vector<pipelines::RungPlan>& plan) {
  std::vector<std::string> out;
  for (const auto& p : plan)
    out.push_back(p.spec.name + (p.width ? "=" + std::to_string(p.width) + "x" + std::to_string(p.height) : ""));
  return out;
}

// A rung at the source's own size is encoded only when the source sends at least 200 % of its bitrate (the
// default); an unknown bitrate keeps it; HEVC (no `source` rendition) always gets it; 0 % keeps it always.
TEST(LadderPlan, RungAtTheSourcesOwnSizeOnlyWhenTheSourcesBitrateIsWellAboveIt) {
  auto spec = builtin_default_ladder();
  using V = std::vector<std::string>;
  auto at = [](int w, int h, int kbps) {
    auto f = video(w, h);
    f.video_kbps = kbps;
    return f;
  };
  EXPECT_EQ(names(pipelines::plan_rungs(spec, at(1280, 720, 2500))), (V{"480p=854x480", "360p=640x360", "audio"}));  // OBS's default
  EXPECT_EQ(names(pipelines::plan_rungs(spec, at(1280, 720, 5599))), (V{"480p=854x480", "360p=640x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, at(1280, 720, 5600))), (V{"720p=1280x720", "480p=854x480", "360p=640x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, at(1280, 720, 0))), (V{"720p=1280x720", "480p=854x480", "360p=640x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, at(1920, 1080, 2500))), (V{"720p=1280x720", "480p=854x480", "360p=640x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, at(720, 1280, 1000))), (V{"480p=480x854", "360p=360x640", "audio"}));  // portrait
  EXPECT_EQ(names(pipelines::plan_rungs(spec, at(640, 360, 400))), (V{"audio"}));
  auto h = at(1280, 720, 2500);
  h.video_codec = "hevc";
  EXPECT_EQ(names(pipelines::plan_rungs(spec, h)), (V{"720p=1280x720", "480p=854x480", "360p=640x360", "audio"}));
  EXPECT_FALSE(pipelines::has_own_size_rung(spec, h));
  EXPECT_TRUE(pipelines::has_own_size_rung(spec, at(1280, 720, 0)));
  EXPECT_FALSE(pipelines::has_own_size_rung(spec, at(1920, 1080, 0)));
  spec.own_size_min_percent = 0;
  EXPECT_EQ(names(pipelines::plan_rungs(spec, at(1280, 720, 2500))), (V{"720p=1280x720", "480p=854x480", "360p=640x360", "audio"}));
  EXPECT_FALSE(pipelines::has_own_size_rung(spec, at(1280, 720, 0)));
  auto r = parse_ladder("x", R"({"own_size_min_percent":150,"rungs":[]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->own_size_min_percent, 150);
  r = parse_ladder("x", R"({"own_size_min_percent":-1,"rungs":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "x.own_size_min_percent");
}

TEST(LadderPlan, RungsNoTallerThanTheSourceKeepItsShape) {
  const auto spec = builtin_default_ladder();
  using V = std::vector<std::string>;
  EXPECT_EQ(names(pipelines::plan_rungs(spec, video(1920, 1080))), (V{"720p=1280x720", "480p=854x480", "360p=640x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, video(640, 360))), (V{"360p=640x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, video(320, 240))), (V{"audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, video(1024, 768))), (V{"720p=960x720", "480p=640x480", "360p=480x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, video(720, 1280))), (V{"720p=720x1280", "480p=480x854", "360p=360x640", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, video(1280, 720, false))), (V{"720p=1280x720", "480p=854x480", "360p=640x360"}));
  media::MediaFacts audio_only;
  audio_only.has_audio = true;
  EXPECT_EQ(names(pipelines::plan_rungs(spec, audio_only)), (V{"audio"}));
}

// No `source` rendition for a source players cannot take as it is: its own size becomes a rung.
TEST(LadderPlan, ATranscodedSourceGetsARungAtItsOwnSizeAndAnAudioRung) {
  const auto spec = builtin_default_ladder();
  using V = std::vector<std::string>;
  auto hevc = [](int w, int h) {
    auto f = video(w, h);
    f.video_codec = "hevc";
    f.audio_codec = "opus";
    return f;
  };
  EXPECT_EQ(names(pipelines::plan_rungs(spec, hevc(1920, 1080))),
            (V{"1080p=1920x1080", "720p=1280x720", "480p=854x480", "360p=640x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, hevc(1280, 720))), (V{"720p=1280x720", "480p=854x480", "360p=640x360", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, hevc(320, 240))), (V{"240p=320x240", "audio"}));
  EXPECT_EQ(names(pipelines::plan_rungs(spec, hevc(540, 960))), (V{"540p=540x960", "480p=480x854", "360p=360x640", "audio"}));
  // Bitrate: the nearest rung's, scaled by the pixel count (the tallest that fits, else the shortest).
  EXPECT_EQ(pipelines::plan_rungs(spec, hevc(1920, 1080))[0].spec.bitrate_kbps, 6300);  // 2800 × (1080/720)²
  EXPECT_EQ(pipelines::plan_rungs(spec, hevc(320, 240))[0].spec.bitrate_kbps, 311);     // 700 × (240/360)²
  // H.264 video with Opus: the source's video is passed through, only the audio needs an AAC rung.
  auto opus = video(320, 240);
  opus.video_codec = "h264";
  opus.audio_codec = "opus";
  pipelines::LadderSpec no_audio = spec;
  no_audio.rungs.pop_back();
  EXPECT_EQ(names(pipelines::plan_rungs(no_audio, opus)), (V{"audio"}));
  EXPECT_EQ(pipelines::plan_rungs(no_audio, opus)[0].spec.bitrate_kbps, pipelines::kTranscodedAudioKbps);
  opus.audio_codec = "aac";
  EXPECT_EQ(names(pipelines::plan_rungs(no_audio, opus)), V{});
}

}  // namespace
}  // namespace sreda::live
