// sredaavh264dec (pipelines/gst/av_h264_dec.h) on real x264 streams with B-frames: every frame, in
// presentation order, at its size and with the same pixels as ffmpeg's own decode of the same file; a
// caps change mid-stream (a reconnect with a new SPS) reopens the decoder; 4:4:4, 4:2:2 and 10-bit come out as 8-bit 4:2:0.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "pipelines/gst/av_h264_dec.h"
#include "pipelines/gst/gst_ref.h"
#include "tests/media/encoded_media.h"

namespace sreda::gst {
namespace {

using package::test_media::Encoded;
using package::test_media::run_encoder;

struct Picture {
  int64_t pts_ns = 0;
  int width = 0, height = 0;
  std::vector<uint8_t> i420;  // tightly packed Y, U, V
};

struct Decoded {
  std::vector<Picture> pictures;
  std::string error;  // the first error message on the bus
};

std::vector<uint8_t> packed_i420(GstSample* sample) {
  GstVideoInfo info;
  std::vector<uint8_t> out;
  if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample))) return out;
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) return out;
  for (int p = 0; p < 3; ++p) {
    const int w = GST_VIDEO_FRAME_COMP_WIDTH(&frame, p), h = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, p);
    const auto* data = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, p));
    for (int y = 0; y < h; ++y) {
      const uint8_t* row = data + static_cast<ptrdiff_t>(y) * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
      out.insert(out.end(), row, row + w);
    }
  }
  gst_video_frame_unmap(&frame);
  return out;
}

// Plays `pipeline` (with `appsink name=sink`) to EOS or error; `feed` pushes into it once it plays.
template <class Feed>
Decoded decode(GstElement* pipeline, Feed feed) {
  Decoded out;
  auto sink = GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline), "sink"));
  EXPECT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  feed();
  auto bus = GstRef<GstBus>::adopt(gst_element_get_bus(pipeline));
  // Until EOS, or an error (after which no EOS comes); then what the sink still holds.
  bool done = false;
  while (true) {
    if (!done) {
      auto m = GstRef<GstMessage>::adopt(
          gst_bus_pop_filtered(bus.get(), static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS)));
      if (m && GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_ERROR) {
        GError* err = nullptr;
        gst_message_parse_error(m.get(), &err, nullptr);
        out.error = err ? err->message : "?";
        g_clear_error(&err);
      }
      done = static_cast<bool>(m);
    }
    auto sample = GstRef<GstSample>::adopt(
        gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), done ? 0 : 100 * GST_MSECOND));
    if (!sample) {
      if (done) break;
      continue;
    }
    Picture p;
    GstBuffer* buf = gst_sample_get_buffer(sample.get());
    p.pts_ns = static_cast<int64_t>(GST_BUFFER_PTS(buf));
    const GstStructure* s = gst_caps_get_structure(gst_sample_get_caps(sample.get()), 0);
    EXPECT_STREQ(gst_structure_get_string(s, "format"), "I420");
    gst_structure_get_int(s, "width", &p.width);
    gst_structure_get_int(s, "height", &p.height);
    p.i420 = packed_i420(sample.get());
    out.pictures.push_back(std::move(p));
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return out;
}

GstRef<GstElement> launch(const std::string& line) {
  GError* error = nullptr;
  auto p = GstRef<GstElement>::adopt(gst_parse_launch(line.c_str(), &error));
  if (error) {
    ADD_FAILURE() << line << ": " << error->message;
    g_clear_error(&error);
  }
  return p;
}

class AvH264DecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gst_init(nullptr, nullptr);
    ASSERT_TRUE(register_av_h264_dec());
    dir_ = std::filesystem::temp_directory_path() /
           ("sreda-avdec-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  static bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }
  std::filesystem::path dir_;
};

TEST_F(AvH264DecTest, DecodesBFramesInPresentationOrderWithFfmpegsPixels) {
  const std::string clip = (dir_ / "clip.mp4").string(), ref = (dir_ / "ref.yuv").string();
  // 30 frames of 320x240 High profile with up to 3 B-frames, GOP 15.
  ASSERT_TRUE(run("ffmpeg -nostdin -y -f lavfi -i testsrc2=size=320x240:rate=30 -frames:v 30 -c:v libx264 "
                  "-preset veryfast -bf 3 -g 15 -pix_fmt yuv420p " + clip));
  ASSERT_TRUE(run("ffmpeg -nostdin -y -i " + clip + " -f rawvideo -pix_fmt yuv420p " + ref));
  std::ifstream in(ref, std::ios::binary);
  const std::vector<uint8_t> expected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr size_t kFrameBytes = 320 * 240 * 3 / 2;
  ASSERT_EQ(expected.size(), 30 * kFrameBytes);

  auto pipeline = launch("filesrc location=" + clip + " ! qtdemux ! h264parse ! sredaavh264dec name=dec ! "
                         "appsink name=sink sync=false");
  ASSERT_TRUE(pipeline);
  const Decoded d = decode(pipeline.get(), [] {});
  EXPECT_EQ(d.error, "");
  ASSERT_EQ(d.pictures.size(), 30u);
  for (size_t i = 0; i < d.pictures.size(); ++i) {
    const Picture& p = d.pictures[i];
    EXPECT_EQ(p.width, 320);
    EXPECT_EQ(p.height, 240);
    if (i > 0) {
      EXPECT_GT(p.pts_ns, d.pictures[i - 1].pts_ns) << "frame " << i;
      EXPECT_NEAR(p.pts_ns - d.pictures[i - 1].pts_ns, GST_SECOND / 30, GST_MSECOND) << "frame " << i;
    }
    // Same library, same bitstream: ffmpeg's decode, byte for byte.
    ASSERT_EQ(p.i420.size(), kFrameBytes);
    EXPECT_TRUE(std::equal(p.i420.begin(), p.i420.end(), expected.begin() + static_cast<ptrdiff_t>(i * kFrameBytes)))
        << "frame " << i << " differs from ffmpeg's";
  }
}

TEST_F(AvH264DecTest, NewCodecDataMidStreamReopensTheDecoderAtTheNewSize) {
  // Two publisher sessions (AVC with codec_data, B-frames): 320x240, then a reconnect at 176x144.
  auto encode = [](int w, int h) {
    return run_encoder("videotestsrc num-buffers=20 pattern=ball ! video/x-raw,format=I420,width=" + std::to_string(w) +
                       ",height=" + std::to_string(h) + ",framerate=30/1 ! x264enc bframes=2 key-int-max=10 "
                       "speed-preset=veryfast ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
                       "appsink name=sink sync=false");
  };
  const Encoded first = encode(320, 240), second = encode(176, 144);
  ASSERT_EQ(first.units.size(), 20u);
  ASSERT_EQ(second.units.size(), 20u);
  ASSERT_NE(first.codec_data, second.codec_data);

  auto pipeline = launch("appsrc name=src format=time ! sredaavh264dec ! appsink name=sink sync=false");
  ASSERT_TRUE(pipeline);
  auto src = GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "src"));
  auto push_session = [&](const Encoded& e, int64_t offset_us) {
    auto cd = GstRef<GstBuffer>::adopt(gst_buffer_new_memdup(e.codec_data.data(), e.codec_data.size()));
    auto caps = GstRef<GstCaps>::adopt(gst_caps_new_simple(
        "video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment", G_TYPE_STRING, "au", "codec_data",
        GST_TYPE_BUFFER, cd.get(), "width", G_TYPE_INT, e.width, "height", G_TYPE_INT, e.height, "framerate",
        GST_TYPE_FRACTION, 30, 1, nullptr));
    gst_app_src_set_caps(GST_APP_SRC(src.get()), caps.get());
    for (const auto& u : e.units) {
      GstBuffer* b = gst_buffer_new_memdup(u.data.data(), u.data.size());
      GST_BUFFER_PTS(b) = static_cast<GstClockTime>(u.pts_us + offset_us) * 1000;
      GST_BUFFER_DTS(b) = static_cast<GstClockTime>(u.dts_us + offset_us) * 1000;
      if (!u.keyframe) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
      ASSERT_EQ(gst_app_src_push_buffer(GST_APP_SRC(src.get()), b), GST_FLOW_OK);
    }
  };
  const Decoded d = decode(pipeline.get(), [&] {
    push_session(first, 1'000'000);
    push_session(second, 2'000'000);
    gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  });
  EXPECT_EQ(d.error, "");
  ASSERT_EQ(d.pictures.size(), 40u);  // nothing lost at the switch: the old configuration was drained
  for (size_t i = 0; i < d.pictures.size(); ++i) {
    const Picture& p = d.pictures[i];
    EXPECT_EQ(p.width, i < 20 ? 320 : 176) << "frame " << i;
    EXPECT_EQ(p.height, i < 20 ? 240 : 144) << "frame " << i;
    if (i > 0) {
      EXPECT_GT(p.pts_ns, d.pictures[i - 1].pts_ns) << "frame " << i;
    }
  }
  // videotestsrc's ball pattern: a black background (Y ≈ 16) with a white ball (Y ≈ 235).
  const Picture& last = d.pictures.back();
  const auto luma_end = last.i420.begin() + 176 * 144;
  EXPECT_LE(*std::min_element(last.i420.begin(), luma_end), 20);
  EXPECT_GE(*std::max_element(last.i420.begin(), luma_end), 230);
}

// What OBS sends with Color Format I444, or P010/I010 (x264 High 4:4:4, High 10), and 4:2:2 from a capture
// card: no browser decodes these as H.264, so the ladder re-encodes them from this decoder's 8-bit 4:2:0.
TEST_F(AvH264DecTest, FourFourFourFourTwoTwoAndTenBitComeOutAs8Bit420LikeFfmpegs) {
  for (const char* format : {"yuv444p", "yuv422p", "yuv420p10le", "yuv444p10le"}) {
    SCOPED_TRACE(format);
    const std::string clip = (dir_ / (std::string(format) + ".mp4")).string(), ref = (dir_ / "ref.yuv").string();
    ASSERT_TRUE(run("ffmpeg -nostdin -y -f lavfi -i testsrc2=size=320x240:rate=30 -frames:v 10 -c:v libx264 "
                    "-preset veryfast -bf 2 -pix_fmt " + std::string(format) + " " + clip));
    ASSERT_TRUE(run("ffmpeg -nostdin -y -i " + clip + " -f rawvideo -pix_fmt yuv420p " + ref));
    std::ifstream in(ref, std::ios::binary);
    const std::vector<uint8_t> expected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr size_t kFrameBytes = 320 * 240 * 3 / 2, kLuma = 320 * 240;
    ASSERT_EQ(expected.size(), 10 * kFrameBytes);

    auto pipeline = launch("filesrc location=" + clip + " ! qtdemux ! h264parse ! sredaavh264dec ! "
                           "appsink name=sink sync=false");
    ASSERT_TRUE(pipeline);
    const Decoded d = decode(pipeline.get(), [] {});
    EXPECT_EQ(d.error, "");
    ASSERT_EQ(d.pictures.size(), 10u);
    for (size_t i = 0; i < d.pictures.size(); ++i) {
      const Picture& p = d.pictures[i];
      ASSERT_EQ(p.i420.size(), kFrameBytes);
      // Not byte for byte (libyuv and swscale round differently): the same picture within a level or two.
      double luma = 0, chroma = 0;
      for (size_t k = 0; k < kFrameBytes; ++k) {
        const double diff = std::abs(int{p.i420[k]} - int{expected[i * kFrameBytes + k]});
        (k < kLuma ? luma : chroma) += diff;
      }
      EXPECT_LT(luma / kLuma, 1.5) << "frame " << i;
      EXPECT_LT(chroma / (kFrameBytes - kLuma), 3.0) << "frame " << i;
    }
  }
}

}  // namespace
}  // namespace sreda::gst
