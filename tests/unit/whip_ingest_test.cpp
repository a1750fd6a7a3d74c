// WHIP ingest without a network: a publisher's depayloaded tracks become the hub's facts and units (held until
// both tracks are known, at most 3 s; a new SPS is a new session start; bounded), the hub's refusals become the
// HTTP statuses WHIP clients get, and the app's adapter answers 201 with Location and ETag.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "server/app/whip_endpoint.h"
#include "server/ingest/whip/whip_media.h"
#include "server/ingest/whip/whip_server.h"
#include "tests/unit/media_fixtures.h"

using namespace sreda;
using ingest::whip::TrackFormat;
using ingest::whip::WhipMedia;
using media::TrackKind;

namespace {

struct Recorder : media::SourceListener {
  std::vector<media::MediaFacts> prepared;
  std::vector<media::AccessUnit> units;
  std::vector<std::string> failures;
  void on_prepared(const media::MediaFacts& f) override { prepared.push_back(f); }
  void on_access_unit(media::AccessUnit u) override { units.push_back(std::move(u)); }
  void on_failed(const std::string& r) override { failures.push_back(r); }
  void on_eos() override {}
};

TrackFormat h264(const char* avcc = test_fixtures::kX264_320x240) {
  return {TrackKind::video, "h264", "video/x-h264,stream-format=avc,alignment=au", test_fixtures::hex(avcc), 0, 0};
}
TrackFormat opus() { return {TrackKind::audio, "opus", "audio/x-opus,channel-mapping-family=0", {}, 48000, 2}; }
media::AccessUnit unit(TrackKind track, int64_t ms, bool key = false, size_t size = 100) {
  media::AccessUnit u;
  u.track = track;
  u.pts_us = u.dts_us = ms * 1000;
  u.keyframe = key;
  u.data.assign(size, 1);
  return u;
}

struct WhipMediaTest : ::testing::Test {
  Recorder out;
  int64_t now = 1000;
  WhipMedia make(bool video = true, bool audio = true, size_t max_bytes = 1 << 20) {
    return WhipMedia(out, video, audio, max_bytes, [this] { return now; });
  }
};

TEST_F(WhipMediaTest, UnitsWaitForBothTracksThenComeWithTheFactsTheAvcConfigurationGives) {
  auto m = make();
  m.on_unit(unit(TrackKind::audio, 0));  // before its format: nothing to decode it with
  m.on_format(h264());
  m.on_unit(unit(TrackKind::video, 0, true));
  m.on_unit(unit(TrackKind::video, 40));
  EXPECT_TRUE(out.prepared.empty());
  m.on_format(opus());
  ASSERT_EQ(out.prepared.size(), 1u);
  const auto& f = out.prepared[0];
  EXPECT_EQ(std::tie(f.video_codec, f.width, f.height, f.video_profile), std::make_tuple("h264", 320, 240, "high"));
  EXPECT_EQ(f.video_codec_data, test_fixtures::hex(test_fixtures::kX264_320x240));
  EXPECT_EQ(std::tie(f.audio_codec, f.audio_rate, f.audio_channels), std::make_tuple("opus", 48000, 2));
  EXPECT_EQ(f.audio_caps, "audio/x-opus,channel-mapping-family=0");
  EXPECT_EQ(out.units.size(), 2u);
  m.on_unit(unit(TrackKind::audio, 60));
  EXPECT_EQ(out.units.size(), 3u);
  EXPECT_EQ(m.dropped(), 1u);
  EXPECT_EQ(m.last_keyframe_ms(), 1000);
}

TEST_F(WhipMediaTest, AMissingTrackWaitsThreeSecondsOfMediaAtMost) {
  auto m = make();
  m.on_format(h264());
  for (int i = 0; i <= 76; ++i) m.on_unit(unit(TrackKind::video, i * 40, i == 0));
  ASSERT_EQ(out.prepared.size(), 1u);
  EXPECT_FALSE(out.prepared[0].has_audio);
  EXPECT_EQ(out.units.size(), 77u);
  m.on_format(opus());  // too late: not part of this session
  m.on_unit(unit(TrackKind::audio, 3100));
  EXPECT_EQ(out.units.size(), 77u);
}

TEST_F(WhipMediaTest, ANewResolutionIsANewSessionStartAndTheSameConfigurationIsNot) {
  auto m = make(true, false);
  m.on_format(h264());
  m.on_format(h264());
  ASSERT_EQ(out.prepared.size(), 1u);
  m.on_format(h264(test_fixtures::kX264_1280x720));
  ASSERT_EQ(out.prepared.size(), 2u);
  EXPECT_EQ(out.prepared[1].height, 720);
  EXPECT_EQ(m.resolution_changes(), 1u);
}

TEST_F(WhipMediaTest, HeldMediaIsBoundedAndABrokenConfigurationFailsInPlainWords) {
  auto m = make(true, true, 1000);
  m.on_format(h264());
  for (int i = 0; i < 11; ++i) m.on_unit(unit(TrackKind::video, i * 40));
  ASSERT_EQ(out.failures.size(), 1u);
  EXPECT_TRUE(m.held_bytes_exceeded());
  EXPECT_NE(out.failures[0].find("ingest.max_held_media_bytes"), std::string::npos);

  Recorder other;
  WhipMedia broken(other, true, false, 1 << 20, [] { return int64_t{0}; });
  broken.on_format({TrackKind::video, "h264", "", {1, 2, 3}, 0, 0});
  ASSERT_EQ(other.failures.size(), 1u);
  EXPECT_NE(other.failures[0].find("H.264 configuration is unusable"), std::string::npos) << other.failures[0];
}

TEST(WhipRefusals, TheHubsWordsBecomeTheStatusesWhipClientsGet) {
  using ingest::whip::refusal_for;
  EXPECT_EQ(refusal_for("this stream key is no longer valid").status, 401);
  EXPECT_EQ(refusal_for("this studio is already publishing").status, 409);
  EXPECT_EQ(refusal_for("no event is scheduled for this studio now (…)").status, 403);
  auto stopping = refusal_for("the server is stopping");
  EXPECT_EQ(std::tie(stopping.status, stopping.code), std::make_tuple(503, "stopping"));
  EXPECT_GT(stopping.retry_after_s, 0);
  EXPECT_EQ(refusal_for("the server is busy; try again").status, 503);
  auto pipeline = refusal_for("the server could not start processing the stream");
  EXPECT_EQ(std::tie(pipeline.status, pipeline.message),
            std::make_tuple(500, "the server could not start processing the stream"));
}

TEST(WhipEndpointAdapter, AnAnswerIs201WithItsLocationAndARefusalTheApisErrorShape) {
  ingest::whip::WhipResult ok{201, "", "", 0, "v=0\r\n", "AbCdEfGhIjKlMnOpQrStUv"};
  auto r = app::WhipEndpointAdapter::response(7, ok);
  EXPECT_EQ(std::tie(r.status, r.content_type, r.body), std::make_tuple(201, "application/sdp", "v=0\r\n"));
  std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
  EXPECT_EQ(h["location"], "/whip/7/AbCdEfGhIjKlMnOpQrStUv");
  EXPECT_EQ(h["etag"], "\"AbCdEfGhIjKlMnOpQrStUv\"");

  auto conflict = app::WhipEndpointAdapter::response(7, ingest::whip::refusal_for("this studio is already publishing"));
  EXPECT_EQ(conflict.status, 409);
  EXPECT_NE(conflict.body.find("this studio is already publishing"), std::string::npos);
  auto busy = app::WhipEndpointAdapter::response(7, ingest::whip::refusal_for("the server is busy; try again"));
  std::map<std::string, std::string> bh(busy.headers.begin(), busy.headers.end());
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(bh["retry-after"], "5");
}

}  // namespace
