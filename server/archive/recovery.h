// recover(): at start-up, closes the recordings a crash or power loss left open, so the app can mark
// their events archived and log what was repaired.
//
// For every `<root>/<event_id>/<rendition>/` whose index.m3u8 is missing or has no ENDLIST:
//   - `*.tmp` files (torn atomic writes) are removed;
//   - complete `seg<msn>.m4s` files newer than the playlist (renamed, playlist not yet rewritten) are
//     appended to it;
//   - the torn `seg<msn>.m4s.partial` is cut after its last complete moof+mdat pair and, when at least
//     one pair remains, kept as the final segment `seg<msn>.m4s` (duration from its trun sample
//     durations, PROGRAM-DATE-TIME extrapolated from the previous segment's decode time); otherwise it
//     is removed. Why keep it: each part is a self-contained moof+mdat and a segment starts on a
//     keyframe, so any prefix of complete parts is a valid shorter segment; keeping it makes a crash
//     lose only the unsynced tail (≤ max_loss_ms + one part), as the issue asks, instead of a whole
//     segment;
//   - the playlist is closed: EXT-X-PLAYLIST-TYPE:VOD + EXT-X-ENDLIST;
// and the event's master.m3u8 is (re)written when it is missing or does not list every rendition.
// Recordings that are already closed are left alone and not reported.
//
// Threads: the start-up thread, before any Recorder writes under `root`. Never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/archive/disk.h"
#include "server/archive/event_playlist.h"

namespace sreda::archive {

struct RecoveryReport {
  std::string event_id;
  std::vector<std::string> renditions;  // with at least one segment, sorted
  double duration_s = 0;                // the longest rendition
  int64_t bytes = 0;                    // init + segment files of every rendition
  std::vector<std::string> repairs;     // what was done, one line each, e.g. "720p: closed playlist"
  std::string error;                    // empty unless a repair could not be written
};

// What a recording folder `<root>/<event_id>` holds now (any state; read-only): every rendition with at
// least one listed segment, its playlist and bytes on disk (init + segment files). nullopt: no recording.
struct RecordingSummary {
  struct Rendition {
    std::string name;
    EventPlaylist playlist;
    int64_t bytes = 0;
  };
  std::vector<Rendition> renditions;  // sorted by name
  double duration_s = 0;              // the longest rendition
  int64_t bytes = 0;
  bool closed = true;                 // every playlist has ENDLIST
};
std::optional<RecordingSummary> describe_recording(const std::string& event_dir);

// `disk` null: posix_disk().
std::vector<RecoveryReport> recover(const std::string& root, Disk* disk = nullptr);
// The same for one event folder; nullopt when it needed no repair.
std::optional<RecoveryReport> recover_event(const std::string& event_dir, Disk* disk = nullptr);

}  // namespace sreda::archive
