// The archive's media playlists: an EVENT playlist while recording (complete segments only, no parts,
// PROGRAM-DATE-TIME per segment, DISCONTINUITY where the packager marked one), and a VOD playlist
// with ENDLIST once the recording is closed. Pure functions; any thread.
//
// URIs are the packager's (package/playlist_writer.h): init.mp4 / init<id>.mp4, seg<msn>.m4s.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sreda::archive {

struct RecordedSegment {
  int64_t msn = 0;
  double duration_s = 0;
  int64_t pdt_ms = 0;
  bool discontinuity = false;
  int init_id = 0;
  int64_t bytes = 0;  // not in the playlist text; filled by whoever knows it
};

struct EventPlaylist {
  std::vector<RecordedSegment> segments;  // oldest first, msn increasing
  bool ended = false;                     // VOD + ENDLIST
  int min_target_duration_s = 2;          // TARGETDURATION is at least this
};

// #EXT-X-VERSION:7 (EXT-X-MAP); TARGETDURATION is the largest rounded EXTINF (at least the minimum).
std::string write_event_playlist(const EventPlaylist& playlist);

// Reads a playlist written by write_event_playlist (not a general HLS parser). nullopt when the text
// is not an HLS playlist; unknown tags are ignored.
std::optional<EventPlaylist> parse_event_playlist(std::string_view text);

// Sum of the segments' durations, seconds.
double playlist_duration_s(const EventPlaylist& playlist);

// "2026-11-23T16:00:00.123Z" → ms since the epoch; nullopt when not in that form.
std::optional<int64_t> parse_pdt_ms(std::string_view text);

}  // namespace sreda::archive
