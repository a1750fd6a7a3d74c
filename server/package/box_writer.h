// ISO BMFF / CMAF box writing: the init segment and one fragment (moof+mdat). Pure functions; any
// thread. Layout follows ISO/IEC 14496-12 and CMAF (ISO/IEC 23000-19): one trak per track, empty sample
// tables, mvex/trex; fragments with default-base-is-moof, tfdt version 1 (64-bit decode time) and trun
// version 1 (signed composition offsets, for B-frames).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "server/package/packager_input.h"

namespace sreda::package {

// Track ids and timescales used by every rendition: video is track 1 at 90 kHz, audio track 2 at its
// sample rate (audio-only renditions still use id 2).
inline constexpr uint32_t kVideoTrackId = 1;
inline constexpr uint32_t kAudioTrackId = 2;
inline constexpr uint32_t kVideoTimescale = 90000;

struct InitSegmentInput {
  std::optional<VideoConfig> video;
  std::optional<AudioConfig> audio;
};

// Builds ftyp+moov. Returns an error when a codec config cannot be parsed.
core::Result<Bytes> write_init_segment(const InitSegmentInput& input);

struct FragmentSample {
  uint32_t duration = 0;           // track timescale
  int32_t composition_offset = 0;  // pts - dts, track timescale
  bool keyframe = false;
  const Bytes* data = nullptr;  // not owned
};

struct FragmentTrack {
  uint32_t track_id = 0;
  uint64_t base_decode_time = 0;  // tfdt, track timescale
  bool video = false;             // writes composition offsets and non-sync flags
  std::vector<FragmentSample> samples;
};

// Builds moof(mfhd, traf per non-empty track) + mdat, the sample data of the tracks in order.
Bytes write_fragment(uint32_t sequence_number, const std::vector<FragmentTrack>& tracks);

}  // namespace sreda::package
