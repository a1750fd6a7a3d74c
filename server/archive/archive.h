// Archive: every live event recorded under `<root>/<event_id>/` (RecordingWriter's layout) and turned
// into a VOD the moment it ends. It is the live outputs' RenditionSinks: one Recorder per event, the
// sink of each recorded rendition's packager. It also owns the `recordings` rows, the public trim of
// each recording, start-up recovery and retention.
//
// Event end: ended() (control thread) hands the event's Recorder to a store job that stops it (the
// writer thread writes the VOD playlists), then upserts the recordings row and turns the event
// `archived` — the hub persists `ended` before it calls ended(), and the store runs jobs in order.
// An event with no Recorder in memory (ended after a restart) is finalised from what is on disk.
//
// Threads: sink()/configured() from streaming threads, ended() from the control thread, the reads from
// the web thread and the store thread; one mutex guards the maps. Store jobs run on the store thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/archive/fragment_scan.h"
#include "server/archive/recorder.h"
#include "server/archive/recovery.h"
#include "server/live/live_outputs.h"
#include "server/store/store.h"

namespace sreda::archive {

struct ArchiveOptions {
  std::string root;                     // absolute or relative folder; created on start
  int max_loss_ms = 1000;
  std::vector<std::string> renditions;  // recorded renditions; empty = every one
  int64_t max_bytes = 0;                // retention; 0 = no limit
  int keep_days = 0;                    // retention; 0 = forever
};

// The public window of a recording (ms from its start); nullopt ends = untrimmed.
struct Trim {
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
};

// The segments of `playlist` the public sees: those overlapping [start, end] (segment-accurate).
EventPlaylist trimmed(const EventPlaylist& playlist, const Trim& trim);

// A recorded rendition with the media its (first) init segment holds.
struct RankedRendition {
  const RecordingSummary::Rendition* rendition = nullptr;
  InitMedia media;
};
// The renditions of `summary` (a recording under `event_dir`), best picture first: `source` when it has
// video, then the other video renditions by size (the most bytes: the highest bitrate), then those
// without video. The export's default and the poster take the first.
std::vector<RankedRendition> rank_renditions(const std::string& event_dir, const RecordingSummary& summary);

class Archive : public live::RenditionSinks {
 public:
  Archive(ArchiveOptions options, store::Store& store);
  ~Archive() override;  // stops the recorders still running (their playlists stay open: recover())

  // Start-up, before any event goes live (the store thread must be running): repairs what a crash left
  // (recover()), logs it, upserts the rows, marks ended events archived, loads the trims, runs retention.
  void start();
  // Retention (keep_days, max_bytes): posts one store job. Any thread.
  void enforce_retention();

  std::shared_ptr<package::PackagerSink> sink(int64_t event_id, const std::string& rendition) override;
  void configured(int64_t event_id, const std::string& rendition, const package::VariantInfo& variant) override;
  void ended(int64_t event_id) override;
  // From the recording on disk (repaired by start()): after its last segment, the discontinuities in it, and
  // where its media ends (the last segment's decode time + duration). Reads the playlists and one segment.
  std::optional<package::ResumePoint> resume_point(int64_t event_id) override;

  const std::string& root() const { return options_.root; }
  std::string event_dir(int64_t event_id) const;
  // The live recording's stats, or nullopt when the event is not being recorded now.
  std::optional<RecordingStats> recording_stats(int64_t event_id) const;
  Trim trim(int64_t event_id) const;
  // Store thread: sets the trim (row and memory). False when the event has no recording row.
  bool set_trim(store::Db& db, int64_t event_id, const Trim& trim);
  // Store thread: deletes the files and the row; the event goes back to `ended`. False: no recording.
  bool remove(store::Db& db, int64_t event_id, const std::string& why);
  // Store thread: the event's picture card (archive/picture_card.h) for a live event with no picture yet,
  // made once into `<event_dir>/card.jpg`: its URL, or nullopt (no such event, or it could not be made).
  std::optional<std::string> picture_card(store::Db& db, int64_t event_id);
  // Recomputes and upserts the row from disk (store thread). False when nothing is recorded.
  bool upsert_row(store::Db& db, int64_t event_id, bool repaired, const std::string& error);

  // For /metrics.
  int64_t recording_count() const;
  int64_t failed_count() const;
  int64_t bytes_written() const;
  int64_t deletions() const { return deletions_.load(); }

 private:
  std::optional<std::string> make_poster(store::Db& db, int64_t event_id, const RecordingSummary& summary);
  bool write_card(store::Db& db, int64_t event_id, const std::string& path);  // logs why not

  ArchiveOptions options_;
  store::Store& store_;
  mutable std::mutex mutex_;
  std::map<int64_t, std::shared_ptr<Recorder>> recorders_;
  std::map<int64_t, Trim> trims_;
  int64_t finished_bytes_written_ = 0;
  int64_t finished_failures_ = 0;
  std::atomic<int64_t> deletions_{0};
};

}  // namespace sreda::archive
