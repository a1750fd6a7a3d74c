// RecordingWriter: the synchronous core of one event's recording — the files under
// `<root>/<event_id>/<rendition>/` and the playlists. Recorder (recorder.h) runs it on its own writer
// thread; tests may drive it directly.
//
// Layout (names are the packager's, package/playlist_writer.h):
//   <root>/<event_id>/master.m3u8                 every recorded rendition (rewritten atomically)
//   <root>/<event_id>/<rendition>/init.mp4        init segments (init<id>.mp4 after a codec change)
//   <root>/<event_id>/<rendition>/seg<msn>.m4s    complete segments
//   <root>/<event_id>/<rendition>/seg<msn>.m4s.partial   the segment in progress, one part appended at
//                                                        a time, fsync'd so that at most max_loss_ms is
//                                                        unsynced; renamed when the segment completes
//   <root>/<event_id>/<rendition>/index.m3u8      EVENT playlist of complete segments, rewritten
//                                                 atomically after each; VOD + ENDLIST at the end
//
// Errors: a disk error (ENOSPC, EACCES, EIO…) stops the whole event's recording: state `failed`,
// last_error says what failed, one error line is logged, the open `.partial` files are dropped and the
// playlists are closed best-effort (they list the complete segments only, so what was recorded stays
// playable). Nothing throws to the caller; later calls are ignored.
//
// Threads: not thread-safe; one thread at a time (the Recorder's writer thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/archive/disk.h"
#include "server/archive/event_playlist.h"
#include "server/core/log.h"
#include "server/package/packager_input.h"
#include "server/package/playlist_writer.h"

namespace sreda::archive {

struct RecorderOptions {
  std::string root;      // the archive folder, e.g. <data-dir>/archive
  std::string event_id;  // a folder name: [A-Za-z0-9_.-], not "." or ".." (else: failed)
  int max_loss_ms = 1000;                     // fsync when the oldest unsynced byte is older than this
  int64_t max_queue_bytes = 64 * 1024 * 1024;  // Recorder: bytes waiting for the writer thread
  Disk* disk = nullptr;                        // null: posix_disk(); must outlive the recorder
  std::function<int64_t()> steady_ms;          // null: core::steady_ms (tests inject a clock)
  // Bytes held in `<event_dir>/.reserve` while recording and freed when a disk error stops it, so the
  // playlists can still be closed on a full disk (0: none).
  int64_t reserve_bytes = 0;
};

enum class RecordingState { recording, ended, failed };
const char* to_string(RecordingState state);

struct RenditionStats {
  std::string name;
  int64_t segments = 0;
  double duration_s = 0;
  int64_t bytes = 0;  // init segments + complete segments on disk
  bool ended = false;
};

struct RecordingStats {
  RecordingState state = RecordingState::recording;
  int64_t bytes_written = 0;  // media bytes written (inits, parts, segment rewrites)
  int64_t bytes = 0;          // size of the recording: inits + complete segments, all renditions
  int64_t segments = 0;       // complete segments, all renditions
  double duration_s = 0;      // the longest rendition
  int64_t syncs = 0;          // fsyncs of `.partial` files (the loss bound at work)
  std::string last_error;     // empty unless state == failed
  std::vector<RenditionStats> renditions;
};

class RecordingWriter {
 public:
  explicit RecordingWriter(RecorderOptions options);
  ~RecordingWriter();
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  void on_init(std::string_view rendition, int init_id, const package::Bytes& bytes);
  void on_part(std::string_view rendition, int64_t msn, int index, const package::Bytes& bytes);
  void on_segment(std::string_view rendition, const package::SegmentInfo& info, const package::SegmentParts& parts);
  void on_end(std::string_view rendition);
  // CODECS, RESOLUTION… for the master playlist (BANDWIDTH is measured from the recording).
  void set_variant(std::string_view rendition, const package::VariantInfo& variant);
  // Stops the recording from outside (e.g. the Recorder's queue overflowed).
  void fail(const std::string& reason);

  RecordingStats stats() const;
  const std::string& event_dir() const { return event_dir_; }

 private:
  struct Rendition {
    std::string name;
    std::string dir;
    UniqueFd partial;
    int64_t partial_msn = -1;
    int next_index = 0;  // the part expected next in the `.partial`
    int64_t partial_bytes = 0;
    bool partial_broken = false;  // a part was missing: the segment is written whole at on_segment
    std::optional<int64_t> unsynced_since_ms;
    EventPlaylist playlist;
    int64_t bytes = 0;
    int64_t peak_bps = 0;
    std::optional<package::VariantInfo> variant;
    std::string codecs;  // from the newest init segment
    // A recording resumed after a restart: its files are kept and the new ones numbered after them (a
    // packager that numbers on from the recording, package::ResumePoint, needs no offset; one that starts
    // from 0 again is moved after `resume_msn`, decided at its first part); the first new segment is a
    // discontinuity. Init segments are numbered after the earlier ones (a new packager starts at init.mp4).
    int64_t msn_offset = 0;
    std::optional<int64_t> resume_msn;  // the first free number, until the first part decides the offset
    int init_offset = 0;
    bool resumed = false;
  };
  void resume(Rendition& r);
  int64_t recorded_msn(Rendition& r, int64_t packager_msn);  // the packager's number as recorded

  Rendition* rendition(std::string_view name);  // creates its folder; null when failed
  std::string partial_path(const Rendition& r, int64_t msn) const;
  void drop_partial(Rendition& r);
  bool write_playlist(Rendition& r);
  bool write_master();
  void failed(const std::string& what, const std::string& path, std::error_code ec);
  int64_t now_ms() const;

  const RecorderOptions options_;
  Disk& disk_;
  const std::string event_dir_;
  const core::Logger log_;
  std::map<std::string, Rendition, std::less<>> renditions_;
  RecordingState state_ = RecordingState::recording;
  std::string last_error_;
  int64_t bytes_written_ = 0;
  int64_t syncs_ = 0;
  bool master_written_ = false;
  bool reserve_held_ = false;
  void release_reserve();
};

}  // namespace sreda::archive
