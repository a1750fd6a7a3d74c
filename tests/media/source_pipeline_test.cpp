// The source pipeline with real encoded streams made by ffmpeg: FLV (as RTMP delivers) and MPEG-TS (as SRT).
#include "pipelines/source/source_pipeline.h"

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

using namespace sreda::media;
using namespace sreda::pipelines;

namespace {

struct Recorder : SourceListener {
  std::mutex m;
  std::condition_variable cv;
  bool prepared = false, eos = false;
  std::string failed;
  MediaFacts facts;
  std::vector<AccessUnit> units;
  void on_prepared(const MediaFacts& f) override {
    std::lock_guard l(m);
    EXPECT_TRUE(units.empty()) << "facts come before the first unit";
    facts = f;
    prepared = true;
    cv.notify_all();
  }
  void on_access_unit(AccessUnit u) override {
    std::lock_guard l(m);
    units.push_back(u);
  }
  void on_failed(const std::string& r) override {
    std::lock_guard l(m);
    failed = r;
    cv.notify_all();
  }
  void on_eos() override {
    std::lock_guard l(m);
    eos = true;
    cv.notify_all();
  }
  template <class P>
  bool wait(P pred, int seconds = 30) {
    std::unique_lock l(m);
    return cv.wait_for(l, std::chrono::seconds(seconds), pred);
  }
};

std::filesystem::path make_media(const std::string& name, const std::string& args) {
  static const auto dir = std::filesystem::temp_directory_path() / ("sreda-source-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto out = dir / name;
  std::string cmd = "ffmpeg -v error -y " + args + " " + out.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return out;
}

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void feed(SourcePipeline& p, const std::vector<uint8_t>& bytes, size_t piece) {
  for (size_t off = 0; off < bytes.size(); off += piece) {
    size_t n = std::min(piece, bytes.size() - off);
    // Wait while the bounded queue is full (a real publisher is slowed by TCP the same way).
    for (int i = 0; i < 2000 && !p.push(bytes.data() + off, n); ++i) {
      if (p.failed()) return;  // nothing more is taken
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  p.end_of_stream();
}

const char* kAv = "-f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 3 "
                  "-c:v libx264 -preset ultrafast -g 25 -bf 2 -c:a aac -ac 2";

class SourcePipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
};

void expect_three_seconds_of_av(Recorder& r) {
  EXPECT_EQ(r.facts.video_codec, "h264");
  EXPECT_EQ(r.facts.width, 320);
  EXPECT_EQ(r.facts.height, 240);
  ASSERT_FALSE(r.facts.video_codec_data.empty());
  EXPECT_EQ(r.facts.video_codec_data[0], 1) << "an avcC record starts with version 1";
  EXPECT_EQ(r.facts.audio_codec, "aac");
  EXPECT_EQ(r.facts.audio_rate, 48000);
  EXPECT_EQ(r.facts.audio_channels, 2);
  EXPECT_GE(r.facts.audio_codec_data.size(), 2u);  // ffmpeg's FLV carries a 5-byte config
  int video = 0, audio = 0, keys = 0;
  int64_t first = INT64_MAX, last = 0, last_dts = -1;
  for (const auto& u : r.units) {
    if (u.track == TrackKind::video) {
      ++video;
      keys += u.keyframe;
      EXPECT_GE(u.dts_us, last_dts) << "video DTS never goes back";
      last_dts = u.dts_us;
      first = std::min(first, u.pts_us);
      last = std::max(last, u.pts_us);
    } else {
      ++audio;
    }
  }
  EXPECT_EQ(video, 75);
  EXPECT_EQ(keys, 3);
  EXPECT_NEAR(audio, 3 * 48000 / 1024, 3);
  EXPECT_NEAR(static_cast<double>(last - first), 2'960'000.0, 50'000.0);
  ASSERT_FALSE(r.units.empty());
  EXPECT_TRUE(r.units.front().track == TrackKind::audio || r.units.front().keyframe);
}

}  // namespace

TEST_F(SourcePipelineTest, FlvBecomesH264AndAacAccessUnits) {
  auto bytes = read_all(make_media("av.flv", std::string(kAv) + " -f flv"));
  Recorder r;
  SourcePipeline p(Container::flv, "test-flv", r, 1 << 20);
  std::string error;
  ASSERT_TRUE(p.start(error)) << error;
  feed(p, bytes, 4096);
  ASSERT_TRUE(r.wait([&] { return r.eos || !r.failed.empty(); })) << "no EOS";
  p.stop();
  ASSERT_TRUE(r.failed.empty()) << r.failed;
  ASSERT_TRUE(r.prepared);
  expect_three_seconds_of_av(r);
}

TEST_F(SourcePipelineTest, MpegTsBecomesTheSame) {
  auto bytes = read_all(make_media("av.ts", std::string(kAv) + " -f mpegts"));
  Recorder r;
  SourcePipeline p(Container::mpegts, "test-ts", r, 1 << 20);
  std::string error;
  ASSERT_TRUE(p.start(error)) << error;
  feed(p, bytes, 1316);
  ASSERT_TRUE(r.wait([&] { return r.eos || !r.failed.empty(); })) << "no EOS";
  p.stop();
  ASSERT_TRUE(r.failed.empty()) << r.failed;
  expect_three_seconds_of_av(r);
}

TEST_F(SourcePipelineTest, VideoOnlyStillWorks) {
  auto bytes = read_all(make_media("v.ts", "-f lavfi -i testsrc=size=320x240:rate=25 -t 2 -c:v libx264 -preset "
                                           "ultrafast -g 25 -f mpegts"));
  Recorder r;
  SourcePipeline p(Container::mpegts, "test-v", r, 1 << 20);
  std::string error;
  ASSERT_TRUE(p.start(error)) << error;
  feed(p, bytes, 1316);
  ASSERT_TRUE(r.wait([&] { return r.eos || !r.failed.empty(); }));
  p.stop();
  EXPECT_TRUE(r.facts.has_video);
  EXPECT_FALSE(r.facts.has_audio);
  EXPECT_EQ(r.units.size(), 50u);
}

// HEVC, Opus and MP3 (MPEG-TS can carry them all) are accepted with their true codec names; the ladder
// transcodes them. The units keep the source's count and timing.
TEST_F(SourcePipelineTest, HevcOpusAndMp3AreAcceptedWithTheirCodecNames) {
  struct Case {
    const char* name;
    const char* codecs;
    const char* video;
    const char* audio;
  };
  for (const Case& c : {Case{"hevc-opus.ts", "-c:v libx265 -x265-params keyint=25:log-level=error -c:a libopus", "hevc", "opus"},
                        Case{"h264-mp3.ts", "-c:v libx264 -preset ultrafast -g 25 -c:a libmp3lame", "h264", "mp3"}}) {
    auto bytes = read_all(make_media(c.name, std::string("-f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i "
                                                         "sine=sample_rate=48000 -t 2 ") + c.codecs + " -f mpegts"));
    Recorder r;
    SourcePipeline p(Container::mpegts, c.name, r, 1 << 20);
    std::string error;
    ASSERT_TRUE(p.start(error)) << error;
    feed(p, bytes, 1316);
    ASSERT_TRUE(r.wait([&] { return r.eos || !r.failed.empty(); })) << c.name;
    p.stop();
    EXPECT_EQ(r.failed, "") << c.name;
    EXPECT_EQ(r.facts.video_codec, c.video);
    EXPECT_EQ(r.facts.audio_codec, c.audio);
    EXPECT_EQ(r.facts.width, 320);
    EXPECT_EQ(r.facts.height, 240);
    EXPECT_EQ(r.facts.audio_rate, 48000);
    EXPECT_NE(r.facts.video_caps.find(std::string(c.video) == "hevc" ? "video/x-h265" : "video/x-h264"),
              std::string::npos) << r.facts.video_caps;
    EXPECT_FALSE(video_plays_as_is(r.facts) && audio_plays_as_is(r.facts)) << c.name;
    size_t video = 0;
    for (const auto& u : r.units) video += u.track == TrackKind::video;
    EXPECT_EQ(video, 50u) << c.name;
    EXPECT_GT(r.units.size() - video, 40u) << c.name << ": audio frames";
  }
}

TEST_F(SourcePipelineTest, OtherCodecsAreRefusedWithAReason) {
  auto bytes = read_all(make_media("mpeg2.ts", "-f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine -t 1 "
                                               "-c:v mpeg2video -c:a aac -f mpegts"));
  Recorder r;
  SourcePipeline p(Container::mpegts, "test-mpeg2", r, 1 << 20);
  std::string error;
  ASSERT_TRUE(p.start(error)) << error;
  feed(p, bytes, 1316);
  ASSERT_TRUE(r.wait([&] { return !r.failed.empty(); })) << "an MPEG-2 video stream must fail";
  p.stop(0);
  EXPECT_NE(r.failed.find("video/mpeg"), std::string::npos) << r.failed;
}

// A publisher whose MPEG-TS announces an audio track it does not send (here: not for its first 4 s) makes the
// source hold its video until the audio shows: bounded in bytes (ingest.max_held_media_bytes). Over the bound
// the source fails with a reason naming the key; within it, the held units all arrive once it is prepared.
TEST_F(SourcePipelineTest, MediaHeldBeforeBothTracksAreConfiguredIsBoundedInBytes) {
  // Incompressible pictures (noise, lossless): ~60 KB a frame, ~6 MB before the first audio frame.
  auto bytes = read_all(make_media("late-audio.ts",
                                   "-f lavfi -i testsrc=size=160x120:rate=25,noise=alls=100:allf=t -itsoffset 4 -f lavfi "
                                   "-i sine=sample_rate=48000:duration=1 -t 5 -c:v libx264 -preset ultrafast -qp 0 -pix_fmt yuv420p "
                                   "-g 25 -c:a aac -f mpegts"));
  // Feeds the stream to a source holding at most max_held bytes; true when it failed.
  auto run = [&](Recorder& r, size_t max_held) {
    SourcePipeline p(Container::mpegts, "test-held-" + std::to_string(max_held), r, 1 << 20, max_held);
    std::string error;
    EXPECT_TRUE(p.start(error)) << error;
    feed(p, bytes, 1316);
    EXPECT_TRUE(r.wait([&] { return r.eos || !r.failed.empty(); }));
    p.stop(r.failed.empty() ? 2000 : 0);
    return p.held_bytes_exceeded();
  };
  Recorder over;
  EXPECT_TRUE(run(over, 2 << 20));
  EXPECT_FALSE(over.prepared);
  EXPECT_TRUE(over.units.empty());
  EXPECT_NE(over.failed.find("more than 2097152 bytes of media held before both tracks were configured "
                             "(ingest.max_held_media_bytes)"), std::string::npos) << over.failed;
  Recorder within;
  EXPECT_FALSE(run(within, 32 << 20));
  EXPECT_EQ(within.failed, "");
  EXPECT_TRUE(within.facts.has_video && within.facts.has_audio);
  size_t video = 0;
  for (const auto& u : within.units) video += u.track == TrackKind::video;
  EXPECT_EQ(video, 125u) << "every held picture delivered";
}
