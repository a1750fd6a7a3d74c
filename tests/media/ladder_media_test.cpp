// The ladder fed by real encoded media (videotestsrc → x264enc, audiotestsrc → voaacenc): each rung's
// size and shape, its bitrate against the target, keyframes on the source's keyframe timestamps in every
// rung, the audio rung, the poster, and degradation when the encoders cannot keep up.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "pipelines/ladder/ladder.h"
#include "tests/media/encoded_media.h"

namespace sreda::pipelines {
namespace {

using package::test_media::Encoded;
using package::test_media::facts_of;
using package::test_media::interleaved;
using package::test_media::run_encoder;
using media::AccessUnit;
using media::MediaFacts;
using media::TrackKind;

struct Collected : LadderListener {
  std::mutex m;
  std::map<std::string, MediaFacts> facts;
  std::map<std::string, std::vector<AccessUnit>> units;
  std::vector<std::string> dropped;
  std::vector<std::vector<uint8_t>> posters;
  std::string failure;
  void on_rung_facts(const std::string& rung, const MediaFacts& f) override {
    std::lock_guard l(m);
    facts[rung] = f;
  }
  void on_rung_unit(const std::string& rung, const AccessUnit& u) override {
    std::lock_guard l(m);
    units[rung].push_back(u);
  }
  void on_rung_dropped(const std::string& rung, const std::string&) override {
    std::lock_guard l(m);
    dropped.push_back(rung);
  }
  void on_poster(std::vector<uint8_t> jpeg, int64_t) override {
    std::lock_guard l(m);
    posters.push_back(std::move(jpeg));
  }
  void on_failed(const std::string& reason) override {
    std::lock_guard l(m);
    failure = reason;
  }
  void reset() {
    std::lock_guard l(m);
    facts.clear();
    units.clear();
    dropped.clear();
    posters.clear();
    failure.clear();
  }
};

LadderSpec default_ladder() {
  LadderSpec s;
  s.rungs = {{"720p", false, 720, 2800}, {"480p", false, 480, 1200}, {"360p", false, 360, 700}, {"audio", true, 0, 64}};
  s.x264_preset = "superfast";
  s.poster_interval_s = 1;
  return s;
}

// `pattern=snow` is incompressible: every rung's encoder spends its whole budget, so the bitrate check
// measures the rate control, not the picture. A 1 s GOP with B-frames, as OBS sends.
Encoded video_source(int w, int h, int frames, const char* pattern = "snow", int kbps = 6000) {
  return run_encoder("videotestsrc num-buffers=" + std::to_string(frames) + " pattern=" + pattern +
                     " ! video/x-raw,width=" + std::to_string(w) + ",height=" + std::to_string(h) +
                     ",framerate=30/1 ! x264enc speed-preset=ultrafast key-int-max=30 bframes=2 bitrate=" +
                     std::to_string(kbps) + " ! h264parse ! video/x-h264,stream-format=avc,alignment=au,profile=(string){main,high,constrained-baseline} ! "
                     "appsink name=sink sync=false");
}

const Encoded& audio_source() {
  static const Encoded a = run_encoder(
      "audiotestsrc num-buffers=200 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=2 ! "
      "voaacenc bitrate=128000 ! aacparse ! audio/mpeg,stream-format=raw ! appsink name=sink sync=false");
  return a;
}

// Both tracks interleaved by DTS, as the source pipeline would. Times shifted so DTS stay >= 0.
void feed(Ladder& ladder, const Encoded& v, const Encoded* a) {
  for (const auto& unit : interleaved(v, a, 200'000)) ladder.push(unit);
}

std::set<int64_t> keyframes(const std::vector<AccessUnit>& units) {
  std::set<int64_t> out;
  for (const auto& u : units)
    if (u.keyframe) out.insert(u.pts_us);
  return out;
}

class LadderMediaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }

  // Runs a whole source through a lossless ladder (queues block instead of dropping).
  void run(const LadderSpec& spec, const Encoded& v, const Encoded* a) {
    LadderOptions o;
    o.drop_when_late = false;
    Ladder ladder("ladder-test", spec, facts_of(v, a), o, out_);
    std::string error;
    ASSERT_TRUE(ladder.start(error)) << error;
    feed(ladder, v, a);
    ladder.stop(120'000);
    health_ = ladder.health();
    ASSERT_EQ(out_.failure, "");
  }
  Collected out_;
  std::vector<RungHealth> health_;
};

TEST_F(LadderMediaTest, Source720pMakesEveryRungAtItsSizeBitrateAndKeyframes) {
  const Encoded v = video_source(1280, 720, 120);
  ASSERT_EQ(v.width, 1280);
  run(default_ladder(), v, &audio_source());

  const std::map<std::string, std::pair<int, int>> sizes = {{"720p", {1280, 720}}, {"480p", {854, 480}}, {"360p", {640, 360}}};
  std::set<int64_t> source_keys;
  for (const auto& u : v.units)
    if (u.keyframe) source_keys.insert(u.pts_us + 200'000);
  ASSERT_EQ(source_keys.size(), 4u);  // 120 frames, GOP 30
  for (const auto& [name, size] : sizes) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(out_.facts.count(name));
    EXPECT_EQ(out_.facts[name].width, size.first);
    EXPECT_EQ(out_.facts[name].height, size.second);
    EXPECT_FALSE(out_.facts[name].video_codec_data.empty());
    const auto& units = out_.units[name];
    ASSERT_EQ(units.size(), v.units.size());  // lossless: every frame encoded
    // Keyframes on exactly the source's keyframe timestamps, no others (no scene-cut keyframes).
    EXPECT_EQ(keyframes(units), source_keys);
    // Bitrate over the whole test within ±20 % of the target.
    size_t bytes = 0;
    for (const auto& u : units) bytes += u.data.size();
    const double seconds = units.size() / 30.0;
    const double kbps = bytes * 8.0 / 1000.0 / seconds;
    const auto spec = default_ladder();
    const auto target = std::find_if(spec.rungs.begin(), spec.rungs.end(),
                                     [&, rung = name](const RungSpec& r) { return r.name == rung; })->bitrate_kbps;
    std::printf("%s: %d x %d, %.0f kb/s (target %d)\n", name.c_str(), size.first, size.second, kbps, target);
    EXPECT_GT(kbps, target * 0.8);
    EXPECT_LT(kbps, target * 1.2);
  }
  // The audio rung: AAC at its bitrate, every frame.
  ASSERT_TRUE(out_.facts.count("audio"));
  EXPECT_EQ(out_.facts["audio"].audio_rate, 48000);
  EXPECT_EQ(out_.facts["audio"].audio_channels, 2);
  EXPECT_FALSE(out_.facts["audio"].audio_codec_data.empty());
  const auto& audio = out_.units["audio"];
  ASSERT_GT(audio.size(), 150u);
  size_t abytes = 0;
  for (const auto& u : audio) abytes += u.data.size();
  const double akbps = abytes * 8.0 / 1000.0 / (audio.size() * 1024.0 / 48000.0);
  std::printf("audio: %.0f kb/s (target 64)\n", akbps);
  EXPECT_GT(akbps, 64 * 0.8);
  EXPECT_LT(akbps, 64 * 1.2);
  // Posters: one per interval (1 s here), JPEG.
  ASSERT_GE(out_.posters.size(), 2u);
  EXPECT_EQ(out_.posters[0][0], 0xFF);
  EXPECT_EQ(out_.posters[0][1], 0xD8);
  // Health: every rung encoded every frame, none dropped.
  for (const auto& h : health_) {
    EXPECT_TRUE(h.active) << h.name;
    EXPECT_EQ(h.dropped_frames, 0) << h.name;
    if (h.name != "audio") {
      EXPECT_EQ(h.frames, 120) << h.name;
    }
  }
}

TEST_F(LadderMediaTest, FourByThreeAndPortraitSourcesKeepTheirShape) {
  LadderSpec spec = default_ladder();
  spec.rungs.pop_back();  // video only
  struct Case {
    const char* what;
    int w, h;
    std::pair<int, int> r480, r360;
  };
  for (const Case& c : {Case{"4:3", 640, 480, {640, 480}, {480, 360}}, Case{"portrait", 480, 854, {480, 854}, {360, 640}}}) {
    SCOPED_TRACE(c.what);
    out_.reset();
    run(spec, video_source(c.w, c.h, 20, "ball", 1000), nullptr);
    EXPECT_FALSE(out_.facts.count("720p"));
    EXPECT_EQ(std::make_pair(out_.facts["480p"].width, out_.facts["480p"].height), c.r480);
    EXPECT_EQ(std::make_pair(out_.facts["360p"].width, out_.facts["360p"].height), c.r360);
    EXPECT_EQ(out_.units["360p"].size(), 20u);
  }
}

TEST_F(LadderMediaTest, Source360pGetsNoTallerRung) {
  const Encoded v = video_source(640, 360, 20, "ball", 1000);
  run(default_ladder(), v, &audio_source());
  EXPECT_FALSE(out_.facts.count("720p"));
  EXPECT_FALSE(out_.facts.count("480p"));
  ASSERT_TRUE(out_.facts.count("360p"));
  EXPECT_EQ(out_.facts["360p"].width, 640);
  EXPECT_EQ(out_.facts["360p"].height, 360);
  EXPECT_EQ(out_.units["360p"].size(), 20u);
  EXPECT_TRUE(out_.facts.count("audio"));
}

// Input far faster than real time: the leaky queues drop frames, the ladder gives up its top rung (and
// says so), the lowest rung keeps encoding.
TEST_F(LadderMediaTest, FallingBehindDropsTheTopRungFirst) {
  // 10 s: a rung's queue turns leaky once it has caught up, or 1 s after its first output behind
  // (warm_at_most_us; 8 s by default, longer than this test's encoding takes).
  const Encoded v = video_source(1280, 720, 300);
  LadderSpec spec = default_ladder();
  spec.x264_preset = "medium";  // slow on purpose
  LadderOptions o;  // drop_when_late
  o.warm_at_most_us = 1'000'000;
  Ladder ladder("ladder-overload", spec, facts_of(v, nullptr), o, out_);
  std::string error;
  ASSERT_TRUE(ladder.start(error)) << error;
  feed(ladder, v, nullptr);
  // The pushes did not block (appsrc takes everything); wait for the rungs to give up or finish.
  ladder.stop(120'000);
  ASSERT_EQ(out_.failure, "");
  ASSERT_FALSE(out_.dropped.empty());
  EXPECT_EQ(out_.dropped.front(), "720p");
  EXPECT_EQ(std::count(out_.dropped.begin(), out_.dropped.end(), "360p"), 0);  // the last video rung stays
  EXPECT_GT(out_.units["360p"].size(), 0u);
  EXPECT_EQ(ladder.rungs_dropped(), static_cast<int64_t>(out_.dropped.size()));
  int64_t dropped_frames = 0;
  for (const auto& h : ladder.health()) {
    dropped_frames += h.dropped_frames;
    if (h.name == "720p") {
      EXPECT_FALSE(h.active);
    }
  }
  EXPECT_GT(dropped_frames, 0);
}

}  // namespace
}  // namespace sreda::pipelines
