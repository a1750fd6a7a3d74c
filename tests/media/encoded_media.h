// Test helper: runs a GStreamer launch line that ends in `appsink name=sink` (an encoder) to EOS and
// collects its codec configuration and access units, for tests that feed the packager real media.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "pipelines/gst/gst_ref.h"
#include "server/media/access_unit.h"
#include "server/media/facts.h"
#include "server/package/packager_input.h"

namespace sreda::package::test_media {

struct Encoded {
  Bytes codec_data;
  int width = 0, height = 0, fps_num = 0, fps_den = 1, rate = 0, channels = 0;
  struct Unit {
    int64_t pts_us, dts_us;
    bool keyframe;
    Bytes data;
  };
  std::vector<Unit> units;
};

// Runs a launch line ending in `appsink name=sink` to EOS and collects every buffer.
inline Encoded run_encoder(const std::string& launch) {
  Encoded out;
  GError* error = nullptr;
  auto pipeline = gst::GstRef<GstElement>::adopt(gst_parse_launch(launch.c_str(), &error));
  if (error) {
    ADD_FAILURE() << error->message;
    g_clear_error(&error);
    return out;
  }
  auto sink = gst::GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  EXPECT_NE(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  int64_t first_pts = -1;
  while (true) {
    auto sample = gst::GstRef<GstSample>::adopt(gst_app_sink_pull_sample(GST_APP_SINK(sink.get())));
    if (!sample) break;
    if (out.codec_data.empty()) {
      const GstStructure* s = gst_caps_get_structure(gst_sample_get_caps(sample.get()), 0);
      const GValue* cd = gst_structure_get_value(s, "codec_data");
      if (cd) {
        GstBuffer* buf = gst_value_get_buffer(cd);
        GstMapInfo map;
        gst_buffer_map(buf, &map, GST_MAP_READ);
        out.codec_data.assign(map.data, map.data + map.size);
        gst_buffer_unmap(buf, &map);
      }
      gst_structure_get_int(s, "width", &out.width);
      gst_structure_get_int(s, "height", &out.height);
      gst_structure_get_fraction(s, "framerate", &out.fps_num, &out.fps_den);
      gst_structure_get_int(s, "rate", &out.rate);
      gst_structure_get_int(s, "channels", &out.channels);
    }
    GstBuffer* buf = gst_sample_get_buffer(sample.get());
    const int64_t pts = static_cast<int64_t>(GST_BUFFER_PTS(buf));
    const int64_t dts = GST_BUFFER_DTS_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_DTS(buf)) : pts;
    if (first_pts < 0) first_pts = pts;
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_READ);
    // Like GStreamer running time: both streams start at 0 (video DTS may be slightly negative).
    out.units.push_back({(pts - first_pts) / 1000, (dts - first_pts) / 1000,
                         !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT),
                         Bytes(map.data, map.data + map.size)});
    gst_buffer_unmap(buf, &map);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return out;
}

// The facts a publisher session reports for these encoded inputs (H.264, and AAC when `a` is given).
inline media::MediaFacts facts_of(const Encoded& v, const Encoded* a) {
  media::MediaFacts f;
  f.has_video = true;
  f.video_codec = "h264";
  f.width = v.width;
  f.height = v.height;
  f.fps_num = v.fps_num;
  f.fps_den = v.fps_den;
  f.video_codec_data = v.codec_data;
  if (a) {
    f.has_audio = true;
    f.audio_codec = "aac";
    f.audio_rate = a->rate;
    f.audio_channels = a->channels;
    f.audio_codec_data = a->codec_data;
  }
  return f;
}

// Both tracks interleaved by decode time, as a source delivers them, moved `shift_us` later (so B-frames'
// decode times stay positive).
inline std::vector<media::AccessUnit> interleaved(const Encoded& v, const Encoded* a, int64_t shift_us) {
  std::vector<media::AccessUnit> out;
  size_t i = 0, j = 0;
  const size_t na = a ? a->units.size() : 0;
  while (i < v.units.size() || j < na) {
    const bool video = j >= na || (i < v.units.size() && v.units[i].dts_us <= a->units[j].dts_us);
    const auto& u = video ? v.units[i++] : a->units[j++];
    media::AccessUnit au;
    au.track = video ? media::TrackKind::video : media::TrackKind::audio;
    au.pts_us = u.pts_us + shift_us;
    au.dts_us = u.dts_us + shift_us;
    au.keyframe = u.keyframe;
    au.data = u.data;
    out.push_back(std::move(au));
  }
  return out;
}

// Fixture base for tests that feed the packager real media: GStreamer initialised, a temp folder dir_
// (kept, and named on stderr, when the test fails), and configure() from two encoded inputs.
class PackagerMediaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
  void make_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    if (HasFailure()) {
      std::fprintf(stderr, "output kept in %s\n", dir_.c_str());
    } else {
      std::filesystem::remove_all(dir_);
    }
  }
  static void configure(PackagerInput& p, const Encoded& v, const Encoded& a) {
    ASSERT_TRUE(p.configure_video(VideoConfig{v.codec_data, v.width, v.height, v.fps_num, v.fps_den}).ok());
    ASSERT_TRUE(p.configure_audio(AudioConfig{a.codec_data, a.rate, a.channels}).ok());
  }
  std::filesystem::path dir_;
};

}  // namespace sreda::package::test_media
