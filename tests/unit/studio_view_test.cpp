// The artist's view: the stream's health in words (describe_stream_health) from the hub's live_info.
#include <gtest/gtest.h>

#include "server/web/api.h"

namespace sreda::web {
namespace {

using nlohmann::json;

json live_info(json publisher, const std::string& state = "live", int reconnects = 0) {
  return {{"event_id", 1}, {"state", state}, {"reconnects", reconnects}, {"publisher", std::move(publisher)}};
}

json publisher(double kbps, double fps, bool audio = true, int64_t uptime = 30, int64_t behind_ms = 0) {
  json media = {{"video", {{"codec", "h264"}, {"frame_rate", 25.0}}},
                {"audio", audio ? json{{"codec", "aac"}} : json(nullptr)}};
  return {{"uptime_s", uptime}, {"media", media}, {"bitrate_kbps", kbps}, {"frame_rate", fps},
          {"behind_realtime_ms", behind_ms}};
}

TEST(StudioViewHealth, AHealthyStreamIsArrivingWell) {
  auto h = describe_stream_health(live_info(publisher(2500, 25)), 2600);
  EXPECT_EQ(h["level"], "good");
  EXPECT_EQ(h["text"], "Your picture and sound are arriving well.");
  h = describe_stream_health(live_info(publisher(2500, 25), "live", 2), 2600);
  EXPECT_EQ(h["text"], "Your picture and sound are arriving well. The stream dropped 2 times and came back.");
  EXPECT_EQ(h["reconnects"], 2);
}

TEST(StudioViewHealth, NoStudioMeansReconnecting) {
  EXPECT_EQ(describe_stream_health(live_info(nullptr, "intermission"), 0)["code"], "reconnecting");
  EXPECT_EQ(describe_stream_health(live_info(publisher(2500, 25), "intermission"), 0)["code"], "reconnecting");
}

TEST(StudioViewHealth, NoSoundNoPictureStarting) {
  auto h = describe_stream_health(live_info(publisher(2500, 25, false)), 0);
  EXPECT_EQ(h["code"], "no_audio");
  EXPECT_EQ(h["level"], "bad");
  EXPECT_EQ(h["text"], "No sound is arriving. Check the microphone and the encoder's audio settings.");
  json p = publisher(2500, 25);
  p["media"]["video"] = nullptr;
  EXPECT_EQ(describe_stream_health(live_info(p), 0)["code"], "no_video");
  p["media"] = nullptr;
  EXPECT_EQ(describe_stream_health(live_info(p), 0)["code"], "starting");
}

TEST(StudioViewHealth, TooSlowAgainstTheUsualBitrate) {
  auto h = describe_stream_health(live_info(publisher(1100, 25)), 2500);
  EXPECT_EQ(h["code"], "too_slow");
  EXPECT_EQ(h["text"], "Your internet is too slow: 1.1 Mbit/s arriving, 2.5 expected.");
  EXPECT_DOUBLE_EQ(h["arriving_mbit"].get<double>(), 1.1);
  EXPECT_DOUBLE_EQ(h["expected_mbit"].get<double>(), 2.5);
  // Falling behind real time is too slow even when the usual bitrate is not known yet.
  h = describe_stream_health(live_info(publisher(900, 25, true, 30, 5000)), 0);
  EXPECT_EQ(h["text"], "Your internet is too slow: 0.9 Mbit/s arriving.");
  // In the first seconds the rates are not judged.
  EXPECT_EQ(describe_stream_health(live_info(publisher(100, 5, true, 2)), 2500)["code"], "good");
}

TEST(StudioViewHealth, StutteringPicture) {
  auto h = describe_stream_health(live_info(publisher(2500, 12)), 2500);
  EXPECT_EQ(h["code"], "stuttering");
  EXPECT_EQ(h["text"], "Your picture is stuttering: 12 frames a second arriving, 25 expected.");
}

}  // namespace
}  // namespace sreda::web
