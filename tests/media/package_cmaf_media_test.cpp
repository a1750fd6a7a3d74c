// CmafPackager fed by real GStreamer encoders (x264enc with B-frames, voaacenc); the output written as
// files must decode in ffmpeg/ffprobe and GStreamer's qtdemux.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pipelines/gst/gst_ref.h"
#include "server/package/cmaf_packager.h"
#include "tests/media/encoded_media.h"
#include "tests/media/run_command.h"

namespace sreda::package {
namespace {

namespace fs = std::filesystem;
using media::AccessUnit;
using media::TrackKind;
using test::run_command;
using test::run_output;
using test_media::Encoded;
using test_media::run_encoder;

const Encoded& video_input() {
  static const Encoded v = run_encoder(
      "videotestsrc num-buffers=125 is-live=false ! video/x-raw,width=320,height=240,framerate=25/1 ! "
      "x264enc key-int-max=50 bframes=2 ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
      "appsink name=sink sync=false");
  return v;
}

const Encoded& audio_input() {
  static const Encoded a = run_encoder(
      "audiotestsrc num-buffers=235 samplesperbuffer=1024 is-live=false ! audio/x-raw,rate=48000,channels=2 "
      "! "
      "voaacenc ! aacparse ! audio/mpeg,stream-format=raw ! appsink name=sink sync=false");
  return a;
}

// Interleaves both streams by DTS into the packager (as two appsinks would, roughly).
void feed(CmafPackager& packager, const Encoded& v, const Encoded& a) {
  size_t i = 0, j = 0;
  while (i < v.units.size() || j < a.units.size()) {
    const bool take_video =
        j >= a.units.size() || (i < v.units.size() && v.units[i].dts_us <= a.units[j].dts_us);
    const auto& u = take_video ? v.units[i++] : a.units[j++];
    packager.push(
        AccessUnit{take_video ? TrackKind::video : TrackKind::audio, u.pts_us, u.dts_us, u.keyframe, u.data});
  }
}

void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Writes init, every segment and part still held, and the playlist.
void write_rendition(const CmafPackager& packager, const fs::path& dir) {
  fs::create_directories(dir);
  const MediaPlaylistState state = packager.playlist_state();
  int init_id = -1;
  for (const auto& s : state.segments) {
    if (s.init_id != init_id) write_file(dir / init_uri(s.init_id), *packager.init_segment(s.init_id));
    init_id = s.init_id;
    write_file(dir / segment_uri(s.msn), *packager.segment(s.msn));
    for (const auto& p : s.parts) write_file(dir / part_uri(s.msn, p.index), *packager.part(s.msn, p.index));
  }
  std::ofstream(dir / "index.m3u8") << write_media_playlist(state, {});
}

std::vector<double> packet_times(const fs::path& playlist, const char* stream) {
  std::istringstream lines(run_output("ffprobe -v error -select_streams " + std::string(stream) +
                                      " -show_entries packet=dts_time -of csv=p=0 " + playlist.string()));
  std::vector<double> times;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line != "N/A") times.push_back(std::stod(line));
  return times;
}

class PackageCmafMedia : public test_media::PackagerMediaTest {
 protected:
  void SetUp() override {
    make_dir("sreda-package");
    ASSERT_GE(video_input().units.size(), 120u);
    ASSERT_GE(audio_input().units.size(), 200u);
  }
  void configure(CmafPackager& p) { PackagerMediaTest::configure(p, video_input(), audio_input()); }
};

TEST_F(PackageCmafMedia, FfmpegDecodesMuxedRendition) {
  CmafPackager packager(PackagerOptions{}, nullptr);
  configure(packager);
  packager.begin_run(1'795'000'000'000);
  feed(packager, video_input(), audio_input());
  packager.end_of_stream();
  EXPECT_EQ(packager.variant_info().codecs.substr(0, 5), "avc1.");
  EXPECT_NE(packager.variant_info().codecs.find(",mp4a.40.2"), std::string::npos);
  write_rendition(packager, dir_);
  const fs::path playlist = dir_ / "index.m3u8";

  const auto decoded = run_command("ffmpeg -nostdin -v error -i " + playlist.string() + " -f null -");
  EXPECT_EQ(decoded.status, 0);
  EXPECT_EQ(decoded.output, "");

  const std::string probe = run_output(
      "ffprobe -v error -show_entries stream=codec_name,width,height:format=duration "
      "-of default=nw=1 " +
      playlist.string());
  EXPECT_NE(probe.find("codec_name=h264"), std::string::npos) << probe;
  EXPECT_NE(probe.find("width=320"), std::string::npos) << probe;
  EXPECT_NE(probe.find("height=240"), std::string::npos) << probe;
  EXPECT_NE(probe.find("codec_name=aac"), std::string::npos) << probe;
  const auto d = probe.find("duration=");
  ASSERT_NE(d, std::string::npos) << probe;
  EXPECT_NEAR(std::stod(probe.substr(d + 9)), 5.0, 0.3) << probe;

  // Video packets every 40 ms, no gaps; audio continuous too.
  const auto video = packet_times(playlist, "v");
  EXPECT_EQ(video.size(), video_input().units.size());
  for (size_t i = 1; i < video.size(); ++i) EXPECT_NEAR(video[i] - video[i - 1], 0.040, 0.002) << i;
  const auto audio = packet_times(playlist, "a");
  EXPECT_GE(audio.size(), audio_input().units.size() - 5);
  for (size_t i = 1; i < audio.size(); ++i) EXPECT_NEAR(audio[i] - audio[i - 1], 1024.0 / 48000, 0.002) << i;

  // Segments start on keyframes: every part list begins INDEPENDENT; durations are right.
  const auto state = packager.playlist_state();
  ASSERT_GE(state.segments.size(), 2u);
  for (const auto& s : state.segments) {
    EXPECT_TRUE(s.complete);
    if (!s.parts.empty()) {
      EXPECT_TRUE(s.parts.front().independent);
    }
    for (const auto& p : s.parts) EXPECT_LE(p.duration_s, 0.5 + 1e-9);
  }
  EXPECT_NEAR(state.segments.front().duration_s, 2.0, 1e-6);
}

TEST_F(PackageCmafMedia, QtdemuxReadsInitPlusSegments) {
  CmafPackager packager(PackagerOptions{}, nullptr);
  configure(packager);
  feed(packager, video_input(), audio_input());
  packager.end_of_stream();
  Bytes file = *packager.init_segment(0);
  for (const auto& s : packager.playlist_state().segments) {
    const Bytes& seg = *packager.segment(s.msn);
    file.insert(file.end(), seg.begin(), seg.end());
  }
  const fs::path path = dir_ / "all.mp4";
  write_file(path, file);
  GError* error = nullptr;
  const std::string launch = "filesrc location=" + path.string() +
                             " ! qtdemux name=d d.video_0 ! queue ! h264parse ! avdec_h264 ! fakesink name=v "
                             "d.audio_0 ! queue ! aacparse ! avdec_aac ! fakesink";
  auto pipeline = gst::GstRef<GstElement>::adopt(gst_parse_launch(launch.c_str(), &error));
  ASSERT_EQ(error, nullptr) << error->message;
  ASSERT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
  auto msg = gst::GstRef<GstMessage>::adopt(gst_bus_timed_pop_filtered(
      bus.get(), 20 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  ASSERT_TRUE(msg);
  if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_ERROR) {
    GError* err = nullptr;
    gst_message_parse_error(msg.get(), &err, nullptr);
    ADD_FAILURE() << "qtdemux: " << err->message;
    g_clear_error(&err);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  const std::string frames = run_output(
      "ffprobe -v error -count_frames -select_streams v -show_entries "
      "stream=nb_read_frames -of csv=p=0 " +
      path.string());
  EXPECT_EQ(std::stoi(frames), static_cast<int>(video_input().units.size())) << frames;
}

TEST_F(PackageCmafMedia, DiscontinuityKeepsTimelineIncreasing) {
  CmafPackager packager(PackagerOptions{}, nullptr);
  configure(packager);
  packager.begin_run(1'795'000'000'000);
  feed(packager, video_input(), audio_input());
  packager.begin_run(1'795'000'030'000);  // the publisher came back 30 s later; timestamps restart at 0
  feed(packager, video_input(), audio_input());
  packager.end_of_stream();
  write_rendition(packager, dir_);
  const fs::path playlist = dir_ / "index.m3u8";
  std::ifstream in(playlist);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("#EXT-X-DISCONTINUITY\n"), std::string::npos) << text;
  EXPECT_NE(text.find("#EXT-X-ENDLIST"), std::string::npos);

  const auto decoded = run_command("ffmpeg -nostdin -v error -i " + playlist.string() + " -f null -");
  EXPECT_EQ(decoded.output, "");
  EXPECT_EQ(decoded.status, 0);
  const auto video = packet_times(playlist, "v");
  EXPECT_EQ(video.size(), 2 * video_input().units.size());
  for (size_t i = 1; i < video.size(); ++i) {
    EXPECT_GT(video[i], video[i - 1]) << i;
    // At the reconnect only the run gap (0.2 s) plus audio's overhang past the last video frame.
    EXPECT_LT(video[i] - video[i - 1], 0.4) << i;
  }
  const std::string probe =
      run_output("ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 " + playlist.string());
  EXPECT_NEAR(std::stod(probe), 10.0, 0.5) << probe;
}

}  // namespace
}  // namespace sreda::package
