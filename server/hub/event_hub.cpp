// Long because the hub's control-thread state machine and the publisher session (its media thread side)
// share the Event/Session types defined here; issue 18 (media off the ingest thread) splits the session out.
#include "server/hub/event_hub.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <future>

#include "pipelines/source/source_pipeline.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/hub/media_queue.h"
#include "server/schedule/catalog.h"

namespace sreda::hub {

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::rtmp: return "rtmp";
    case Protocol::srt: return "srt";
    case Protocol::pull: return "pull";
    case Protocol::whip: return "whip";
  }
  return "?";
}

namespace {
// Media clock headroom at the start of each publisher session: B-frames put video DTS before the first
// PTS, and the clock must never go below the previous session's end.
constexpr int64_t kSessionHeadroomUs = 500'000;
constexpr size_t kMaxQueuedBytes = 8 << 20;  // per session, towards GStreamer (SRT)
constexpr int64_t kClockDriftPerMille = 20;  // a studio's clock may run this much slow (per mille) and not be late
constexpr int64_t kLateAfterMs = 1000;        // a frame arriving later than this behind real time is late
// A track's decode time that steps back by more than this, or forward by this much more than the wall clock
// moved, is an encoder restart (or a broken muxer), not media: the track continues where it was.
constexpr int64_t kJumpBackUs = 1'000'000;
constexpr int64_t kJumpForwardUs = 3'000'000;
}  // namespace

// One publisher connection. Shared by the ingest thread (push), GStreamer threads (the listener) and
// the control thread (lifecycle); counters are atomics, facts under a mutex.
// Its media comes from one of two sources: a protocol adapter that parses it (RTMP: H.264/AAC in FLV, on the
// ingest thread) and calls the PublisherInput methods, or the GStreamer `pipeline` (SRT's MPEG-TS, push()).
// Either way the units reach the consumers through `queue`, on the session's own thread.
struct EventHub::Session : PublisherInput {
  EventHub* hub = nullptr;
  uint64_t id = 0;
  int64_t event_id = 0;
  int64_t studio_id = 0;
  uint64_t key_generation = 0;  // which of the studio's keys opened it (KeyDirectory)
  Protocol protocol = Protocol::rtmp;
  std::string remote;
  Disconnect disconnect;
  RequestKeyframe request_keyframe;  // empty: the publisher cannot be asked (RTMP, SRT)
  std::unique_ptr<pipelines::SourcePipeline> pipeline;
  std::atomic<bool> closed_{false};  // no more units reach the consumer
  std::shared_ptr<MediaConsumer> consumer;
  std::unique_ptr<MediaQueue> queue;  // between the source (ingest thread, SRT pipeline) and the consumers
  bool discontinuity = false;
  int64_t media_base_us = 0;
  int64_t started_ms = 0;       // the publish's acceptance (uptime, takeover)
  int64_t media_anchor_ms = 0;  // the wall time of the first sample (set at the first prepare)
  std::atomic<int64_t> offset_us{INT64_MIN};
  std::atomic<int64_t> last_media_us{0};
  std::atomic<int64_t> last_unit_ms{0};  // the clock's time of the newest unit (0: none yet), for a takeover
  std::atomic<uint64_t> bytes_in{0}, video_frames{0}, audio_frames{0}, dropped_pushes{0}, late_frames{0};
  std::atomic<bool> counted_limit{false};
  // How far the publisher's media runs behind real time (a slow encoder or line). Its lateness (wall time
  // since the session's first picture minus media time since it) is measured against the least late it has
  // been, a baseline that may creep up by kClockDriftPerMille of the time passed: a studio whose clock runs
  // slow (1 % is 10 ms a second) is not behind, a line that cannot carry the stream (its lateness grows by a
  // tenth of a second a second or more) soon is. The video thread writes; behind_ms is read anywhere.
  std::atomic<int64_t> first_unit_wall_ms{0}, first_unit_dts_us{0}, behind_ms{0};
  int64_t late_base_us = 0, late_base_wall_ms = 0;
  // The last keyframe interval (video thread writes; 0 until two keyframes came).
  std::atomic<int64_t> last_keyframe_us{INT64_MIN}, keyframe_interval_ms{0};
  // Per track (each touched only by its track's thread): the publisher's last decode time, when it came, the
  // usual step, and how far a timestamp jump moved the track (added to what the publisher sends).
  struct TrackClock {
    int64_t last_raw_us = INT64_MIN;
    int64_t last_wall_ms = 0;
    int64_t step_us = 0;
    int64_t adjust_us = 0;
  };
  TrackClock clocks[2];
  std::atomic<uint64_t> timestamp_jumps{0};
  mutable std::mutex facts_mutex;
  media::MediaFacts facts;
  bool prepared = false;
  core::Logger log{""};

  void on_prepared(const media::MediaFacts& f) override {
    {
      std::lock_guard lock(facts_mutex);
      if (prepared) discontinuity = true;  // a new codec configuration mid-stream: a new session start
      // The wall time of the session's first sample (its PROGRAM-DATE-TIME, the archive's and the comments'
      // clock). RTMP and SRT media follow the publish at once: the publish's time. A WHIP publish is accepted
      // before ICE, DTLS and the first keyframe (0.3-0.6 s on loopback, seconds on a real line): its media
      // starts when its first units are ready (prepared), so the playlist does not date them that much early.
      if (!prepared) media_anchor_ms = protocol == Protocol::whip ? hub->clock_.now_ms() : started_ms;
      facts = f;
      prepared = true;
    }
    log.info("prepared: " + std::string(f.has_video ? f.video_codec + " " + f.video_profile + " " +
                                                          std::to_string(f.width) + "x" + std::to_string(f.height)
                                                    : "no video") +
             ", " + (f.has_audio ? f.audio_codec + " " + std::to_string(f.audio_rate) + " Hz" : "no audio"));
    if (queue) queue->session_start(f, discontinuity, media_anchor_ms, media_base_us + kSessionHeadroomUs);
  }
  void on_access_unit(media::AccessUnit u) override {
    if (closed_) return;  // the session has ended: its counters and clocks stay as release() read them
    const int64_t now = hub->clock_.now_ms();
    last_unit_ms.store(now, std::memory_order_relaxed);
    dejump(u, now);
    const int64_t dts = u.dts_us;  // the publisher's time, continuous across timestamp jumps
    // The first unit of the session (from either track's thread) fixes the offset for both tracks.
    int64_t offset = offset_us.load();
    if (offset == INT64_MIN) {
      int64_t mine = media_base_us + kSessionHeadroomUs - dts;
      offset = offset_us.compare_exchange_strong(offset, mine) ? mine : offset;
    }
    u.dts_us += offset;
    u.pts_us += offset;
    int64_t end = u.dts_us + u.duration_us;
    for (int64_t seen = last_media_us.load(); end > seen && !last_media_us.compare_exchange_weak(seen, end);) {
    }
    (u.track == media::TrackKind::video ? video_frames : audio_frames)++;
    if (u.track == media::TrackKind::video) {
      int64_t zero = 0;
      if (first_unit_wall_ms.compare_exchange_strong(zero, now)) {
        first_unit_dts_us = dts;
        late_base_us = 0;
        late_base_wall_ms = now;
      }
      const int64_t lateness_us = (now - first_unit_wall_ms.load()) * 1000 - (dts - first_unit_dts_us.load());
      late_base_us = std::min(lateness_us, late_base_us + (now - late_base_wall_ms) * kClockDriftPerMille);
      late_base_wall_ms = now;
      const int64_t behind = (lateness_us - late_base_us) / 1000;
      behind_ms = behind;
      if (behind > kLateAfterMs) late_frames++;
      if (u.keyframe) {
        const int64_t last = last_keyframe_us.exchange(dts);
        if (last != INT64_MIN && dts > last) keyframe_interval_ms = (dts - last) / 1000;
      }
    }
    if (queue) queue->unit(std::move(u));
  }
  // Timestamps that jump without a reconnect (an encoder restarted, a muxer that wrapped): the track goes on
  // one usual step after its last unit, so the event's media time stays continuous (no frozen stretch while
  // the packager waits for times it has passed, no hole players cannot cross).
  void dejump(media::AccessUnit& unit, int64_t now) {
    TrackClock& c = clocks[unit.track == media::TrackKind::video ? 0 : 1];
    if (c.last_raw_us != INT64_MIN) {
      const int64_t step = unit.dts_us - c.last_raw_us;
      const int64_t wall_us = (now - c.last_wall_ms) * 1000;
      if (step < -kJumpBackUs || step > wall_us + kJumpForwardUs) {
        const int64_t usual = c.step_us > 0 ? c.step_us : 20'000;
        c.adjust_us += c.last_raw_us + usual - unit.dts_us;
        if (timestamp_jumps++ % 16 == 0)  // one line per jump, not per track and unit (at most 1 in 16)
          log.warn(std::string("the publisher's ") + (unit.track == media::TrackKind::video ? "video" : "audio") +
                   " timestamps jumped " + (step < 0 ? "back" : "forward") + " by " +
                   std::to_string(std::llabs(step) / 1000) + " ms without a reconnect (an encoder restart?): the " +
                   "stream goes on from where it was");
      } else if (step > 0) {
        c.step_us = step;
      }
    }
    c.last_raw_us = unit.dts_us;
    c.last_wall_ms = now;
    unit.dts_us += c.adjust_us;
    unit.pts_us += c.adjust_us;
  }
  void on_failed(const std::string& reason) override {
    auto self = id;
    auto* h = hub;
    boost::asio::post(h->control_, [h, self, reason] { h->on_source_failed(self, reason); });
  }
  void on_eos() override {}

  // Ends the session's media: no unit reaches the consumer after this returns (GStreamer, the queue: drained).
  void close() {
    if (pipeline) pipeline->stop();
    closed_ = true;
    if (queue) queue->close();
  }
  bool closed() const override { return closed_; }
  void count_bytes(uint64_t bytes) override { bytes_in += bytes; }
  void count_dropped(uint64_t units) override { dropped_pushes += units; }
  uint64_t dropped() const { return dropped_pushes.load() + (queue ? queue->dropped() : 0); }
};

struct EventHub::LiveEvent {
  int64_t event_id = 0;
  int64_t studio_id = 0;
  std::string studio_name;
  EventState state = EventState::scheduled;  // live | intermission once attached (as stored before that)
  std::shared_ptr<Session> session;
  std::shared_ptr<MediaConsumer> consumer;
  int reconnects = 0;
  int64_t live_since_ms = 0;
  int64_t media_end_us = 0;
  std::unique_ptr<Timer> grace;  // in intermission: ends the event unless the studio comes back
  // Rates, sampled once a second.
  uint64_t last_bytes = 0, last_frames = 0, last_dropped = 0;
  double bitrate_bps = 0, fps = 0;
  uint64_t dropped_total = 0;
  int64_t last_input_ms = 0;  // the clock's time of the studio's last bytes (sampled), or when taken on
};

EventHub::EventHub(boost::asio::any_io_executor control, store::Store& store, const config::Config& config,
                   core::Metrics& metrics, ConsumerFactory* consumers, ControlClock* clock)
    : control_(std::move(control)), store_(store), config_(config), metrics_(metrics), consumers_(consumers),
      own_clock_(clock ? nullptr : std::make_unique<AsioControlClock>(control_)),
      clock_(clock ? *clock : *own_clock_) {
  metrics_.describe("sreda_ingest_refused_total", "counter",
                    "publishes and connections refused or closed by a limit, by protocol and reason");
  metrics_.describe("sreda_ingest_bytes_total", "counter", "bytes received from publishers, by studio");
  metrics_.describe("sreda_ingest_frames_total", "counter", "video frames received from publishers, by studio");
  metrics_.describe("sreda_ingest_reconnects_total", "counter", "publisher reconnects within the grace, by studio");
  metrics_.describe("sreda_ingest_takeovers_total", "counter",
                    "WHIP publishes that took over from the studio's silent WHIP publisher (a browser that dropped), "
                    "by protocol");
  metrics_.describe("sreda_ingest_dropped_total", "counter",
                    "media dropped, by studio: MPEG-TS pieces when the SRT source pipeline fell behind, RTMP pictures or "
                    "audio frames that were malformed, came before their codec configuration, or found the event's "
                    "media queue full (its consumers 3 s behind)");
}

EventHub::~EventHub() = default;

void EventHub::count_refused(Protocol protocol, const std::string& reason) {
  metrics_.add("sreda_ingest_refused_total", {{"protocol", protocol_name(protocol)}, {"reason", reason}});
}

void EventHub::start() {
  // Events a stop or crash left live: their studios get the grace period to come back.
  store_.post([this](store::Db& db) {
    auto unfinished = schedule::find_unfinished_events(db);
    boost::asio::post(control_, [this, unfinished] {
      for (const auto& ev : unfinished) {
        auto e = std::make_unique<LiveEvent>();
        e->event_id = ev.id;
        e->studio_id = ev.studio_id;
        e->studio_name = ev.studio_name;
        e->state = ev.state;  // as stored: live or intermission
        e->live_since_ms = clock_.now_ms();
        e->last_input_ms = e->live_since_ms;
        if (consumers_) e->consumer = consumers_->create(ev.id, ev.studio_id);
        // The media clock continues where the earlier run's media ended (comments keep their order, the
        // recording one timeline); the next session starts after it, as after any reconnect.
        if (e->consumer) e->media_end_us = e->consumer->resumed_media_end_us();
        core::Logger("hub").info("event " + std::to_string(ev.id) + " was " + to_string(ev.state) +
                                 " when the server stopped: waiting " +
                                 std::to_string(config_.studios.reconnect_grace_s) + " s for its studio");
        auto* raw = e.get();
        studio_events_[ev.studio_id] = ev.id;
        events_[ev.id] = std::move(e);
        change_state(*raw, EventState::intermission);
        start_grace(*raw);
      }
    });
  });
  boost::asio::post(control_, [this] { sample_rates(); });
}

void EventHub::stop() {
  std::promise<void> done;
  boost::asio::post(control_, [this, &done] {
    stopping_ = true;
    rate_timer_.reset();
    for (auto& [id, e] : events_) {
      e->grace.reset();
      if (e->session) {
        {
          std::lock_guard lock(sessions_mutex_);
          sessions_.erase(e->session->id);
        }
        if (e->session->disconnect) e->session->disconnect("server stopping");
        e->session->close();
        e->session.reset();
      }
    }
    events_.clear();
    studio_events_.clear();
    {
      std::lock_guard lock(clocks_mutex_);
      clocks_.clear();
    }
    done.set_value();
  });
  done.get_future().wait();
}

void EventHub::request_publish(Protocol protocol, uint64_t session, const StudioKey& studio,
                               const std::string& remote, Decide decide, Disconnect disconnect,
                               RequestKeyframe request_keyframe) {
  boost::asio::post(control_, [=, this] {
    auto refuse = [&](const std::string& code, const std::string& why) {
      count_refused(protocol, code);
      core::Logger(std::string(protocol_name(protocol)) + " " + remote + " studio=" + std::to_string(studio.studio_id))
          .info("publish refused: " + why);
      decide(false, why);
    };
    if (stopping_) return refuse("stopping", "the server is stopping");
    if (pending_studios_[studio.studio_id] > 0) return refuse("already_live", "this studio is already publishing");
    auto live = studio_events_.find(studio.studio_id);
    if (live != studio_events_.end() && events_.at(live->second)->session &&
        !take_over(protocol, events_.at(live->second)->session))
      return refuse("already_live", "this studio is already publishing");
    pending_studios_[studio.studio_id]++;
    awaiting_.insert(session);
    const bool allow_unscheduled = config_.studios.allow_unscheduled;
    bool queued = store_.post([=, this](store::Db& db) {
      int64_t event_id = 0;
      bool looked_up = true;
      EventState stored = EventState::scheduled;
      try {
        const int64_t now = clock_.now_ms() / 1000;
        auto ev = schedule::find_current_event(db, studio.studio_id, now);
        if (!ev && allow_unscheduled) {
          if (auto s = schedule::find_studio(db, studio.studio_id)) ev = schedule::create_adhoc_event(db, *s, now);
        }
        if (ev) {
          event_id = ev->id;
          stored = ev->state;
        }
      } catch (const std::exception& e) {
        // A locked or failing database (with allow_unscheduled, the ad-hoc event's insert waits for the write
        // lock): our trouble, not the studio's — it is told the server is busy, to try again.
        core::Logger("hub").error(std::string("event lookup failed: ") + e.what());
        looked_up = false;
      }
      boost::asio::post(control_, [=, this] {
        attach(protocol, session, studio, remote, event_id, looked_up, stored, decide, disconnect, request_keyframe);
      });
    });
    if (!queued) {
      awaiting_.erase(session);
      pending_studios_[studio.studio_id]--;
      refuse("busy", "the server is busy; try again");
    }
  });
}

bool EventHub::take_over(Protocol protocol, const std::shared_ptr<Session>& current) {
  const int64_t silence_ms = config_.webrtc.takeover_silence_ms;
  if (protocol != Protocol::whip || current->protocol != Protocol::whip || silence_ms <= 0) return false;
  const int64_t last = std::max(current->started_ms, current->last_unit_ms.load(std::memory_order_relaxed));
  const int64_t silent = clock_.now_ms() - last;
  if (silent < silence_ms) return false;
  const std::string why = "a new publisher of this studio took over (this one sent no media for " +
                          std::to_string(silent / 1000) + " s)";
  current->log.info("taken over: " + why);
  metrics_.add("sreda_ingest_takeovers_total", {{"protocol", protocol_name(protocol)}});
  if (current->disconnect) current->disconnect(why);
  detach(current->id, why);
  return true;
}

void EventHub::attach(Protocol protocol, uint64_t session_id, const StudioKey& studio, const std::string& remote,
                      int64_t event_id, bool looked_up, EventState stored, Decide decide, Disconnect disconnect,
                      RequestKeyframe request_keyframe) {
  if (--pending_studios_[studio.studio_id] <= 0) pending_studios_.erase(studio.studio_id);
  awaiting_.erase(session_id);
  if (gone_.erase(session_id)) return decide(false, "the publisher left");
  core::Logger log(std::string(protocol_name(protocol)) + " " + remote + " studio=" + std::to_string(studio.studio_id));
  if (stopping_) {
    count_refused(protocol, "stopping");
    return decide(false, "the server is stopping");
  }
  if (auto v = valid_generation_.find(studio.studio_id); v != valid_generation_.end() && studio.generation < v->second) {
    count_refused(protocol, "key_rotated");
    log.info("publish refused: the stream key was rotated while the publish was decided");
    return decide(false, "this stream key is no longer valid");
  }
  if (!looked_up) {
    count_refused(protocol, "database");
    log.warn("publish refused: the database did not answer (it may be locked); the studio is told to try again");
    return decide(false, "the server is busy; try again");
  }
  if (!event_id) {
    count_refused(protocol, "no_event");
    log.info("publish refused: no event is scheduled for this studio now");
    return decide(false,
                  "no event is scheduled for this studio now (a studio may go live from 30 minutes before its event "
                  "starts until 60 minutes after it ends)");
  }
  LiveEvent* e = nullptr;
  const bool fresh = !events_.count(event_id);  // not held yet: the event's first publish (of this run)
  if (!fresh) {
    e = events_.at(event_id).get();
    if (e->session) {
      count_refused(protocol, "already_live");
      return decide(false, "this studio is already publishing");
    }
  } else {
    auto made = std::make_unique<LiveEvent>();
    made->event_id = event_id;
    made->studio_id = studio.studio_id;
    made->studio_name = studio.name;
    made->state = stored;
    made->live_since_ms = clock_.now_ms();
    if (consumers_) made->consumer = consumers_->create(event_id, studio.studio_id);
    e = made.get();
    events_[event_id] = std::move(made);
    studio_events_[studio.studio_id] = event_id;
  }
  auto s = std::make_shared<Session>();
  s->hub = this;
  s->id = session_id;
  s->event_id = event_id;
  s->studio_id = studio.studio_id;
  s->key_generation = studio.generation;
  s->protocol = protocol;
  s->remote = remote;
  s->disconnect = disconnect;
  s->request_keyframe = request_keyframe;
  s->consumer = e->consumer;
  s->discontinuity = !fresh || stored == EventState::intermission;
  s->media_base_us = e->media_end_us;
  s->started_ms = clock_.now_ms();
  s->log = core::Logger(std::string(protocol_name(protocol)) + " " + remote + " event=" + std::to_string(event_id));
  // Both protocols hand their units to the consumers on the session's own thread: not the ingest thread
  // (RTMP), not a GStreamer streaming thread of the source (SRT), so a slow consumer delays only this event.
  if (s->consumer) s->queue = std::make_unique<MediaQueue>("media-" + std::to_string(event_id), s->consumer);
  std::string error;
  if (protocol == Protocol::srt || protocol == Protocol::pull) {  // MPEG-TS through push(): SRT, a pulled source
    s->pipeline = std::make_unique<pipelines::SourcePipeline>(
        pipelines::Container::mpegts, "source-" + std::to_string(event_id) + "-" + std::to_string(session_id), *s,
        kMaxQueuedBytes, static_cast<size_t>(config_.ingest.max_held_media_bytes));
  }
  if (s->pipeline && !s->pipeline->start(error)) {
    log.error("cannot start the source pipeline: " + error);
    s->pipeline->stop(0);
    count_refused(protocol, "pipeline");
    if (fresh) {
      studio_events_.erase(studio.studio_id);
      events_.erase(event_id);
    }  // else it waits on in intermission, its grace running
    return decide(false, "the server could not start processing the stream");
  }
  if (!fresh) {
    e->grace.reset();
    e->reconnects++;
    metrics_.add("sreda_ingest_reconnects_total", {{"studio", std::to_string(studio.studio_id)}});
  }
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_[session_id] = s;
  }
  e->session = s;
  e->last_input_ms = clock_.now_ms();  // silence counts from the publish
  e->last_bytes = 0;
  e->last_frames = 0;
  e->last_dropped = 0;
  change_state(*e, EventState::live);
  log.info("live: event " + std::to_string(event_id) + (e->reconnects ? " (reconnect " + std::to_string(e->reconnects) + ")" : ""));
  decide(true, "");
}

std::shared_ptr<EventHub::Session> EventHub::find_session(uint64_t session) const {
  std::lock_guard lock(sessions_mutex_);
  auto it = sessions_.find(session);
  return it == sessions_.end() ? nullptr : it->second;
}

bool EventHub::push(uint64_t session, const uint8_t* data, size_t size) {
  auto s = find_session(session);
  if (!s || !s->pipeline) return false;
  s->bytes_in += size;
  if (s->pipeline->push(data, size)) return true;
  s->dropped_pushes++;
  return false;
}

std::shared_ptr<PublisherInput> EventHub::input(uint64_t session) {
  auto s = find_session(session);
  if (!s || s->pipeline) return nullptr;
  return s;
}

void EventHub::request_keyframe(int64_t event_id) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lock(clocks_mutex_);
    auto it = clocks_.find(event_id);
    if (it == clocks_.end()) return;
    s = it->second.session;
  }
  if (s && !s->closed() && s->request_keyframe) s->request_keyframe();
}

void EventHub::publisher_gone(uint64_t session, const std::string& reason) {
  boost::asio::post(control_, [this, session, reason] { detach(session, reason); });
}

EventHub::Released EventHub::release(uint64_t session_id) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(session_id);
    if (it != sessions_.end()) {
      s = it->second;
      sessions_.erase(it);
    }
  }
  if (!s) {
    if (awaiting_.count(session_id)) gone_.insert(session_id);  // left while its publish was decided
    return {};
  }
  auto it = events_.find(s->event_id);
  s->close();  // drain: the last units reach the consumers
  if (it == events_.end() || it->second->session != s) return {};
  LiveEvent& e = *it->second;
  e.session.reset();
  e.media_end_us = std::max(e.media_end_us, s->last_media_us.load());
  count_dropped(e, *s);
  e.dropped_total += s->dropped();
  if (e.consumer) e.consumer->on_session_end();
  return {&e, s};
}

void EventHub::detach(uint64_t session_id, const std::string& reason) {
  auto [e, s] = release(session_id);
  if (!e || stopping_) return;
  change_state(*e, EventState::intermission);
  s->log.info("intermission: the publisher left (" + reason + "); waiting " +
              std::to_string(config_.studios.reconnect_grace_s) + " s for it to come back");
  start_grace(*e);
}

void EventHub::start_grace(LiveEvent& e) {
  e.grace = clock_.after(config_.studios.reconnect_grace_s * int64_t{1000}, [this, id = e.event_id] {
    finish(id, "the studio did not come back within the grace period");
  });
}

void EventHub::finish(int64_t event_id, const std::string& why) {
  auto it = events_.find(event_id);
  if (it == events_.end()) return;
  LiveEvent& e = *it->second;
  e.grace.reset();
  if (e.session) {
    auto s = e.session;
    if (s->disconnect) s->disconnect(why);
    release(s->id);  // not to intermission: it ends
  }
  change_state(e, EventState::ended);  // stored before on_event_end: the archive's `archived` job follows it
  if (e.consumer) e.consumer->on_event_end();
  core::Logger("hub event=" + std::to_string(event_id)).info("ended: " + why);
  studio_events_.erase(e.studio_id);
  events_.erase(it);
}

void EventHub::end_event(int64_t event_id, std::function<void(bool)> reply) {
  boost::asio::post(control_, [this, event_id, reply] {
    if (!events_.count(event_id)) return reply(false);
    finish(event_id, "ended by a curator");
    reply(true);
  });
}

void EventHub::revoke_key(int64_t studio_id, uint64_t valid_generation) {
  boost::asio::post(control_, [this, studio_id, valid_generation] {
    uint64_t& valid = valid_generation_[studio_id];
    valid = valid_generation == 0 ? UINT64_MAX : std::max(valid, valid_generation);
    auto live = studio_events_.find(studio_id);
    if (live == studio_events_.end()) return;
    auto s = events_.at(live->second)->session;
    if (!s || s->key_generation >= valid) return;
    const std::string why = "the studio's stream key was rotated";
    s->log.warn("disconnecting the publisher: it used the old stream key (the key was rotated)");
    count_refused(s->protocol, "key_rotated");
    if (s->disconnect) s->disconnect(why);
    detach(s->id, why);
  });
}

void EventHub::on_source_failed(uint64_t session_id, const std::string& reason) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    s = it->second;
  }
  s->log.warn("the stream cannot be used: " + reason);
  metrics_.add("sreda_ingest_failures_total", {{"protocol", protocol_name(s->protocol)}});
  // The RTMP adapter counts its own (it parses on the ingest thread); the SRT source pipeline's is counted here.
  if (s->pipeline && s->pipeline->held_bytes_exceeded() && !s->counted_limit.exchange(true))
    count_refused(s->protocol, "held_media_bytes");
  if (s->disconnect) s->disconnect(reason);
  detach(session_id, reason);
}

void EventHub::publish_clock(const LiveEvent& e) {
  std::lock_guard lock(clocks_mutex_);
  if (!on_air(e.state)) {
    clocks_.erase(e.event_id);
    return;
  }
  ClockEntry& entry = clocks_[e.event_id];
  entry.state = e.state;
  entry.session = e.session;
  entry.media_end_us = e.media_end_us;
  entry.studio_id = e.studio_id;
  entry.studio_name = e.studio_name;
  entry.last_input_ms = e.last_input_ms;
  entry.reconnects = e.reconnects;
}

std::optional<EventHub::Clock> EventHub::clock(int64_t event_id) const {
  std::lock_guard lock(clocks_mutex_);
  auto it = clocks_.find(event_id);
  if (it == clocks_.end()) return std::nullopt;
  int64_t us = it->second.media_end_us;
  if (it->second.session) us = std::max(us, it->second.session->last_media_us.load());
  return Clock{it->second.state, us / 1000};
}

std::vector<EventHub::OnAir> EventHub::on_air_events() const {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(clocks_mutex_);
  std::vector<OnAir> out;
  out.reserve(clocks_.size());
  for (const auto& [id, c] : clocks_)
    out.push_back({id, c.studio_id, c.studio_name, c.state, std::max<int64_t>(0, now - c.last_input_ms),
                   c.bitrate_kbps, c.reconnects, c.dropped});
  return out;
}

void EventHub::change_state(LiveEvent& e, EventState to) {
  const std::string id = std::to_string(e.event_id);
  if (!can_change(e.state, to))
    core::Logger("hub event=" + id).warn(std::string("unexpected change of state: ") + to_string(e.state) + " → " +
                                         to_string(to));
  e.state = to;
  publish_clock(e);
  const int64_t now_s = clock_.now_ms() / 1000;
  bool queued = store_.post([event_id = e.event_id, to, now_s](store::Db& db) {
    schedule::set_event_state(db, event_id, to, now_s);
  });
  if (!queued) core::Logger("hub").error("could not record event " + id + " as " + to_string(to));
}

void EventHub::count_dropped(LiveEvent& e, const Session& s) {
  const uint64_t dropped = s.dropped();
  if (dropped > e.last_dropped)
    metrics_.add("sreda_ingest_dropped_total", {{"studio", std::to_string(e.studio_id)}},
                 static_cast<double>(dropped - e.last_dropped));
  e.last_dropped = dropped;
}

void EventHub::sample_rates() {
  if (stopping_) return;
  for (auto& [id, e] : events_) {
    if (!e->session) {
      e->bitrate_bps = 0;
      e->fps = 0;
      std::lock_guard lock(clocks_mutex_);
      if (auto it = clocks_.find(e->event_id); it != clocks_.end()) it->second.bitrate_kbps = 0;
      continue;
    }
    uint64_t bytes = e->session->bytes_in, frames = e->session->video_frames;
    if (bytes != e->last_bytes) {
      e->last_input_ms = clock_.now_ms();
      std::lock_guard lock(clocks_mutex_);
      if (auto it = clocks_.find(e->event_id); it != clocks_.end()) it->second.last_input_ms = e->last_input_ms;
    }
    e->bitrate_bps = static_cast<double>(bytes - e->last_bytes) * 8.0;
    e->fps = static_cast<double>(frames - e->last_frames);
    std::string studio = std::to_string(e->studio_id);
    metrics_.add("sreda_ingest_bytes_total", {{"studio", studio}}, static_cast<double>(bytes - e->last_bytes));
    metrics_.add("sreda_ingest_frames_total", {{"studio", studio}}, static_cast<double>(frames - e->last_frames));
    e->last_bytes = bytes;
    e->last_frames = frames;
    count_dropped(*e, *e->session);
    std::lock_guard lock(clocks_mutex_);
    if (auto it = clocks_.find(e->event_id); it != clocks_.end()) {
      it->second.bitrate_kbps = static_cast<int64_t>(e->bitrate_bps / 1000.0);
      it->second.reconnects = e->reconnects;
      it->second.dropped = static_cast<int64_t>(e->dropped_total + e->session->dropped());
    }
  }
  rate_timer_ = clock_.after(1000, [this] { sample_rates(); });
}

nlohmann::json EventHub::describe(const LiveEvent& e) const {
  nlohmann::json j = {{"event_id", e.event_id},
                      {"state", to_string(e.state)},
                      {"studio", {{"id", e.studio_id}, {"name", e.studio_name}}},
                      {"live_since", core::format_rfc3339(e.live_since_ms / 1000)},
                      {"reconnects", e.reconnects},
                      {"media_time_ms", e.media_end_us / 1000}};
  if (!e.session) {
    j["publisher"] = nullptr;
    return j;
  }
  const Session& s = *e.session;
  media::MediaFacts f;
  bool prepared;
  {
    std::lock_guard lock(s.facts_mutex);
    f = s.facts;
    prepared = s.prepared;
  }
  nlohmann::json media = nullptr;
  if (prepared) {
    media = nlohmann::json::object();
    if (f.has_video)
      media["video"] = {{"codec", f.video_codec}, {"profile", f.video_profile}, {"level", f.video_level},
                        {"width", f.width}, {"height", f.height},
                        {"frame_rate", f.fps_num && f.fps_den ? static_cast<double>(f.fps_num) / f.fps_den : 0.0}};
    else
      media["video"] = nullptr;
    if (f.has_audio)
      media["audio"] = {{"codec", f.audio_codec}, {"sample_rate", f.audio_rate}, {"channels", f.audio_channels}};
    else
      media["audio"] = nullptr;
  }
  j["publisher"] = {{"protocol", protocol_name(s.protocol)},
                    {"remote_address", s.remote},
                    {"uptime_s", (clock_.now_ms() - s.started_ms) / 1000},
                    {"media", media},
                    {"bitrate_kbps", e.bitrate_bps / 1000.0},
                    {"frame_rate", e.fps},
                    {"bytes_in", s.bytes_in.load()},
                    {"video_frames", s.video_frames.load()},
                    {"audio_frames", s.audio_frames.load()},
                    {"dropped", e.dropped_total + s.dropped()},
                    {"late_frames", s.late_frames.load()},
                    {"behind_realtime_ms", std::max<int64_t>(0, s.behind_ms.load())},
                    {"keyframe_interval_s", static_cast<double>(s.keyframe_interval_ms.load()) / 1000.0},
                    {"timestamp_jumps", s.timestamp_jumps.load()}};
  return j;
}

void EventHub::live_info(int64_t event_id, std::function<void(std::optional<nlohmann::json>)> reply) {
  boost::asio::post(control_, [this, event_id, reply] {
    auto it = events_.find(event_id);
    if (it == events_.end()) return reply(std::nullopt);
    reply(describe(*it->second));
  });
}

}  // namespace sreda::hub
