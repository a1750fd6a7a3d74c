// LL-HLS playlists (RFC 8216bis, draft 13+) as pure functions of a snapshot; any thread.
//
// URIs are relative to the rendition's media playlist and stable for the life of the event:
//   init.mp4 (init_id 0), init<id>.mp4 (later init segments, after a codec change)
//   seg<msn>.m4s           a whole segment (moof+mdat pairs, starts on a keyframe)
//   part<msn>.<i>.m4s      part i (0-based) of segment msn (one moof+mdat pair)
// In the master playlist each variant is `<rendition>/index.m3u8`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sreda::package {

struct PartInfo {
  int index = 0;
  double duration_s = 0;
  bool independent = false;  // starts with a keyframe
  int64_t bytes = 0;
};

struct SegmentInfo {
  int64_t msn = 0;
  double duration_s = 0;       // for a segment in progress: its parts so far
  int64_t pdt_ms = 0;          // wall clock of its first sample (PROGRAM-DATE-TIME)
  bool discontinuity = false;  // first segment after a reconnect
  int init_id = 0;
  bool complete = false;  // only the last segment may be incomplete (parts only, no EXTINF yet)
  int64_t bytes = 0;
  std::vector<PartInfo> parts;  // kept only for the last few segments
  // An earlier run's segment listed before a resumed event's first run (package::ResumePoint): its file in the
  // recording (the live route serves seg<msn>.m4s from it: a player requires a segment's URI not to change between
  // reloads) and its init's URI there, relative to the playlist (EXT-X-MAP). Empty for the packager's own.
  std::string earlier_file;
  std::string earlier_map;
};

struct PartPosition {
  int64_t msn = 0;
  int part = 0;
  friend bool operator==(const PartPosition&, const PartPosition&) = default;
  friend auto operator<=>(const PartPosition&, const PartPosition&) = default;
};

struct MediaPlaylistState {
  int part_target_ms = 500;
  int target_duration_s = 2;                 // never decreases during an event
  int64_t discontinuity_sequence = 0;        // discontinuities before segments.front()
  std::vector<SegmentInfo> segments;         // the window, oldest first
  std::optional<PartPosition> preload_hint;  // the part being produced
  bool ended = false;
};

// Where another rendition of the same event is (EXT-X-RENDITION-REPORT), so a player can switch rungs
// without an extra blocking request; Apple asks for one per other rendition in LL-HLS.
struct RenditionReport {
  std::string uri;  // relative to this playlist, e.g. "../480p/index.m3u8"
  int64_t last_msn = 0;
  std::optional<int> last_part;
};

struct MediaPlaylistOptions {
  int part_segments = 3;  // segments at the end whose parts are listed (incl. one in progress)
  bool skip = false;      // _HLS_skip=YES: delta update
  std::vector<RenditionReport> rendition_reports;
};

// The report for a rendition from its own state: the last segment in the playlist (incl. the one in
// progress) and its last complete part.
RenditionReport rendition_report(const MediaPlaylistState& state, std::string uri);

// The media playlist. Version 9 (EXT-X-SKIP / CAN-SKIP-UNTIL).
std::string write_media_playlist(const MediaPlaylistState& state, const MediaPlaylistOptions& options);

// PART-HOLD-BACK (3 × part target) and HOLD-BACK (3 × target duration), seconds.
double part_hold_back_s(const MediaPlaylistState& state);
// CAN-SKIP-UNTIL: 6 × target duration, seconds.
double can_skip_until_s(const MediaPlaylistState& state);

struct VariantInfo {
  std::string uri;                // e.g. "720p/index.m3u8"
  int64_t bandwidth = 0;          // peak segment bitrate, bit/s
  int64_t average_bandwidth = 0;  // over the window, bit/s
  int width = 0;                  // 0 for audio-only
  int height = 0;
  double frame_rate = 0;  // 0 when unknown
  std::string codecs;     // "avc1.64001f,mp4a.40.2"
};

std::string write_master_playlist(const std::vector<VariantInfo>& variants);

std::string init_uri(int init_id);
std::string segment_uri(int64_t msn);
std::string part_uri(int64_t msn, int index);

}  // namespace sreda::package
