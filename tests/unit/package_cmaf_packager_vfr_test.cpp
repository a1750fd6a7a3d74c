// CmafPackager with a variable frame rate (a browser's WHIP publish: capture times, no rate in its SPS): parts
// are cut by duration and every part keeps RFC 8216bis 4.4.4.9 — no part longer than PART-TARGET, and every part
// but an INDEPENDENT one and a segment's last at least 85 % of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "server/package/cmaf_packager.h"

namespace sreda::package {
namespace {

using media::AccessUnit;
using media::TrackKind;

// A browser's SPS: no frame rate.
VideoConfig vfr_config() {
  return VideoConfig{
      {0x01, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0x00, 0x02, 0x67, 0x42, 0x01, 0x00, 0x02, 0x68, 0xce}, 640, 360, 0, 1};
}

// The live settings: 0.21 s parts, 2 s segments; video only (the audio does not cut parts).
std::unique_ptr<CmafPackager> make_vfr() {
  PackagerOptions options;
  options.audio = false;
  options.part_target_ms = 210;  // live.part_target_ms
  options.segment_target_ms = 2000;
  options.window_segments = 40;  // every segment and its parts stay listed, to be checked
  options.part_segments = 40;
  auto p = std::make_unique<CmafPackager>(options, nullptr, CmafPackager::UpdateCallback{});
  EXPECT_TRUE(p->configure_video(vfr_config()).ok());
  return p;
}

// Pushes frames with these durations (ms), a keyframe at least every `keyframe_ms` (as sreda asks a WHIP
// publisher for one every second), then one more frame so the last duration is known.
void push_durations(CmafPackager& p, const std::vector<int>& durations_ms, int keyframe_ms = 1000) {
  const Bytes data(800, 0x11);
  int64_t t = 0, last_key = -keyframe_ms * 1000LL;
  for (size_t i = 0; i <= durations_ms.size(); ++i) {
    const bool key = t - last_key >= keyframe_ms * 1000LL;
    if (key) last_key = t;
    p.push(AccessUnit{TrackKind::video, t, t, key, data});
    if (i < durations_ms.size()) t += durations_ms[i] * 1000LL;
  }
}

// A pseudo-random frame duration around `mean_ms`, ± `jitter_ms` (the same every run).
std::vector<int> jittered(int frames, int mean_ms, int jitter_ms) {
  std::vector<int> out;
  uint32_t x = 12345;
  for (int i = 0; i < frames; ++i) {
    x = x * 1103515245u + 12345u;
    out.push_back(mean_ms - jitter_ms + static_cast<int>((x >> 16) % (2 * jitter_ms + 1)));
  }
  return out;
}

struct PartCheck {
  int parts = 0;
  int over_target = 0;  // longer than PART-TARGET
  int short_inner = 0;  // under 85 % of it and neither INDEPENDENT nor its segment's last
  int avoidable = 0;    // of those, ones whose next frame would have fit: a cut the packager need not make
};

// Every part of the complete segments, against PART-TARGET as the playlist prints it. RFC 8216bis 4.4.4.9: no
// part longer than PART-TARGET; every part but an INDEPENDENT one and a segment's last at least 85 % of it. With
// frames longer than 15 % of PART-TARGET no cut may exist that keeps both: a short part is then allowed only
// where the next frame would have made it overrun (the frames are `durations_ms`, from the first one).
PartCheck check_parts(const MediaPlaylistState& state, const std::vector<int>& durations_ms) {
  PartCheck c;
  std::vector<int64_t> starts{0};  // each frame's start, ms
  for (int d : durations_ms) starts.push_back(starts.back() + d);
  double at = 0;  // the parts' running end, ms
  for (const auto& s : state.segments) {
    if (!s.complete) break;
    for (size_t j = 0; j < s.parts.size(); ++j) {
      const double ms = s.parts[j].duration_s * 1000;
      at += ms;
      ++c.parts;
      if (ms > state.part_target_ms + 1e-6) {
        ++c.over_target;
        ADD_FAILURE() << "segment " << s.msn << " part " << j << ": " << ms << " ms > PART-TARGET " << state.part_target_ms;
      }
      const bool exempt = s.parts[j].independent || j + 1 == s.parts.size();
      if (exempt || ms >= 0.85 * state.part_target_ms - 1e-6) continue;
      ++c.short_inner;
      const auto next = std::lower_bound(starts.begin(), starts.end(), static_cast<int64_t>(std::llround(at)));
      const size_t k = static_cast<size_t>(next - starts.begin());
      if (k < durations_ms.size() && ms + durations_ms[k] <= state.part_target_ms) {
        ++c.avoidable;
        ADD_FAILURE() << "segment " << s.msn << " part " << j << ": " << ms << " ms (PART-TARGET " << state.part_target_ms
                      << ") closed before a " << durations_ms[k] << " ms frame that fit";
      }
    }
  }
  return c;
}

// These frames packaged (a keyframe every second), their parts checked.
PartCheck packaged(const std::vector<int>& durations_ms) {
  auto p = make_vfr();
  push_durations(*p, durations_ms);
  return check_parts(p->playlist_state(), durations_ms);
}

// Capture times at 25 fps jittered by up to ±3 ms: every part keeps both rules.
TEST(PackageCmafPackagerVfr, SlightlyJitteredFramesKeepBothRules) {
  for (int jitter : {3}) {
    auto p = make_vfr();
    const auto d = jittered(600, 40, jitter);  // 24 s
    push_durations(*p, d);
    const auto state = p->playlist_state();
    ASSERT_GE(state.segments.size(), 10u) << jitter;
    EXPECT_LE(state.part_target_ms, 210);
    EXPECT_GE(state.part_target_ms, 150) << "PART-TARGET stays near the configured 0.21 s";
    const PartCheck c = check_parts(state, d);
    EXPECT_GE(c.parts, 80) << jitter;
    EXPECT_EQ(c.short_inner, 0) << "jitter ±" << jitter << " ms, PART-TARGET " << state.part_target_ms;
  }
}

// More jitter (a loaded machine): never over PART-TARGET, never a short part that a later cut would have
// avoided, and few short parts at all.
TEST(PackageCmafPackagerVfr, JitteredFramesNeverOverrunAndCutShortOnlyWhenTheyMust) {
  for (int jitter : {4, 6, 10}) {
    auto p = make_vfr();
    const auto d = jittered(600, 40, jitter);
    push_durations(*p, d);
    const auto state = p->playlist_state();
    const PartCheck c = check_parts(state, d);
    EXPECT_GE(c.parts, 80) << jitter;
    EXPECT_EQ(c.avoidable, 0) << jitter;
    EXPECT_LE(c.short_inner * 4, c.parts) << "jitter ±" << jitter << ": " << c.short_inner << " short of " << c.parts;
    std::printf("jitter ±%d ms: %d of %d parts short (none avoidable), PART-TARGET %d ms\n", jitter, c.short_inner,
                c.parts, state.part_target_ms);
  }
}

// A capture that stalls and catches up: a burst of frames a few ms apart, now and then.
TEST(PackageCmafPackagerVfr, ABurstOfFramesNeverMakesAPartOverrunOrAnAvoidableShortPart) {
  std::vector<int> d;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 17; ++i) d.push_back(40 + (i % 3) - 1);
    for (int i = 0; i < 6; ++i) d.push_back(4);  // six frames in 24 ms
  }
  const PartCheck c = packaged(d);
  EXPECT_GE(c.parts, 40);
  EXPECT_EQ(c.avoidable, 0);
  EXPECT_LE(c.short_inner, 20) << "at most one short part per burst";
}

// A frame missing now and then (one picture shown 120 ms): the part stays within PART-TARGET.
TEST(PackageCmafPackagerVfr, AGapNeverMakesAPartOverrunAndCostsAtMostOneShortPart) {
  std::vector<int> d;
  int gaps = 0;
  for (int round = 0; round < 30; ++round) {
    for (int i = 0; i < 13 + round % 5; ++i) d.push_back(40 + (i % 3) - 1);
    d.push_back(120);
    ++gaps;
  }
  const PartCheck c = packaged(d);
  EXPECT_GE(c.parts, 60);
  EXPECT_EQ(c.over_target, 0);
  EXPECT_EQ(c.avoidable, 0);
  EXPECT_LE(c.short_inner, gaps);
}

// A keyframe inside a segment (sreda asks every second) starts an INDEPENDENT part only when the open part is
// long enough to end there (85 % of PART-TARGET, by duration).
TEST(PackageCmafPackagerVfr, AKeyframeInsideASegmentKeepsTheRules) {
  auto p = make_vfr();
  const auto d = jittered(600, 40, 3);
  push_durations(*p, d, 700);
  const auto state = p->playlist_state();
  const PartCheck c = check_parts(state, d);
  EXPECT_GE(c.parts, 80);
  EXPECT_EQ(c.short_inner, 0);
  int inner_independent = 0;
  for (const auto& s : state.segments)
    for (size_t j = 1; j < s.parts.size(); ++j) inner_independent += s.parts[j].independent;
  EXPECT_GT(inner_independent, 0) << "some mid-segment keyframes start a part";
}

}  // namespace
}  // namespace sreda::package
