// PlaylistWriter: golden files in tests/unit/golden/package/. Regenerate after an intended change with
// SREDA_UPDATE_GOLDEN=1 and review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "server/package/playlist_writer.h"

namespace sreda::package {
namespace {

void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(SREDA_SOURCE_DIR) + "/tests/unit/golden/package/" + name;
  if (std::getenv("SREDA_UPDATE_GOLDEN")) {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path;
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden file " << path;
}

constexpr int64_t kStartMs = 1795449600000;  // 2026-11-23T16:00:00.000Z

// 12 segments of 2 s, 4 parts of 0.48 s + one of 0.08 s each, starting at `first_msn`; the last one in
// progress with two parts.
MediaPlaylistState live_state(int64_t first_msn, int count) {
  MediaPlaylistState state;
  state.part_target_ms = 500;
  state.target_duration_s = 2;
  for (int i = 0; i < count; ++i) {
    SegmentInfo s;
    s.msn = first_msn + i;
    s.pdt_ms = kStartMs + (first_msn + i) * 2000;
    const bool last = i == count - 1;
    const int parts = last ? 2 : 5;
    for (int p = 0; p < parts; ++p) {
      const double d = p < 4 ? 0.48 : 0.08;
      s.parts.push_back(PartInfo{p, d, p == 0, 1000});
      s.duration_s += d;
    }
    s.complete = !last;
    state.segments.push_back(s);
  }
  state.preload_hint = PartPosition{first_msn + count - 1, 2};
  return state;
}

TEST(PackagePlaylistWriter, LiveMediaPlaylist) {
  expect_golden("live.m3u8", write_media_playlist(live_state(20, 6), {}));
}

TEST(PackagePlaylistWriter, PartsOnlyForLastSegments) {
  const std::string text = write_media_playlist(live_state(20, 6), {});
  EXPECT_EQ(text.find("part22.0.m4s"), std::string::npos);
  EXPECT_NE(text.find("part23.0.m4s\",INDEPENDENT=YES"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part25.2.m4s\""), std::string::npos);
  EXPECT_NE(text.find("PART-HOLD-BACK=1.500"), std::string::npos);
}

TEST(PackagePlaylistWriter, DeltaUpdateSkipsOldSegments) {
  MediaPlaylistOptions options;
  options.skip = true;
  const std::string text = write_media_playlist(live_state(100, 10), options);
  expect_golden("live_skip.m3u8", text);
  // 9 complete segments (18 s) + 2 parts (0.96 s); CAN-SKIP-UNTIL=12: segment 103 starts 12.96 s before
  // the end and is skipped, 104 starts 10.96 s before it and stays.
  EXPECT_NE(text.find("#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"), std::string::npos);
  EXPECT_EQ(text.find("seg103.m4s"), std::string::npos);
  EXPECT_NE(text.find("seg104.m4s"), std::string::npos);
}

TEST(PackagePlaylistWriter, DiscontinuityNewInitAndEndlist) {
  MediaPlaylistState state = live_state(7, 4);
  state.segments.back().complete = true;
  state.segments.back().duration_s = 1.2;
  state.discontinuity_sequence = 1;
  state.segments[2].discontinuity = true;
  state.segments[2].pdt_ms += 30000;
  state.segments[2].init_id = 1;
  state.segments[3].init_id = 1;
  state.segments[3].pdt_ms += 30000;
  state.ended = true;
  const std::string text = write_media_playlist(state, {});
  expect_golden("ended_discontinuity.m3u8", text);
  EXPECT_EQ(text.find("PRELOAD-HINT"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init1.mp4\""), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 15), "#EXT-X-ENDLIST\n");
}

TEST(PackagePlaylistWriter, RenditionReports) {
  MediaPlaylistOptions options;
  options.part_segments = 1;
  options.rendition_reports.push_back(rendition_report(live_state(20, 6), "../480p/index.m3u8"));
  options.rendition_reports.push_back(rendition_report(MediaPlaylistState{}, "../360p/index.m3u8"));
  const std::string text = write_media_playlist(live_state(20, 3), options);
  expect_golden("live_reports.m3u8", text);
  EXPECT_NE(text.find("#EXT-X-RENDITION-REPORT:URI=\"../480p/index.m3u8\",LAST-MSN=25,LAST-PART=1\n"),
            std::string::npos);
}

TEST(PackagePlaylistWriter, EmptyPlaylistHasHeaderAndHint) {
  MediaPlaylistState state;
  state.preload_hint = PartPosition{0, 0};
  expect_golden("empty.m3u8", write_media_playlist(state, {}));
}

TEST(PackagePlaylistWriter, MasterPlaylist) {
  std::vector<VariantInfo> variants;
  variants.push_back(
      VariantInfo{"720p/index.m3u8", 3210000, 2800000, 1280, 720, 30, "avc1.64001f,mp4a.40.2"});
  variants.push_back(
      VariantInfo{"360p/index.m3u8", 900000, 750000, 640, 360, 29.97, "avc1.42c01e,mp4a.40.2"});
  variants.push_back(VariantInfo{"audio/index.m3u8", 140000, 130000, 0, 0, 0, "mp4a.40.2"});
  expect_golden("master.m3u8", write_master_playlist(variants));
}

TEST(PackagePlaylistWriter, Uris) {
  EXPECT_EQ(init_uri(0), "init.mp4");
  EXPECT_EQ(init_uri(2), "init2.mp4");
  EXPECT_EQ(segment_uri(41), "seg41.m4s");
  EXPECT_EQ(part_uri(41, 3), "part41.3.m4s");
}

}  // namespace
}  // namespace sreda::package
