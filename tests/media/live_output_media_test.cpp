// An event's renditions (LiveOutput) fed real encoded media, with the ladder's start posted to a "control
// thread" this test runs by hand: the source's units that came while the ladder started are replayed into it,
// so every rung cuts its segments where the source does (same media sequence numbers, durations and
// times) and gets every frame; and when the start takes too long, the ladder fails and the source goes on.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "server/core/clock.h"
#include "server/live/live_outputs.h"
#include "tests/media/encoded_media.h"

namespace sreda::live {
namespace {

using package::test_media::Encoded;
using package::test_media::facts_of;
using package::test_media::interleaved;
using package::test_media::run_encoder;

constexpr int kFrames = 180;  // 6 s at 30 fps, a keyframe every second (B-frames, as OBS sends)

const Encoded& video_source() {
  static const Encoded v = run_encoder(
      "videotestsrc num-buffers=" + std::to_string(kFrames) +
      " pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! x264enc speed-preset=ultrafast "
      "key-int-max=30 bframes=2 bitrate=600 ! h264parse ! video/x-h264,stream-format=avc,alignment=au,"
      "profile=(string){main,high,constrained-baseline} ! appsink name=sink sync=false");
  return v;
}

const Encoded& audio_source() {
  static const Encoded a = run_encoder(
      "audiotestsrc num-buffers=300 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=2 ! "
      "voaacenc bitrate=96000 ! aacparse ! audio/mpeg,stream-format=raw ! appsink name=sink sync=false");
  return a;
}

// Times on the event's media clock, from kBaseUs.
constexpr int64_t kBaseUs = 200'000;

pipelines::LadderSpec small_ladder() {
  pipelines::LadderSpec s;
  s.name = "test";
  s.rungs = {{"240p", false, 240, 400}, {"audio", true, 0, 64}};
  s.x264_preset = "ultrafast";
  s.poster_interval_s = 0;
  s.own_size_min_percent = 0;  // 240p is the source's own size: encoded whatever its bitrate (see below)
  return s;
}

class LiveOutputMediaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }

  LiveOutputMediaTest() {
    options_.ladder = true;
    options_.ladder_options.drop_when_late = false;  // every frame encoded, however slow the machine
    options_.segment_target_ms = 2000;
    options_.run_on_control = [this](std::function<void()> task) { control_.push_back(std::move(task)); };
  }

  // An event's outputs, its first publisher session started (the ladder's start posted, not run).
  std::shared_ptr<LiveOutput> go_live(int64_t event_id) {
    const auto& v = video_source();
    const auto& a = audio_source();
    units_ = interleaved(v, &a, kBaseUs);
    LiveOutputEvents events;
    events.ladder_failed = [this] { ++failures_; };
    auto out = std::make_shared<LiveOutput>(event_id, options_, &spec_, events);
    out->on_session_start(facts_of(v, &a), false, core::now_ms(), kBaseUs);
    return out;
  }

  // Runs what was posted to the control thread (this thread stands in for it).
  void run_control() {
    auto tasks = std::move(control_);
    control_.clear();
    for (auto& t : tasks) t();
  }

  LiveOutputOptions options_;
  pipelines::LadderSpec spec_ = small_ladder();
  std::vector<std::function<void()>> control_;
  std::vector<media::AccessUnit> units_;
  int failures_ = 0;  // ladder_failed events
};

TEST_F(LiveOutputMediaTest, LadderStartedLaterOnTheControlThreadLinesUpWithTheSource) {
  ASSERT_EQ(video_source().units.size(), static_cast<size_t>(kFrames));
  auto out = go_live(7);
  const auto& units = units_;
  // The session start only posts the ladder's start: nothing of the ladder exists yet.
  ASSERT_EQ(control_.size(), 1u);
  EXPECT_EQ(out->rendition("240p"), nullptr);
  // 1.5 s of media arrive before the control thread gets to it (the second keyframe among them: a ladder
  // joining there would cut its segments a second off the source's).
  size_t fed = 0;
  int video = 0;
  for (; fed < units.size() && video < 45; ++fed) {
    video += units[fed].track == media::TrackKind::video;
    out->on_access_unit(units[fed]);
  }
  ASSERT_NE(out->rendition("source"), nullptr);
  EXPECT_GT(out->rendition("source")->stats().parts, 0);
  run_control();
  ASSERT_NE(out->rendition("240p"), nullptr);
  for (; fed < units.size(); ++fed) out->on_access_unit(units[fed]);
  out->on_session_end();
  out->on_event_end();  // the ladder drains: every frame reaches its rung
  EXPECT_EQ(failures_, 0);

  const auto source = out->rendition("source")->playlist_state();
  const auto rung = out->rendition("240p")->playlist_state();
  ASSERT_TRUE(source.ended && rung.ended);
  ASSERT_EQ(source.segments.size(), 3u);
  ASSERT_EQ(rung.segments.size(), source.segments.size());
  for (size_t i = 0; i < source.segments.size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    EXPECT_EQ(rung.segments[i].msn, source.segments[i].msn);
    EXPECT_NEAR(rung.segments[i].pdt_ms, source.segments[i].pdt_ms, 1);
    if (i + 1 < source.segments.size()) {  // the last ends at the drain, the audio's end or the video's
      EXPECT_NEAR(rung.segments[i].duration_s, source.segments[i].duration_s, 0.001);
    }
  }
  for (const auto& h : out->health()) {
    if (h.name != "240p") continue;
    EXPECT_EQ(h.frames, kFrames);
    EXPECT_EQ(h.dropped_frames, 0);
  }
  EXPECT_EQ(out->rendition_names(), (std::vector<std::string>{"source", "240p", "audio"}));
}

TEST_F(LiveOutputMediaTest, LadderThatDoesNotStartWhileItsBufferFillsFailsAndTheSourceGoesOn) {
  options_.ladder_start_buffer_us = 1'000'000;
  auto out = go_live(8);
  const auto& units = units_;
  size_t fed = 0;
  for (; fed < units.size() / 2; ++fed) out->on_access_unit(units[fed]);  // 3 s: over the 1 s bound
  EXPECT_EQ(failures_, 1);
  run_control();  // the start comes too late: it does nothing
  EXPECT_EQ(out->rendition("240p"), nullptr);
  for (; fed < units.size(); ++fed) out->on_access_unit(units[fed]);
  out->on_session_end();
  out->on_event_end();
  EXPECT_EQ(failures_, 1);
  EXPECT_EQ(out->rendition_names(), std::vector<std::string>{"source"});
  EXPECT_EQ(out->rendition("source")->playlist_state().segments.size(), 3u);
}

// The 240p rung is the source's own size: with own_size_min_percent it waits for the source's bitrate over
// its first keyframe interval (1 s here), then is left out when the source sends less than twice its bitrate.
TEST_F(LiveOutputMediaTest, RungAtTheSourcesOwnSizeIsLeftOutWhenTheSourcesBitrateIsNotWellAboveIt) {
  spec_.own_size_min_percent = 200;
  spec_.rungs[0].bitrate_kbps = 20'000;  // far above the 600 kb/s source
  auto out = go_live(9);
  const auto& units = units_;
  size_t fed = 0;
  int video = 0;
  // Up to the second keyframe (frame 30): measuring, nothing posted yet.
  for (; fed < units.size() && video < 30; ++fed) {
    video += units[fed].track == media::TrackKind::video;
    out->on_access_unit(units[fed]);
    EXPECT_TRUE(control_.empty()) << "posted at unit " << fed;
  }
  for (; fed < units.size() && control_.empty(); ++fed) out->on_access_unit(units[fed]);
  ASSERT_EQ(control_.size(), 1u);  // posted at the second keyframe
  EXPECT_LE(video, 31);
  run_control();
  for (; fed < units.size(); ++fed) out->on_access_unit(units[fed]);
  out->on_session_end();
  out->on_event_end();
  EXPECT_EQ(failures_, 0);
  EXPECT_EQ(out->rendition("240p"), nullptr);
  EXPECT_EQ(out->rendition_names(), (std::vector<std::string>{"source", "audio"}));
}

TEST_F(LiveOutputMediaTest, RungAtTheSourcesOwnSizeIsEncodedWhenTheSourcesBitrateIsWellAboveItAndLinesUp) {
  spec_.own_size_min_percent = 200;
  spec_.rungs[0].bitrate_kbps = 50;  // far below the source
  auto out = go_live(10);
  const auto& units = units_;
  size_t fed = 0;
  for (; fed < units.size() && control_.empty(); ++fed) out->on_access_unit(units[fed]);
  ASSERT_EQ(control_.size(), 1u);
  run_control();
  ASSERT_NE(out->rendition("240p"), nullptr);
  for (; fed < units.size(); ++fed) out->on_access_unit(units[fed]);
  out->on_session_end();
  out->on_event_end();
  EXPECT_EQ(failures_, 0);
  EXPECT_EQ(out->rendition_names(), (std::vector<std::string>{"source", "240p", "audio"}));
  const auto source = out->rendition("source")->playlist_state();
  const auto rung = out->rendition("240p")->playlist_state();
  ASSERT_EQ(rung.segments.size(), source.segments.size());
  for (size_t i = 0; i < source.segments.size(); ++i) {
    EXPECT_EQ(rung.segments[i].msn, source.segments[i].msn);
    EXPECT_NEAR(rung.segments[i].pdt_ms, source.segments[i].pdt_ms, 1);
  }
}

}  // namespace
}  // namespace sreda::live
