// The live outputs of every event: one CMAF packager per rendition — `source` (the studio's H.264/AAC
// passed through without re-encoding) and, with the ladder on, one per rung of the studio's ladder
// (pipelines/ladder) — created when an event first goes live and kept after it ends so players receive
// ENDLIST. Implements the hub's ConsumerFactory. Every packager is made by make_rendition_packager().
//
// Video rungs carry the source's AAC (passed through, like `source`); the `audio` rung is the ladder's
// own low-bitrate AAC. A studio whose codecs players cannot take (HEVC, Opus, MP3 over SRT): no `source`
// rendition when its video is not H.264 (the ladder adds a rung at the source's size instead), and when
// its audio is not AAC every video rendition carries the audio rung's AAC. All packagers share the event's
// media clock (PackagerOptions::shared_clock), and the ladder puts every rung's keyframes on the source's, so
// every rendition cuts its segments at the same times and a player switches between them without a glitch.
//
// Threads: create() on the control thread; media calls on the publisher session's media thread (the
// hub's MediaQueue: one at a time, in order); find(), reads and health() from the web or store thread. The
// ladder's GStreamer state changes (build and start, stop) happen on the control thread only: the first
// session start posts the ladder's start there (run_on_control) and goes on at once; the source's units
// meanwhile wait in a bounded start buffer and are replayed into the ladder once it runs, so it sees the
// session's first keyframe, as the source packager does, and every rung's segments line up with the
// source's (same media sequence numbers, same times). The map is guarded by a mutex (the seam); each
// packager guards itself.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/ladder/ladder.h"
#include "server/hub/media_consumer.h"
#include "server/live/ladder_config.h"
#include "server/package/cmaf_packager.h"

namespace sreda::live {

// What else receives each rendition's packaged bytes (the archive). Implemented outside live/ (STYLE.md
// 11). sink() is called when a rendition's packager is made; the LiveOutput keeps the returned sink (null:
// not recorded) alive as long as the packager. configured() follows each (re)configuration of a rendition;
// ended() follows the end of stream of every rendition (control thread).
class RenditionSinks {
 public:
  virtual ~RenditionSinks() = default;
  virtual std::shared_ptr<package::PackagerSink> sink(int64_t event_id, const std::string& rendition) = 0;
  virtual void configured(int64_t event_id, const std::string& rendition,
                          const package::VariantInfo& variant) = 0;
  virtual void ended(int64_t event_id) = 0;
  // Where an event that was live when the server stopped or crashed continues (what its earlier run
  // recorded); nullopt for a new event, or when nothing was recorded. Control thread, when its outputs are
  // made.
  virtual std::optional<package::ResumePoint> resume_point(int64_t event_id) {
    (void)event_id;
    return std::nullopt;
  }
};

struct LiveOutputOptions {
  int part_target_ms = 210;
  int segment_target_ms = 2000;
  int window_segments = 10;
  size_t keep_ended_events = 50;  // ended events whose last window stays in memory
  bool ladder = false;            // encode the ladder (config ladder.enabled)
  std::shared_ptr<const LadderSet> ladders;
  RenditionSinks* sinks = nullptr;  // not owned; outlives the outputs
  // Runs a task on the control thread, where the ladder is started. Unset: on the caller's thread.
  std::function<void(std::function<void()>)> run_on_control;
  pipelines::LadderOptions ladder_options;  // tests of exact output: lossless queues
  // What the start buffer may hold while the ladder starts (normally a few frames: starting takes tens of
  // milliseconds). Beyond either bound the ladder fails: only the source rendition goes on, logged and
  // counted.
  int64_t ladder_start_buffer_us = 10'000'000;
  size_t ladder_start_buffer_bytes = 32u << 20;
};

// What a curator sees of one rendition (GET /api/events/{id}/live).
struct RenditionHealth {
  std::string name;
  bool encoded = false;  // false: the source, passed through
  int width = 0, height = 0;
  int target_kbps = 0;
  bool active = true;
  double fps = 0, kbps = 0;
  int queue_depth = 0;
  int64_t frames = 0, dropped_frames = 0;
  int64_t bandwidth = 0, average_bandwidth = 0;  // measured over the packager's window
};

// Which rungs the ladder chose for this studio (GET /api/events/{id}/live): set when the ladder starts.
struct LadderChoice {
  std::string ladder;   // the ladder file's name
  int source_kbps = 0;  // the studio's video bitrate as measured before the start (0: not measured)
  std::vector<std::string> rungs;  // encoded, from the tallest (audio last)
  struct LeftOut {
    std::string rung, reason;
  };
  std::vector<LeftOut> left_out;  // a rung at the studio's own size that its bitrate did not justify
};

// Events the owner counts (metrics); called on streaming threads.
struct LiveOutputEvents {
  std::function<void(int64_t event_id)> notify;  // a rendition has a new part or ended
  std::function<void(const std::string& rung)> rung_dropped;
  // Frames a rung of the event's ladder dropped because it was behind real time (LadderListener::on_rung_late).
  std::function<void(int64_t event_id, const std::string& rung, int64_t frames)> rung_late;
  std::function<void()> ladder_failed;
  // A rung's encoded media as it leaves the ladder (facts when it is (re)configured, else a unit), for the
  // push relays that send a rung instead of the source (server/relay). Ladder streaming threads.
  std::function<void(int64_t event_id, const std::string& rung, const media::MediaFacts* facts,
                     const media::AccessUnit* unit)>
      rung_media;
};

// One event's renditions.
class LiveOutput : public hub::MediaConsumer,
                   private pipelines::LadderListener,
                   public std::enable_shared_from_this<LiveOutput> {
 public:
  // `resume`: the event continues after a restart (RenditionSinks::resume_point): every rendition numbers on
  // from there.
  LiveOutput(int64_t event_id, const LiveOutputOptions& options, const pipelines::LadderSpec* ladder,
             LiveOutputEvents events, std::optional<package::ResumePoint> resume = std::nullopt);
  ~LiveOutput() override;

  void on_session_start(const media::MediaFacts& facts, bool discontinuity, int64_t first_sample_wall_ms,
                        int64_t first_sample_media_us) override;
  void on_access_unit(const media::AccessUnit& unit) override;
  void on_session_end() override;
  void on_event_end() override;
  int64_t resumed_media_end_us() const override { return resume_ ? resume_->media_end_us : 0; }

  // The packager of a rendition, or null (not started yet, or no such rendition).
  std::shared_ptr<package::CmafPackager> rendition(const std::string& name) const;
  // The renditions a player may choose now (the master playlist): source, rungs from the tallest, audio;
  // each once it has a part, and none until a video rendition has one (when the event has video).
  std::vector<std::string> rendition_names() const;
  // A rung the overload policy (or a ladder failure) stopped: its playlist answers 404 at once, so a player
  // on it switches to another level instead of waiting on a playlist that no longer grows.
  bool stopped(const std::string& name) const;
  // A rendition that does not exist yet but may soon: no publisher session has started (an event waiting for
  // its studio after a restart) or the ladder is starting. Its playlist requests wait for it.
  bool may_appear(const std::string& name) const;
  std::vector<RenditionHealth> health() const;
  std::optional<LadderChoice> ladder_choice() const;  // none before the ladder starts (or without one)
  // The latest poster JPEG, or null.
  package::BytesPtr poster() const;
  bool ended() const;

 private:
  // LadderListener (ladder streaming threads).
  void on_rung_facts(const std::string& rung, const media::MediaFacts& facts) override;
  void on_rung_unit(const std::string& rung, const media::AccessUnit& unit) override;
  void on_rung_dropped(const std::string& rung, const std::string& reason) override;
  void on_rung_late(const std::string& rung, int64_t frames) override;
  void on_poster(std::vector<uint8_t> jpeg, int64_t pts_us) override;
  void on_failed(const std::string& reason) override;

  // The one place a rendition's packager is made (the archive attaches its sink here).
  std::shared_ptr<package::CmafPackager> make_rendition_packager(const std::string& name, bool video,
                                                                 bool audio);
  void report_variant(const package::CmafPackager& p);  // to the sinks, after each (re)configuration
  // A rendition's configuration and run for a publisher session.
  void begin_session(package::CmafPackager& p, const media::MediaFacts& facts, bool ladder_audio,
                     int64_t first_sample_wall_ms, int64_t first_sample_media_us);
  void start_ladder(const media::MediaFacts& facts);  // control thread
  void post_start(const media::MediaFacts& facts);    // start_ladder() on the control thread
  // The ladder's input, in order: a new session's facts or a unit. Buffered while the ladder starts,
  // replayed once it runs (media thread, or the control thread right after the start).
  void feed_ladder(const media::MediaFacts* facts, const media::AccessUnit* unit);
  void drain_start_buffer_locked(pipelines::Ladder& ladder);  // feed_mutex_ held
  void only_source_locked();  // the ladder failed: the rungs leave the master playlist
  // The video renditions that carry the ladder's AAC (the studio's audio is not AAC), else none.
  std::vector<std::shared_ptr<package::CmafPackager>> ladder_audio_carriers() const;

  int64_t event_id_;
  LiveOutputOptions options_;
  const std::optional<package::ResumePoint> resume_;
  const pipelines::LadderSpec* ladder_spec_;  // null: no ladder for this event
  LiveOutputEvents events_;
  mutable std::mutex mutex_;
  std::mutex sinks_mutex_;
  std::vector<std::shared_ptr<package::PackagerSink>> sinks_;  // declared before the packagers: outlives them
  std::map<std::string, std::shared_ptr<package::CmafPackager>> renditions_;
  std::vector<std::string> order_;  // master playlist order
  std::vector<std::string>
      audio_carriers_;           // video renditions that carry the source's (or the ladder's) audio
  bool source_decided_ = false;  // whether there is a `source` rendition: decided on the first session
  bool ladder_audio_ = false;    // the studio's audio is not AAC: the ladder's audio rung feeds the carriers
  // The ladder: none yet (or none for this event) → starting (posted to the control thread; the source's
  // units wait in the start buffer) → running → failed (the rungs leave the master playlist, only the source
  // goes on). One that does not start, or whose start buffer fills first, fails at once; a running one fails
  // when it reports an error.
  enum class LadderState { none, starting, running, failed };
  std::unique_ptr<pipelines::Ladder> ladder_;  // set once started (running or failed)
  LadderState ladder_state_ = LadderState::none;
  // The current publisher session (for renditions made after it started: the ladder's rungs).
  media::MediaFacts session_facts_;
  int64_t session_wall_ms_ = 0, session_media_us_ = 0;
  // While the ladder starts: what it will be fed (a session's facts, or a unit), oldest first. feed_mutex_
  // keeps the ladder's input in order across the media thread and the control thread; taken before mutex_.
  struct StartItem {
    std::optional<media::MediaFacts> facts;
    media::AccessUnit unit;
  };
  std::mutex feed_mutex_;
  std::deque<StartItem> start_buffer_;
  size_t start_buffer_bytes_ = 0;
  // Before the start is posted, when a rung depends on the source's bitrate (pipelines::has_own_size_rung):
  // the source's video bitrate over its first keyframe interval (at most kMeasureUs), from the units that
  // wait in the start buffer anyway. feed_mutex_.
  struct BitrateMeasure {
    media::MediaFacts facts;  // the first session's, posted with video_kbps once measured
    int64_t first_us = INT64_MIN, first_audio_us = INT64_MIN;
    int64_t bytes = 0;
    // The kb/s once the measure is done (0: unknown), else nothing.
    std::optional<int> add(const media::MediaFacts* facts, const media::AccessUnit* unit);
  };
  static constexpr int64_t kMeasureUs = 2'000'000;
  std::optional<BitrateMeasure> measure_;
  package::BytesPtr poster_;
  std::optional<LadderChoice> choice_;  // mutex_
  bool ended_ = false;
};

class LiveOutputs : public hub::ConsumerFactory {
 public:
  // `events` are called from the outputs' threads (media, ladder).
  LiveOutputs(LiveOutputOptions options, LiveOutputEvents events)
      : options_(std::move(options)), events_(std::move(events)) {}

  std::shared_ptr<hub::MediaConsumer> create(int64_t event_id, int64_t studio_id) override;
  std::shared_ptr<LiveOutput> find(int64_t event_id) const;
  // The ladder presets (null when the ladder is off). Any thread: set once at construction.
  const std::shared_ptr<const LadderSet>& ladders() const { return options_.ladders; }

 private:
  const LiveOutputOptions options_;
  const LiveOutputEvents events_;
  mutable std::mutex mutex_;
  std::map<int64_t, std::shared_ptr<LiveOutput>> outputs_;
};

}  // namespace sreda::live
