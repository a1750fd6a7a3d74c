// CmafPackager: one rendition's LL-HLS CMAF packager — init segment, parts, segments, a bounded
// in-memory window, and the snapshots the playlist writer and the blocking-reload rules need.
//
// Muxed, not demuxed: a rendition carries video AND audio in the same fMP4 (one moof per part with a
// traf per track). hls.js then needs one playlist, one blocking reload and one part request per part
// (demuxed audio doubles them and hls.js must keep two LL-HLS playlists in step; with alternate audio
// it has had stalls where the audio playlist's parts lagged). Safari plays muxed fMP4 LL-HLS natively.
// An audio-only rendition is simply a packager with video disabled.
//
// Threads (STYLE.md 5): the PackagerInput methods are called from GStreamer streaming threads (video
// and audio may come from two threads). The read methods (playlist_state, reload_state, variant_info,
// init/part/segment bytes) are called from the web thread. One short mutex guards the window; the
// PackagerSink and the update callback are called on the pushing thread without that mutex, in order.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/core/log.h"
#include "server/package/blocking_reload.h"
#include "server/package/packager_input.h"
#include "server/package/packager_sink.h"
#include "server/package/playlist_writer.h"

namespace sreda::package {

struct PackagerOptions {
  std::string rendition = "source";  // name in URIs, logs and sink calls
  bool video = true;
  bool audio = true;
  int part_target_ms = 500;               // parts never exceed it (sized to the frame rate, see PartSize)
  int segment_target_ms = 2000;           // a segment is cut at the first keyframe at >= 90 % of it
  int window_segments = 10;               // complete segments kept in memory; older ones are dropped
  int part_segments = 3;                  // last segments whose parts are kept and listed in the playlist
  int run_gap_ms = 200;                   // output gap at the start of each run (room for the other track)
  int max_track_wait_ms = 1000;           // a part waits at most this long for the second track's samples
  int64_t nominal_bandwidth = 2'000'000;  // BANDWIDTH before the first segment is complete
  // Input times are a clock shared by several renditions (the event's media clock, which keeps
  // increasing across reconnects): output = input + run gap, so renditions whose keyframes sit on the
  // same timestamps cut their segments at the same output times. A run that would map before what is
  // already written falls back to starting right after it.
  bool shared_clock = false;
  // An event that continues after a server restart (ResumePoint): its segments are numbered on from
  // `first_msn`, the discontinuities before them are `first_discontinuity_sequence`, and the first run is a
  // discontinuity (EXT-X-DISCONTINUITY on its first segment).
  int64_t first_msn = 0;
  int64_t first_discontinuity_sequence = 0;
  bool resumed = false;
  // The earlier run's last segments (complete, no parts, earlier_file set), listed before the first run so that a
  // player which was behind at the restart finds the segment after its last one (hls.js 1.7 otherwise waits
  // forever: it looks for the next SN or the same discontinuity). They leave the window like any segment;
  // first_discontinuity_sequence counts the discontinuities before the first of them.
  std::vector<SegmentInfo> earlier;
};

// Where an event's live playlists continue after a restart (a crash or a stop while it was live), read from
// what the earlier run recorded: the next media sequence number, the discontinuities before it, and the end of
// the media written (the packagers' output timeline, in microseconds): the event's media clock goes on from
// there, so the recording stays one timeline and comments keep their order.
struct ResumePoint {
  int64_t next_msn = 0;
  int64_t discontinuity_sequence = 0;
  int64_t media_end_us = 0;
  // Per rendition, its last recorded segments (at most kResumeTail, oldest first; only a rendition recorded up to
  // next_msn - 1): PackagerOptions::earlier.
  static constexpr size_t kResumeTail = 32;
  std::map<std::string, std::vector<SegmentInfo>> tails;
};

struct PackagerStats {
  int64_t dropped_samples = 0;  // before the first keyframe, unconfigured track, non-increasing DTS
  int64_t nudged_samples = 0;   // video DTS equal to or just before the last: moved one tick later
  int64_t parts = 0;
  int64_t segments = 0;
};

// How long parts are. Cutting parts of the longest whole number of frames that fits the target leaves a
// sliver at the end of each segment (25 fps, 0.5 s target, 2 s segments: 12+12+12+12+2 frames), and players
// trip over such slivers (hls.js stalled at every few of those 80 ms parts in scripts/bench/latency). So a
// segment is split into equal parts instead (25 fps: 5 × 10 frames, PART-TARGET 0.41 s), and PART-TARGET is
// what the parts really are, as RFC 8216bis 4.4.4.9 asks (every part but a segment's last at least 85 % of
// it). `frame_us`: one sample's duration; 1 ms is allowed for timestamps rounded to ms (RTMP at 30 fps
// gives 33/34 ms frames). A keyframe inside a segment starts a part of its own when the open part already has
// 85 % of a part's frames (CmafPackager::on_primary_sample), so that rule still holds. A source with a variable
// frame rate gets parts cut by duration instead (on_primary_sample). Pure; unit-tested.
struct PartSize {
  int frames = 1;              // samples per part
  int64_t target_us = 0;       // PART-TARGET: no part is longer
};
PartSize part_size(int64_t frame_us, int64_t part_target_us, int64_t segment_target_us);

class CmafPackager final : public PackagerInput {
 public:
  // Called with the new state after every completed part, segment and at the end; keep it quick
  // (e.g. post to the web thread's outbox and lws_cancel_service()).
  using UpdateCallback = std::function<void(const ReloadState&)>;

  // `sink` may be null; if set it must outlive the packager.
  CmafPackager(PackagerOptions options, PackagerSink* sink, UpdateCallback on_update = {});

  // PackagerInput (streaming threads).
  core::Result<void> configure_video(const VideoConfig& config) override;
  core::Result<void> configure_audio(const AudioConfig& config) override;
  void begin_run(int64_t first_sample_wall_ms, std::optional<int64_t> first_sample_media_us = {}) override;
  void push(const media::AccessUnit& unit) override;
  void end_of_stream() override;

  // Reads (web thread; any thread is safe).
  MediaPlaylistState playlist_state() const;
  ReloadState reload_state() const;
  VariantInfo variant_info() const;              // uri "<rendition>/index.m3u8"
  BytesPtr init_segment(int init_id = 0) const;  // null if unknown
  BytesPtr part(int64_t msn, int index) const;   // null if unknown or dropped
  BytesPtr segment(int64_t msn) const;           // null if unknown, incomplete or dropped
  // An earlier run's segment listed after a restart (PackagerOptions::earlier): its file in the recording; empty
  // for any other msn.
  std::string earlier_file(int64_t msn) const;
  PackagerStats stats() const;
  const PackagerOptions& options() const { return options_; }

 private:
  struct Sample {
    int64_t dts = 0;  // track timescale, output timeline
    int64_t pts = 0;
    uint32_t duration = 0;
    bool keyframe = false;
    Bytes data;
  };
  struct Track {
    bool enabled = false;
    uint32_t timescale = 0;
    std::optional<Sample> held;  // waits for the next DTS to know its duration
    std::deque<Sample> ready;    // second track: waiting for its part
    int64_t last_dts = INT64_MIN;
    int64_t end = 0;  // end of the last sample with a known duration
    uint32_t last_duration = 0;
    bool need_keyframe = true;
  };
  struct PendingPart {
    std::vector<Sample> samples;  // first track
    int64_t end_us = 0;
    bool ends_segment = false;
  };
  struct Segment {
    SegmentInfo info;
    SegmentParts parts;           // kept for the whole window (parts are the segment's bytes)
    mutable BytesPtr bytes;       // the concatenation, made by segment() on the first request
  };
  struct Event {
    enum class Kind { init, part, segment, end } kind;
    int init_id = 0;
    int64_t msn = 0;
    int index = 0;
    BytesPtr bytes;
    SegmentInfo info;
    SegmentParts parts;  // Kind::segment
  };

  Track& track(media::TrackKind kind) { return kind == media::TrackKind::video ? video_ : audio_; }
  Track& primary() { return options_.video ? video_ : audio_; }
  Track* secondary() { return options_.video && options_.audio ? &audio_ : nullptr; }
  int64_t to_us(const Track& t, int64_t ts) const;
  int64_t from_us(const Track& t, int64_t us) const;
  bool all_configured() const;
  void rebuild_init(std::vector<Event>& events);
  void on_sample_ready(Track& t, Sample sample, std::vector<Event>& events);
  void on_primary_sample(Sample sample);
  void close_open_part(bool ends_segment);
  void try_finalize(bool force, std::vector<Event>& events);
  void finalize_part(PendingPart part, std::vector<Event>& events);
  void complete_segment(std::vector<Event>& events);
  void flush(std::vector<Event>& events);
  ReloadState reload_state_locked() const;
  void deliver(std::vector<Event>& events);
  const Segment* find_segment(int64_t msn) const;

  const PackagerOptions options_;
  PackagerSink* const sink_;
  const UpdateCallback on_update_;
  const core::Logger log_;

  std::mutex delivery_mutex_;  // keeps sink calls in order; taken before mutex_, never by readers
  mutable std::mutex mutex_;   // the window and the packaging state below

  std::optional<VideoConfig> video_config_;
  std::optional<AudioConfig> audio_config_;
  std::string codecs_;
  bool init_dirty_ = true;
  int init_id_ = -1;
  std::map<int, BytesPtr> inits_;

  Track video_;
  Track audio_;
  bool run_started_ = false;
  bool any_run_ = false;
  std::optional<int64_t> run_wall_ms_;
  std::optional<int64_t> run_media_us_;  // input time at run_wall_ms_, when the caller knows it
  int64_t run_offset_us_ = 0;  // output = input + offset
  // Video decode times are moved later by this (the run's first keyframe's pts - dts; see push()).
  static constexpr int64_t kMaxReorderUs = 1'000'000;
  static constexpr int64_t kMaxNudgeUs = 100'000;  // a video DTS this far back moves after the last; farther: dropped
  int64_t video_shift_us_ = 0;
  int64_t run_start_out_us_ = 0;
  int64_t out_end_us_ = 0;  // end of the output timeline so far
  bool pending_discontinuity_ = false;
  bool ended_ = false;

  std::vector<Sample> open_part_;
  int64_t open_part_duration_ = 0;  // first track timescale
  // Part size, fixed at the first primary sample for the packager's life (PART-TARGET must not change):
  // `part_frames_` samples per part, evenly dividing a segment of the source's frame rate, and parts never
  // longer than `part_target_us_` (advertised as PART-TARGET; at most options_.part_target_ms, which it is
  // until then). part_frames_ 0: not sized yet.
  int part_frames_ = 0;
  int64_t part_target_us_ = 0;
  // A variable frame rate (no declared rate, the first durations differ by more than ms rounding): PART-TARGET
  // has room for 8 % longer frames, and a part of part_frames_ samples under 85 % of it takes more.
  bool vfr_ = false;
  static constexpr int64_t kVfrSpreadUs = 1000;
  std::vector<int64_t> probe_frame_us_;  // the first sample durations, until the size is fixed
  // Video: the frame rate the decode times show over this run so far (FRAME-RATE when the stream declares
  // none, or a time base): frames and the span of their decode times; the last rate measured.
  int64_t rate_frames_ = 0;
  int64_t rate_first_dts_ = 0, rate_last_dts_ = 0;
  double measured_fps_ = 0;
  int64_t segment_elapsed_ = 0;     // first track timescale, incl. pending and open parts
  std::deque<PendingPart> pending_;
  uint32_t sequence_number_ = 0;

  std::deque<Segment> segments_;  // complete, oldest first, plus at most one open at the back
  bool segment_open_ = false;
  int64_t next_msn_ = 0;
  int64_t discontinuity_sequence_ = 0;
  int target_duration_s_ = 2;
  PackagerStats stats_;
};

}  // namespace sreda::package
