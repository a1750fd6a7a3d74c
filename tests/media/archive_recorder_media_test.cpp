// Recorder as the PackagerSink of a CmafPackager fed by real encoders (videotestsrc + x264enc,
// audiotestsrc + voaacenc): the recording decodes cleanly in ffmpeg with the right duration, also
// after a simulated crash (no on_end, a torn part) and recover().
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pipelines/gst/gst_ref.h"
#include "server/archive/recorder.h"
#include "server/archive/recovery.h"
#include "server/package/cmaf_packager.h"
#include "tests/media/encoded_media.h"
#include "tests/media/run_command.h"

namespace sreda::archive {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::run_output;
using namespace sreda::package;
using sreda::package::test_media::Encoded;
using sreda::package::test_media::run_encoder;
using sreda::media::AccessUnit;
using sreda::media::TrackKind;


// 6 s of video (keyframe every 2 s) and audio.
const Encoded& video_input() {
  static const Encoded v = run_encoder(
      "videotestsrc num-buffers=150 is-live=false ! video/x-raw,width=320,height=240,framerate=25/1 ! "
      "x264enc key-int-max=50 bframes=2 ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
      "appsink name=sink sync=false");
  return v;
}
const Encoded& audio_input() {
  static const Encoded a = run_encoder(
      "audiotestsrc num-buffers=282 samplesperbuffer=1024 is-live=false ! audio/x-raw,rate=48000,channels=2 ! "
      "voaacenc ! aacparse ! audio/mpeg,stream-format=raw ! appsink name=sink sync=false");
  return a;
}

// Interleaves by DTS; stops (without end_of_stream) once video passes `stop_us`.
void feed(CmafPackager& packager, int64_t stop_us = INT64_MAX) {
  const Encoded& v = video_input();
  const Encoded& a = audio_input();
  size_t i = 0, j = 0;
  while (i < v.units.size() || j < a.units.size()) {
    const bool take_video =
        j >= a.units.size() || (i < v.units.size() && v.units[i].dts_us <= a.units[j].dts_us);
    const auto& u = take_video ? v.units[i++] : a.units[j++];
    if (u.dts_us > stop_us) return;
    packager.push(
        AccessUnit{take_video ? TrackKind::video : TrackKind::audio, u.pts_us, u.dts_us, u.keyframe, u.data});
  }
}

double probed_duration(const fs::path& playlist) {
  const std::string out =
      run_output("ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 " + playlist.string());
  try {
    return std::stod(out);
  } catch (...) {
    ADD_FAILURE() << "ffprobe: " << out;
    return 0;
  }
}

void expect_decodes(const fs::path& master) {
  const auto decoded = run_command("ffmpeg -nostdin -v error -i " + master.string() + " -f null -");
  EXPECT_EQ(decoded.output, "");
  EXPECT_EQ(decoded.status, 0);
}

class ArchiveRecorderMedia : public test_media::PackagerMediaTest {
 protected:
  void SetUp() override {
    make_dir("sreda-archive-media");
    ASSERT_GE(video_input().units.size(), 145u);
    ASSERT_GE(audio_input().units.size(), 270u);
  }
  void configure(CmafPackager& p) { PackagerMediaTest::configure(p, video_input(), audio_input()); }
  RecorderOptions options() {
    RecorderOptions o;
    o.root = dir_.string();
    o.event_id = "42";
    return o;
  }
};

TEST_F(ArchiveRecorderMedia, RecordingOfRealPackagerOutputDecodes) {
  Recorder recorder(options());
  recorder.start();
  CmafPackager packager(PackagerOptions{}, &recorder);
  configure(packager);
  packager.begin_run(1'795'000'000'000);
  feed(packager);
  packager.end_of_stream();
  recorder.set_variant("source", packager.variant_info());
  recorder.stop();

  const RecordingStats s = recorder.stats();
  EXPECT_EQ(s.state, RecordingState::ended) << s.last_error;
  EXPECT_EQ(s.segments, 3);
  EXPECT_NEAR(s.duration_s, 6.0, 0.3);
  const fs::path master = dir_ / "42" / "master.m3u8";
  expect_decodes(master);
  EXPECT_NEAR(probed_duration(master), 6.0, 0.3);
  // The archive holds the packager's own bytes under the packager's names.
  for (const auto& seg : packager.playlist_state().segments) {
    const fs::path file = dir_ / "42" / "source" / segment_uri(seg.msn);
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(static_cast<size_t>(fs::file_size(file)), packager.segment(seg.msn)->size());
  }
  EXPECT_TRUE(recover(dir_.string()).empty());
}

TEST_F(ArchiveRecorderMedia, CrashThenRecoverPlaysWhatWasWritten) {
  {
    Recorder recorder(options());
    recorder.start();
    CmafPackager packager(PackagerOptions{}, &recorder);
    configure(packager);
    packager.begin_run(1'795'000'000'000);
    feed(packager, 5'000'000);  // "kill -9" at 5 s: segments 0-1 complete, segment 2 in parts
    recorder.stop();            // no end_of_stream, no on_end
  }
  const fs::path dir = dir_ / "42" / "source";
  ASSERT_TRUE(fs::exists(dir / "seg2.m4s.partial"));
  {  // the part being written when the power went: half a moof
    std::ofstream out(dir / "seg2.m4s.partial", std::ios::binary | std::ios::app);
    const char torn[] = {0, 0, 0x10, 0, 'm', 'o', 'o', 'f', 0, 0, 0, 0x10};
    out.write(torn, sizeof torn);
  }
  const auto reports = recover(dir_.string());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].error, "");
  for (const auto& line : reports[0].repairs) std::fprintf(stderr, "repair: %s\n", line.c_str());
  // Parts of 0.5 s: 4 s of complete segments + the complete parts of the third (≥ 0.5 s).
  EXPECT_GE(reports[0].duration_s, 4.4);
  EXPECT_LE(reports[0].duration_s, 5.1);
  const fs::path master = dir_ / "42" / "master.m3u8";
  expect_decodes(master);
  EXPECT_NEAR(probed_duration(master), reports[0].duration_s, 0.3);
  EXPECT_FALSE(fs::exists(dir / "seg2.m4s.partial"));
}

}  // namespace
}  // namespace sreda::archive
