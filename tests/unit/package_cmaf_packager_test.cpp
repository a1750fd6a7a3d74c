// CmafPackager with synthetic access units: cutting, window, sink, discontinuity, threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "server/package/cmaf_packager.h"

namespace sreda::package {
namespace {

using media::AccessUnit;
using media::TrackKind;

uint32_t be32(const Bytes& b, size_t at) {
  return (uint32_t{b.at(at)} << 24) | (uint32_t{b.at(at + 1)} << 16) | (uint32_t{b.at(at + 2)} << 8) |
         b.at(at + 3);
}

// Top-level boxes of a byte string: (type, size).
std::vector<std::pair<std::string, uint32_t>> top_boxes(const Bytes& b) {
  std::vector<std::pair<std::string, uint32_t>> out;
  for (size_t at = 0; at + 8 <= b.size();) {
    const uint32_t size = be32(b, at);
    if (size < 8 || at + size > b.size()) {
      ADD_FAILURE() << "bad box size at " << at;
      break;
    }
    out.emplace_back(std::string(reinterpret_cast<const char*>(&b[at + 4]), 4), size);
    at += size;
  }
  return out;
}

// The base decode time of the first traf of track `id` in a fragment (searching for "tfdt").
uint64_t first_tfdt(const Bytes& b) {
  for (size_t i = 4; i + 16 <= b.size(); ++i) {
    if (b[i] == 't' && b[i + 1] == 'f' && b[i + 2] == 'd' && b[i + 3] == 't') {
      return (uint64_t{be32(b, i + 8)} << 32) | be32(b, i + 12);
    }
  }
  ADD_FAILURE() << "no tfdt";
  return 0;
}

VideoConfig video_config() {
  return VideoConfig{
      {0x01, 0x4d, 0x40, 0x1e, 0xff, 0xe1, 0x00, 0x02, 0x67, 0x4d, 0x01, 0x00, 0x02, 0x68, 0xee},
      640,
      360,
      25,
      1};
}
AudioConfig audio_config() {
  return AudioConfig{{0x11, 0x90}, 48000, 2};
}

// Feeds `seconds` of 25 fps video (a keyframe every `gop` frames, 1000-byte frames) and 48 kHz AAC
// frames (200 bytes), interleaved by time, timestamps starting at `start_us`.
void feed(CmafPackager& p, double seconds, int gop = 50, int64_t start_us = 0, bool audio = true) {
  const Bytes vdata(1000, 0x11), adata(200, 0x22);
  const int frames = static_cast<int>(seconds * 25);
  const int aframes = static_cast<int>(seconds * 48000 / 1024);
  int v = 0, a = 0;
  while (v < frames || (audio && a < aframes)) {
    const int64_t vt = start_us + int64_t{v} * 40000;
    const int64_t at = start_us + int64_t{a} * 1024 * 1'000'000 / 48000;
    if (v < frames && (!audio || a >= aframes || vt <= at)) {
      p.push(AccessUnit{TrackKind::video, vt, vt, v % gop == 0, vdata});
      ++v;
    } else {
      p.push(AccessUnit{TrackKind::audio, at, at, true, adata});
      ++a;
    }
  }
}

std::unique_ptr<CmafPackager> make(PackagerOptions options = {}, PackagerSink* sink = nullptr,
                                   CmafPackager::UpdateCallback cb = {}) {
  auto p = std::make_unique<CmafPackager>(options, sink, std::move(cb));
  if (options.video) {
    EXPECT_TRUE(p->configure_video(video_config()).ok());
  }
  if (options.audio) {
    EXPECT_TRUE(p->configure_audio(audio_config()).ok());
  }
  return p;
}

TEST(PackageCmafPackager, CutsPartsAndSegmentsOnKeyframes) {
  auto p = make();
  p->begin_run(1'000'000);
  feed(*p, 10.0);
  const auto state = p->playlist_state();
  ASSERT_GE(state.segments.size(), 4u);
  EXPECT_EQ(state.segments.front().msn, 0);
  EXPECT_EQ(state.target_duration_s, 2);
  for (size_t i = 0; i + 1 < state.segments.size(); ++i) {
    const auto& s = state.segments[i];
    EXPECT_TRUE(s.complete);
    EXPECT_NEAR(s.duration_s, 2.0, 1e-9);
    EXPECT_EQ(s.pdt_ms, 1'000'000 + 2000 * s.msn);
    ASSERT_FALSE(s.parts.empty());
    EXPECT_TRUE(s.parts.front().independent);
    double sum = 0;
    // 25 fps, 2 s segments: 5 equal parts of 10 frames (no 2-frame sliver at the end), PART-TARGET 0.41 s.
    EXPECT_EQ(state.part_target_ms, 410);
    EXPECT_EQ(s.parts.size(), 5u);
    for (size_t j = 0; j < s.parts.size(); ++j) {
      EXPECT_NEAR(s.parts[j].duration_s, 0.4, 1e-9);
      EXPECT_LE(s.parts[j].duration_s * 1000, state.part_target_ms);
      EXPECT_GE(s.parts[j].duration_s * 1000, 0.85 * state.part_target_ms);  // RFC 8216bis 4.4.4.9
      if (j > 0) {
        EXPECT_FALSE(s.parts[j].independent);
      }
      sum += s.parts[j].duration_s;
    }
    EXPECT_NEAR(sum, s.duration_s, 1e-9);
    // The segment is its parts, back to back, each a moof+mdat pair.
    Bytes joined;
    for (const auto& part : s.parts) {
      const BytesPtr bytes = p->part(s.msn, part.index);
      ASSERT_TRUE(bytes);
      const auto boxes = top_boxes(*bytes);
      ASSERT_EQ(boxes.size(), 2u);
      EXPECT_EQ(boxes[0].first, "moof");
      EXPECT_EQ(boxes[1].first, "mdat");
      joined.insert(joined.end(), bytes->begin(), bytes->end());
    }
    ASSERT_TRUE(p->segment(s.msn));
    EXPECT_EQ(*p->segment(s.msn), joined);
    EXPECT_EQ(s.bytes, static_cast<int64_t>(joined.size()));
  }
  EXPECT_FALSE(state.segments.back().complete);  // in progress
  ASSERT_TRUE(state.preload_hint);
  EXPECT_EQ(state.preload_hint->msn, state.segments.back().msn);
  EXPECT_EQ(state.preload_hint->part, static_cast<int>(state.segments.back().parts.size()));
  EXPECT_TRUE(p->init_segment(0));
  EXPECT_FALSE(p->init_segment(1));
  EXPECT_EQ(p->variant_info().codecs, "avc1.4d401e,mp4a.40.2");
}

TEST(PackageCmafPackager, LongGopMakesLongerSegmentsAndTargetDuration) {
  auto p = make();
  feed(*p, 13.0, 100);  // a keyframe every 4 s
  p->end_of_stream();
  const auto state = p->playlist_state();
  ASSERT_EQ(state.segments.size(), 4u);
  EXPECT_NEAR(state.segments[0].duration_s, 4.0, 1e-9);
  EXPECT_NEAR(state.segments[1].duration_s, 4.0, 1e-9);
  EXPECT_EQ(state.target_duration_s, 4);
  EXPECT_TRUE(state.ended);
  EXPECT_FALSE(state.preload_hint);
  EXPECT_NEAR(state.segments.back().duration_s, 1.0, 1e-9);
}

// A keyframe inside a segment starts an independent part only when the open part may end there: every part but a
// segment's last (or an independent one) is at least 85 % of PART-TARGET (RFC 8216bis 4.4.4.9).
TEST(PackageCmafPackager, KeyframeInsideASegmentStartsAnIndependentPartOnlyAtAFullEnoughPart) {
  // Keyframes every 29 frames, 2 s segments, parts of 10 frames: the one at frame 29 finds 9 frames open.
  auto p = make();
  feed(*p, 6.0, 29);
  const auto state = p->playlist_state();
  ASSERT_GE(state.segments.size(), 2u);
  const auto& s = state.segments[0];
  EXPECT_NEAR(s.duration_s, 58 * 0.04, 1e-9);  // cut at the first keyframe at 90 % of the target
  ASSERT_EQ(s.parts.size(), 6u);                // 10 10 9 | 10 10 9 frames
  for (size_t j = 0; j < s.parts.size(); ++j) EXPECT_EQ(s.parts[j].independent, j == 0 || j == 3) << j;
  EXPECT_NEAR(s.parts[2].duration_s, 9 * 0.04, 1e-9);
  EXPECT_NEAR(s.parts[3].duration_s, 0.4, 1e-9);

  // Keyframes every 25 frames: half a part open is not enough (the part would be 50 % of PART-TARGET); the
  // keyframe stays inside its part.
  auto q = make();
  feed(*q, 6.0, 25);
  const auto state_q = q->playlist_state();
  ASSERT_GE(state_q.segments.size(), 1u);
  const auto& t = state_q.segments[0];
  EXPECT_NEAR(t.duration_s, 2.0, 1e-9);
  ASSERT_EQ(t.parts.size(), 5u);
  for (size_t j = 0; j < t.parts.size(); ++j) EXPECT_EQ(t.parts[j].independent, j == 0) << j;
}

TEST(PackageCmafPackager, DropsVideoUntilFirstKeyframe) {
  auto p = make(PackagerOptions{.audio = false});
  const Bytes data(100, 1);
  for (int i = 0; i < 5; ++i) p->push(AccessUnit{TrackKind::video, i * 40000, i * 40000, false, data});
  EXPECT_EQ(p->stats().dropped_samples, 5);
  feed(*p, 3.0, 50, 200000, false);
  p->end_of_stream();
  const auto state = p->playlist_state();
  ASSERT_EQ(state.segments.size(), 2u);
  EXPECT_TRUE(state.segments[0].parts[0].independent);
}

TEST(PackageCmafPackager, WindowIsBounded) {
  PackagerOptions options;
  options.window_segments = 5;
  auto p = make(options);
  feed(*p, 30.0);
  const auto state = p->playlist_state();
  int complete = 0;
  for (const auto& s : state.segments) complete += s.complete;
  EXPECT_EQ(complete, 5);
  EXPECT_EQ(state.segments.front().msn, 14 - 5 + 0);  // 14 complete so far (0..13): keep 9..13
  EXPECT_FALSE(p->segment(8));
  EXPECT_TRUE(p->segment(9));
  // Parts are kept only for the last segments (part_segments + 1).
  EXPECT_FALSE(p->part(9, 0));
  EXPECT_TRUE(p->part(11, 0));
  EXPECT_TRUE(state.segments.front().parts.empty());
}

TEST(PackageCmafPackager, BandwidthFromSegments) {
  auto p = make();
  EXPECT_EQ(p->variant_info().bandwidth, PackagerOptions{}.nominal_bandwidth);
  feed(*p, 9.0);
  const VariantInfo v = p->variant_info();
  // ~1000 B × 25/s video + 200 B × 46.9/s audio + box overhead ≈ 275 kbit/s.
  EXPECT_GT(v.average_bandwidth, 270'000);
  EXPECT_LT(v.average_bandwidth, 300'000);
  EXPECT_GE(v.bandwidth, v.average_bandwidth);
  EXPECT_EQ(v.width, 640);
  EXPECT_EQ(v.height, 360);
  EXPECT_DOUBLE_EQ(v.frame_rate, 25.0);
  EXPECT_EQ(v.uri, "source/index.m3u8");
}

// An encoder that writes no frame rate (openh264: no VUI timing; FLV metadata without one): FRAME-RATE is
// what the timestamps show, as a usual rate (30 fps in whole milliseconds: 33 and 34 ms frames).
TEST(PackageCmafPackager, FrameRateFromTimestampsWhenTheStreamHasNone) {
  PackagerOptions options;
  options.audio = false;
  auto p = std::make_unique<CmafPackager>(options, nullptr, CmafPackager::UpdateCallback{});
  VideoConfig config = video_config();
  config.fps_num = 0;
  config.fps_den = 1;
  ASSERT_TRUE(p->configure_video(config).ok());
  EXPECT_EQ(p->variant_info().frame_rate, 0.0);  // nothing measured yet: no FRAME-RATE rather than a guess
  const Bytes data(500, 0x11);
  for (int i = 0; i < 90; ++i) {
    const int64_t t = int64_t{i} * 1000 / 30 * 1000;  // whole milliseconds
    p->push(AccessUnit{TrackKind::video, t, t, i % 60 == 0, data});
  }
  EXPECT_DOUBLE_EQ(p->variant_info().frame_rate, 30.0);
  // A declared rate that is a time base (ffmpeg's variable-rate output: 1000 fps) gives way to the measured one.
  auto q = std::make_unique<CmafPackager>(options, nullptr, CmafPackager::UpdateCallback{});
  config.fps_num = 1000;
  ASSERT_TRUE(q->configure_video(config).ok());
  for (int i = 0; i < 90; ++i) {
    const int64_t t = int64_t{i} * 1000 / 30 * 1000;
    q->push(AccessUnit{TrackKind::video, t, t, i % 60 == 0, data});
  }
  EXPECT_DOUBLE_EQ(q->variant_info().frame_rate, 30.0);
}

// GStreamer's x264enc with B-frames through flvmux repeats a millisecond DTS now and then: the frame is kept
// (one tick later), not dropped — a dropped reference frame breaks decoding until the next keyframe.
TEST(PackageCmafPackager, ARepeatedVideoDecodeTimeIsMovedNotDropped) {
  PackagerOptions options;
  options.audio = false;
  auto p = std::make_unique<CmafPackager>(options, nullptr, CmafPackager::UpdateCallback{});
  ASSERT_TRUE(p->configure_video(video_config()).ok());
  const Bytes data(500, 0x11);
  for (int i = 0; i < 100; ++i) {
    int64_t dts = int64_t{i} * 40'000;
    if (i == 30) dts -= 40'000;  // the same DTS as the frame before
    p->push(AccessUnit{TrackKind::video, int64_t{i} * 40'000 + 80'000, dts, i % 50 == 0, data});  // pts, dts
  }
  EXPECT_EQ(p->stats().dropped_samples, 0);
  EXPECT_EQ(p->stats().nudged_samples, 1);
}

TEST(PackageCmafPackager, AudioOnlyRendition) {
  PackagerOptions options;
  options.rendition = "audio";
  options.video = false;
  auto p = make(options);
  EXPECT_FALSE(p->configure_video(video_config()).ok());
  feed(*p, 0.0);  // nothing
  const Bytes adata(200, 1);
  for (int a = 0; a < 500; ++a) {
    const int64_t t = int64_t{a} * 1024 * 1'000'000 / 48000;
    p->push(AccessUnit{TrackKind::audio, t, t, true, adata});
  }
  const auto state = p->playlist_state();
  ASSERT_GE(state.segments.size(), 4u);
  EXPECT_NEAR(state.segments[0].duration_s, 2.0, 0.011);
  for (const auto& part : state.segments[0].parts) {
    EXPECT_LE(part.duration_s, 0.5);
    EXPECT_TRUE(part.independent);
  }
  EXPECT_EQ(p->variant_info().codecs, "mp4a.40.2");
  EXPECT_EQ(p->variant_info().width, 0);
}

struct RecordingSink : PackagerSink {
  std::vector<std::string> calls;
  void on_init(std::string_view r, int id, const BytesPtr& b) override {
    calls.push_back(std::string(r) + " init " + std::to_string(id) + (b && !b->empty() ? "" : " EMPTY"));
  }
  void on_part(std::string_view, int64_t msn, int index, const BytesPtr&) override {
    calls.push_back("part " + std::to_string(msn) + "." + std::to_string(index));
  }
  void on_segment(std::string_view, const SegmentInfo& info, const SegmentParts& parts) override {
    calls.push_back("segment " + std::to_string(info.msn) +
                    (static_cast<int64_t>(total_size(parts)) == info.bytes ? "" : " SIZE"));
  }
  void on_end(std::string_view) override { calls.push_back("end"); }
};

TEST(PackageCmafPackager, SinkAndUpdateCallbackSeeEveryPiece) {
  RecordingSink sink;
  std::vector<ReloadState> updates;
  auto p =
      make(PackagerOptions{.rendition = "720p"}, &sink, [&](const ReloadState& s) { updates.push_back(s); });
  feed(*p, 4.5);
  p->end_of_stream();
  // init, 5 parts per 2 s segment, 3 segments (the last one 12 frames = 0.48 s: parts of 10 + 2 frames), end.
  std::vector<std::string> expected = {"720p init 0"};
  for (int s = 0; s < 3; ++s) {
    const int parts = s < 2 ? 5 : 2;
    for (int i = 0; i < parts; ++i) expected.push_back("part " + std::to_string(s) + "." + std::to_string(i));
    expected.push_back("segment " + std::to_string(s));
  }
  expected.push_back("end");
  EXPECT_EQ(sink.calls, expected);
  ASSERT_FALSE(updates.empty());
  EXPECT_TRUE(updates.back().ended);
  // Every update moved forward.
  for (size_t i = 1; i < updates.size(); ++i) {
    EXPECT_GE(updates[i].last_part.value_or(PartPosition{-1, 0}),
              updates[i - 1].last_part.value_or(PartPosition{-1, 0}));
  }
  // The first update is part 0.0, so a request held for it is answered by that callback.
  ASSERT_TRUE(updates.front().last_part);
  EXPECT_EQ(*updates.front().last_part, (PartPosition{0, 0}));
}

TEST(PackageCmafPackager, DiscontinuityKeepsOutputIncreasing) {
  auto p = make();
  p->begin_run(5'000'000);
  feed(*p, 4.0);
  const int64_t wall2 = 5'000'000 + 60'000;
  p->begin_run(wall2);  // reconnect: timestamps restart at 0
  feed(*p, 4.0);
  p->end_of_stream();
  const auto state = p->playlist_state();
  ASSERT_EQ(state.segments.size(), 4u);
  EXPECT_FALSE(state.segments[1].discontinuity);
  EXPECT_TRUE(state.segments[2].discontinuity);
  EXPECT_EQ(state.segments[2].pdt_ms, wall2);
  EXPECT_EQ(state.segments[3].pdt_ms, wall2 + 2000);
  uint64_t previous = 0;
  for (const auto& s : state.segments) {
    const uint64_t tfdt = first_tfdt(*p->segment(s.msn));
    EXPECT_GT(tfdt, previous) << s.msn;
    previous = tfdt;
  }
  // Output continues just after the first run (its end + the 0.2 s run gap), in 90 kHz units.
  EXPECT_GE(first_tfdt(*p->segment(2)), first_tfdt(*p->segment(1)) + 2 * 90000);
  EXPECT_LE(first_tfdt(*p->segment(2)), first_tfdt(*p->segment(1)) + 2 * 90000 + 30000);
  const std::string text = write_media_playlist(state, {});
  EXPECT_NE(text.find("#EXT-X-DISCONTINUITY\n"), std::string::npos);
}

TEST(PackageCmafPackager, AResumedEventNumbersOnAfterADiscontinuity) {
  // After a restart (package::ResumePoint): segments 41…, a discontinuity on the first, 3 before it; and until
  // a segment completes, blocking reloads may ask for what players saw before (up to 40 + 2).
  PackagerOptions o;
  o.first_msn = 41;
  o.first_discontinuity_sequence = 3;
  o.resumed = true;
  auto p = make(o);
  EXPECT_EQ(p->reload_state().last_complete_msn, 40);
  EXPECT_FALSE(p->reload_state().last_part);
  p->begin_run(5'000'000);
  feed(*p, 4.0);
  const auto state = p->playlist_state();
  ASSERT_GE(state.segments.size(), 2u);
  EXPECT_EQ(state.segments[0].msn, 41);
  EXPECT_TRUE(state.segments[0].discontinuity);
  EXPECT_FALSE(state.segments[1].discontinuity);
  EXPECT_EQ(state.discontinuity_sequence, 3);
  const std::string text = write_media_playlist(state, {});
  EXPECT_NE(text.find("#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("#EXT-X-DISCONTINUITY\n"), std::string::npos);
}

TEST(PackageCmafPackager, AResumedEventListsTheEarlierRunsLastSegmentsFirst) {
  // A player behind at the restart (its last segment 38) needs 39 and 40 in the playlist: hls.js 1.7 looks for
  // the next SN or the same discontinuity and otherwise waits forever. They come from the recording, with its
  // init; then the discontinuity and the new run, numbered on. Their URIs stay seg<msn>.m4s (hls.js rejects a
  // reload whose segment URIs changed: "media sequence mismatch"); the live route serves them from the recording.
  PackagerOptions o;
  o.first_msn = 41;
  o.first_discontinuity_sequence = 3;
  o.resumed = true;
  for (int64_t msn : {39, 40}) {
    SegmentInfo earlier;
    earlier.msn = msn;
    earlier.duration_s = 2.0;
    earlier.pdt_ms = 1'000'000 + msn * 2000;
    earlier.complete = true;
    earlier.earlier_file = "/archive/7/source/seg" + std::to_string(msn) + ".m4s";
    earlier.earlier_map = "../../../archive/7/source/init.mp4";
    o.earlier.push_back(earlier);
  }
  auto p = make(o);
  EXPECT_EQ(p->reload_state().last_complete_msn, 40);
  EXPECT_FALSE(p->segment(39));  // not ours: the playlist points at the recording
  p->begin_run(5'000'000);
  feed(*p, 4.0);
  const auto state = p->playlist_state();
  ASSERT_GE(state.segments.size(), 3u);
  EXPECT_EQ(state.segments[0].msn, 39);
  EXPECT_EQ(state.segments[2].msn, 41);
  EXPECT_TRUE(state.segments[2].discontinuity);
  EXPECT_EQ(state.discontinuity_sequence, 3);
  const std::string text = write_media_playlist(state, {});
  const std::string earlier =
      "#EXT-X-MEDIA-SEQUENCE:39\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MAP:URI=\"../../../archive/7/source/init.mp4\"\n";
  EXPECT_NE(text.find(earlier), std::string::npos) << text;
  EXPECT_NE(text.find("#EXTINF:2.00000,\nseg39.m4s\n"), std::string::npos) << text;  // the URI players saw before
  const auto seg40 = text.find("\nseg40.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init.mp4\"\n");
  EXPECT_NE(seg40, std::string::npos) << text;
  EXPECT_EQ(text.find("#EXT-X-PART:DURATION=", 0), text.find("#EXT-X-PART:DURATION=", seg40)) << "no parts before 41";
  // They leave the window like any segment: the discontinuity before 41 is then counted.
  o.window_segments = 2;
  auto q = make(o);
  q->begin_run(5'000'000);
  feed(*q, 6.5);
  const auto later = q->playlist_state();
  ASSERT_FALSE(later.segments.empty());
  EXPECT_GE(later.segments.front().msn, 41);
  EXPECT_TRUE(later.segments.front().earlier_file.empty());
}

TEST(PackageCmafPackager, CodecChangeStartsNewInit) {
  auto p = make();
  feed(*p, 2.5);
  VideoConfig bigger = video_config();
  bigger.width = 1280;
  bigger.height = 720;
  ASSERT_TRUE(p->configure_video(bigger).ok());
  feed(*p, 2.5, 50, 10'000'000);
  p->end_of_stream();
  const auto state = p->playlist_state();
  ASSERT_GE(state.segments.size(), 3u);
  EXPECT_EQ(state.segments.front().init_id, 0);
  EXPECT_EQ(state.segments.back().init_id, 1);
  EXPECT_TRUE(p->init_segment(1));
  EXPECT_EQ(p->variant_info().width, 1280);
}

TEST(PackageCmafPackager, RejectsBadConfig) {
  CmafPackager p(PackagerOptions{}, nullptr);
  EXPECT_FALSE(p.configure_video(VideoConfig{{0x00}, 640, 360, 25, 1}).ok());
  EXPECT_FALSE(p.configure_audio(AudioConfig{{0x11, 0x90}, 0, 2}).ok());
  // Without both configs nothing is packaged.
  p.push(AccessUnit{TrackKind::video, 0, 0, true, {}});
  EXPECT_EQ(p.stats().dropped_samples, 1);
}

// A studio's B-frames (OBS's default: decode order I P B B, pts = dts + 2 frames for the I frame) beside a
// ladder rung without B-frames, both fed from the event's clock: every segment and part starts at the same
// decode time (tfdt), holds the same audio samples and has the same PROGRAM-DATE-TIME, so a player switching
// between them meets no hole (hls.js froze on the 80 ms difference).
TEST(PackageCmafPackager, BFrameSourceLinesUpWithRungWithoutBFrames) {
  PackagerOptions options;
  options.shared_clock = true;
  auto source = make(options);
  auto rung = make(options);
  source->begin_run(1'000'000, 500'000);
  rung->begin_run(1'000'000, 500'000);
  const Bytes vdata(1000, 0x11), adata(200, 0x22);
  const int64_t base = 500'000, frame = 40'000, delay = 2 * frame;
  int a = 0;
  for (int v = 0; v < 250; ++v) {
    // Decode order I P B B P B B …: display order 0 3 1 2 6 4 5 …, keyframes every 50 frames (closed GOPs).
    const int in_gop = v % 50;
    const int shown = in_gop == 0 ? 0 : (in_gop % 3 == 1 ? std::min(in_gop + 2, 49) : in_gop - 1);
    const int64_t dts = base + int64_t{v} * frame;
    const int64_t pts = base + delay + int64_t{v - in_gop + shown} * frame;
    const int64_t rung_pts = base + delay + int64_t{v} * frame;  // the rung: same pictures, no reordering
    for (;; ++a) {
      const int64_t at = base + delay + int64_t{a} * 1024 * 1'000'000 / 48000;
      if (at > dts) break;
      source->push(AccessUnit{TrackKind::audio, at, at, true, adata});
      rung->push(AccessUnit{TrackKind::audio, at, at, true, adata});
    }
    source->push(AccessUnit{TrackKind::video, pts, dts, in_gop == 0, vdata});
    rung->push(AccessUnit{TrackKind::video, rung_pts, rung_pts, in_gop == 0, vdata});
  }
  const auto s = source->playlist_state();
  const auto r = rung->playlist_state();
  ASSERT_GE(s.segments.size(), 3u);
  ASSERT_GE(r.segments.size(), s.segments.size());
  for (size_t i = 0; i + 1 < s.segments.size(); ++i) {
    EXPECT_EQ(s.segments[i].msn, r.segments[i].msn);
    EXPECT_EQ(s.segments[i].pdt_ms, r.segments[i].pdt_ms) << "segment " << i;
    EXPECT_NEAR(s.segments[i].duration_s, r.segments[i].duration_s, 1e-9);
    ASSERT_EQ(s.segments[i].parts.size(), r.segments[i].parts.size());
    for (const auto& part : s.segments[i].parts) {
      const BytesPtr sb = source->part(s.segments[i].msn, part.index);
      const BytesPtr rb = rung->part(s.segments[i].msn, part.index);
      ASSERT_TRUE(sb && rb);
      EXPECT_EQ(first_tfdt(*sb), first_tfdt(*rb)) << "segment " << i << " part " << part.index;
      // Same samples (sizes) in both: the fragments are byte for byte the same size.
      EXPECT_EQ(sb->size(), rb->size()) << "segment " << i << " part " << part.index;
    }
  }
}

TEST(PackageCmafPackager, ConcurrentPushAndRead) {
  auto p = make();
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      const auto state = p->playlist_state();
      for (const auto& s : state.segments)
        for (const auto& part : s.parts) (void)p->part(s.msn, part.index);
      (void)write_media_playlist(state, {});
      (void)p->variant_info();
    }
  });
  const Bytes vdata(500, 1), adata(100, 2);
  std::thread video([&] {
    for (int v = 0; v < 250; ++v)
      p->push(AccessUnit{TrackKind::video, v * 40000, v * 40000, v % 50 == 0, vdata});
  });
  std::thread audio([&] {
    for (int a = 0; a < 468; ++a) {
      const int64_t t = int64_t{a} * 1024 * 1'000'000 / 48000;
      p->push(AccessUnit{TrackKind::audio, t, t, true, adata});
    }
  });
  video.join();
  audio.join();
  p->end_of_stream();
  done = true;
  reader.join();
  EXPECT_GE(p->playlist_state().segments.size(), 4u);
}

}  // namespace
}  // namespace sreda::package

// Parts split a segment evenly at the usual frame rates; PART-TARGET is what they really are.
TEST(PackagePartSize, EqualPartsPerSegmentAtCommonFrameRates) {
  using sreda::package::part_size;
  using sreda::package::PartSize;
  struct Case {
    int64_t frame_us;
    int frames;
    int64_t target_us;
  };
  const Case cases[] = {
      {40'000, 10, 410'000},  // 25 fps: 50 frames = 5 × 10 (not 4 × 12 + a 2-frame sliver)
      {33'000, 13, 442'000},  // 33 ms frames: 61 = 4 × 13 + 9
      {33'200, 12, 411'000},  // 30 fps from RTMP's ms timestamps (33/34 ms, as the packager averages them): 5 × 12
      {33'333, 12, 412'000},  // 30 fps: 60 = 5 × 12
      {20'000, 20, 420'000},  // 50 fps
      {41'708, 10, 428'000},  // 23.976 fps: 48 = 4 × 10 + 8
      {21'333, 19, 425'000},  // AAC 48 kHz (audio-only rendition): 94 = 4 × 19 + 18
  };
  for (const Case& c : cases) {
    const PartSize size = part_size(c.frame_us, 500'000, 2'000'000);
    EXPECT_EQ(size.frames, c.frames) << c.frame_us;
    EXPECT_EQ(size.target_us, c.target_us) << c.frame_us;
    EXPECT_LE(size.target_us, 500'000);
    // A part of `frames` samples fits, even with each sample 1 ms longer.
    EXPECT_LE(size.frames * (c.frame_us + 1000), size.target_us) << c.frame_us;
  }
  // Frames longer than the target: one per part, never more than the configured target.
  EXPECT_EQ(part_size(600'000, 500'000, 2'000'000).frames, 1);
  EXPECT_EQ(part_size(600'000, 500'000, 2'000'000).target_us, 500'000);
  EXPECT_EQ(part_size(0, 500'000, 2'000'000).target_us, 500'000);
}
