// Curators' reports, collected as we go (issue 22): what the watch pages say they play (`playback` messages,
// PROTOCOL.md) turned into seconds watched per rendition, live and in the archive, archive plays and the
// viewers seen, per event; and the 10 s samples of the event's timeline. Pure: no I/O, no clock of its own.
// Threads: the audience hub's (web thread); a ReportBatch is handed to the store thread (report_store.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace sreda::audience {

// What one connection last said it plays. `since_ms`: when the time not yet counted began.
struct Playback {
  bool playing = false;
  bool archive = false;        // mode "archive" (a recording), else live
  std::string rendition;       // "" when the page did not say
  int64_t since_ms = 0;
  int64_t last_report_ms = 0;  // the last playback message
  int64_t archive_ms = 0;      // archive time this connection watched in this event
  bool archive_started = false, archive_counted = false;
};

// One 10 s sample of an event's timeline (an event on air).
struct ReportSample {
  int64_t at_ms = 0;
  std::string state;                          // live | intermission
  int64_t viewers = 0;                        // watch pages playing live now
  std::map<std::string, int64_t> renditions;  // … by rendition
  int64_t players_estimate = -1;              // distinct client addresses fetching live playlists (-1: unknown)
  int64_t comments = 0, questions = 0;        // shown since the last sample
  int64_t bitrate_kbps = 0;
  int64_t reconnects = 0;                     // studio reconnects since the last sample
  int64_t dropped = 0;                        // media units dropped since the last sample
};

// What one event adds to its stored report since the last batch.
struct ReportDelta {
  int64_t event_id = 0;
  std::optional<ReportSample> sample;
  std::map<std::string, int64_t> live_ms, archive_ms;  // rendition → milliseconds watched
  int64_t archive_starts = 0, archive_plays = 0;
  std::vector<std::string> new_viewers;  // viewer ids first seen playing (an id once per tally)
  bool empty() const {
    return !sample && live_ms.empty() && archive_ms.empty() && !archive_starts && !archive_plays &&
           new_viewers.empty();
  }
};

struct ReportBatch {
  std::vector<ReportDelta> events;
};

// One event's tally between batches.
class EventTally {
 public:
  // `archive_play_ms`: archive watching that makes a play (reports.archive_play_s).
  explicit EventTally(int64_t archive_play_ms = 60'000) : archive_play_ms_(archive_play_ms) {}

  // The time `p` played since p.since_ms, up to now_ms, counted; since_ms moves to now_ms.
  void accrue(Playback& p, int64_t now_ms);
  // A connection of `viewer_id` says it plays (or not) `rendition` live or in the archive.
  void change(Playback& p, const std::string& viewer_id, bool playing, bool archive, const std::string& rendition,
              int64_t now_ms);
  // The connection left (or went quiet): what it played is counted, and it plays no more.
  void stop(Playback& p, int64_t now_ms);
  void count_comment(bool question) {
    ++comments_;
    if (question) ++questions_;
  }
  // Moves what was counted since the last take into `d` (its event_id and sample are the caller's).
  void take(ReportDelta& d);
  // The comments and questions since the last sample, reset.
  std::pair<int64_t, int64_t> take_comments();
  // Nothing waiting to be written.
  bool idle() const;

 private:
  int64_t archive_play_ms_;
  std::map<std::string, int64_t> live_ms_, archive_ms_;
  int64_t archive_starts_ = 0, archive_plays_ = 0;
  std::unordered_set<std::string> seen_;  // viewer ids already handed out (bounded by the event's viewers)
  std::vector<std::string> new_viewers_;
  int64_t comments_ = 0, questions_ = 0;
};

// The live viewers of a sample from what each connection plays: those playing live, by rendition ("" →
// "unknown").
void count_viewers(const std::vector<const Playback*>& playing, ReportSample& sample);

// Figures for fewer than this many viewers are shown as "fewer than 5" in public places (the artist's view).
inline constexpr int64_t kFewViewers = 5;

}  // namespace sreda::audience
