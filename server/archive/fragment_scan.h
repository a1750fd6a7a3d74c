// Reading just enough ISO BMFF to repair a torn recording: the tracks of an init segment and the run of
// complete moof+mdat pairs at the start of a `.partial` segment file. Pure functions; any thread.
// Input may be arbitrary bytes (a file cut anywhere by a crash): every read is bounds-checked.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sreda::archive {

struct InitTrack {
  uint32_t track_id = 0;
  uint32_t timescale = 0;         // mdhd
  uint32_t default_duration = 0;  // mvex/trex default_sample_duration
};

// The tracks of ftyp+moov (moov/trak/tkhd, mdia/mdhd; mvex/trex). Empty when there is no moov.
std::vector<InitTrack> parse_init_tracks(std::span<const uint8_t> init);

// RFC 6381 CODECS of an init segment ("avc1.64001f,mp4a.40.2") from its avcC and esds boxes; empty
// when neither is found.
std::string codecs_of_init(std::span<const uint8_t> init);

// Which media an init segment holds: H.264 video (an avcC box) and AAC audio (an esds box).
struct InitMedia {
  bool video = false;
  bool audio = false;
};
InitMedia media_of_init(std::span<const uint8_t> init);

struct FragmentScan {
  int64_t complete_bytes = 0;  // length of the leading complete boxes ending with the last moof+mdat pair
  int fragments = 0;           // complete moof+mdat pairs
  std::optional<uint64_t> first_decode_time;  // tfdt of the reference track in the first fragment
  uint64_t decode_duration = 0;               // reference track, its timescale, over the complete pairs
  double duration_s = 0;                      // the same in seconds (0 when the timescale is unknown)
  uint32_t timescale = 0;                     // of the reference track (0: unknown)
};

// Scans `bytes` from the start. The reference track is video (track 1) when the init has it, otherwise
// the init's first track. Stops at the first incomplete or malformed box.
FragmentScan scan_fragments(std::span<const uint8_t> bytes, const std::vector<InitTrack>& tracks);

}  // namespace sreda::archive
