// EventHub: attaches publishers to the event scheduled for their studio now and owns every LiveEvent's
// state machine  scheduled → live ⇄ intermission → ended (schedule/event_state.h), persisting each change.
//
// Injected: the control thread's executor, the clock and its timers (ControlClock: a test drives the grace
// with a fake one), the store, and how an event's consumers are made (ConsumerFactory).
//
// Threads: all state lives on the control thread (the executor's). Ingest threads call request_publish(),
// input()/push() and publisher_gone(); the API calls end_event() and live_info(); each posts to control.
// The hub knows no protocol's wire format: protocol adapters (server/ingest/*_bridge) call into it. The
// media hot path: an adapter that parses its stream (RTMP) feeds the session's PublisherInput on its own
// thread; push() (SRT) queues MPEG-TS for the session's GStreamer source pipeline. Either way the units reach
// the consumers on the session's own thread (MediaQueue), never touching control state.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/config/config.h"
#include "server/core/metrics.h"
#include "server/hub/control_clock.h"
#include "server/hub/key_directory.h"
#include "server/hub/media_consumer.h"
#include "server/media/source_listener.h"
#include "server/schedule/event_state.h"
#include "server/store/store.h"

namespace sreda::pipelines {
class SourcePipeline;
}

namespace sreda::hub {

// The event states are the schedule's (an event row holds one); the hub moves events between them.
using schedule::can_change;
using schedule::event_state;
using schedule::EventState;
using schedule::on_air;
using schedule::to_string;

// pull: a studio's source pulled by the server itself (server/relay/pull_manager.h), its MPEG-TS through push()
// like SRT's; the same publish rules (one publisher per studio, the window, the grace).
// whip: a WebRTC publisher (a browser, OBS 30+; server/ingest/whip): its adapter makes access units and feeds
// input() like RTMP's.
enum class Protocol { rtmp, srt, pull, whip };
const char* protocol_name(Protocol p);

using Decide = std::function<void(bool ok, std::string reason)>;

// One accepted publisher's media, for an adapter that parses its stream itself (RTMP): access units and
// codec facts (the SourceListener calls, in order, from one thread at a time), and what it counts. Held by
// the adapter while the connection lasts; once the session has ended (closed()) its calls do nothing.
class PublisherInput : public media::SourceListener {
 public:
  virtual bool closed() const = 0;
  virtual void count_bytes(uint64_t bytes) = 0;   // as received, for bitrate and sreda_ingest_bytes_total
  virtual void count_dropped(uint64_t units) = 0; // malformed or unusable units the adapter dropped
};
using Disconnect = std::function<void(std::string reason)>;
// Asks a publisher for a keyframe (WHIP: a PLI to the browser or OBS; the adapter rate-limits it). Any thread.
using RequestKeyframe = std::function<void()>;

class EventHub {
 public:
  // `clock` null: the system clock, timers on `control` (AsioControlClock). `consumers` null: no consumers
  // (the events' media goes nowhere).
  EventHub(boost::asio::any_io_executor control, store::Store& store, const config::Config& config,
           core::Metrics& metrics, ConsumerFactory* consumers, ControlClock* clock = nullptr);
  ~EventHub();

  // -- ingest threads --
  // A publisher with a known key asks to publish. decide() is called once, from the control thread.
  // `disconnect` closes that publisher's connection (any thread). `session` is unique per connection.
  // `request_keyframe`: how to ask this publisher for a keyframe (request_keyframe(event_id)); empty: it cannot.
  // A WHIP publish takes over from the studio's WHIP publisher that sent no media for webrtc.takeover_silence_ms
  // (a browser whose network dropped: without ICE consent freshness its old session lingers); the old one is
  // disconnected as on a drop and the new one continues the event (a reconnect).
  void request_publish(Protocol protocol, uint64_t session, const StudioKey& studio, const std::string& remote,
                       Decide decide, Disconnect disconnect, RequestKeyframe request_keyframe = {});
  // MPEG-TS bytes of an accepted SRT or pull session, for its source pipeline. False when its bounded queue is full.
  bool push(uint64_t session, const uint8_t* data, size_t size);
  // The media input of an accepted session whose adapter parses the stream (nullptr when it has gone, or
  // when its media goes through push()). Its units are queued for the event's consumers (bounded: consumers
  // more than 3 s behind lose video to the next keyframe, counted).
  std::shared_ptr<PublisherInput> input(uint64_t session);
  void publisher_gone(uint64_t session, const std::string& reason);
  // A refused publish or connection (unknown key, a limit, …), for /metrics.
  void count_refused(Protocol protocol, const std::string& reason);

  // -- any thread --
  // Asks the live event's publisher for a keyframe (a new real-time viewer, a packager waiting for one). Nothing
  // when the event is not live or its publisher cannot be asked (RTMP, SRT: their encoders' GOP).
  void request_keyframe(int64_t event_id);

  // -- any thread --
  // The studio's stream key changed (KeyDirectory's on_revoked): its publisher, if it used a key older than
  // `valid_generation` (0: every key), is disconnected (the event goes to intermission as on any drop), and
  // publishes still being decided with an older key are refused.
  void revoke_key(int64_t studio_id, uint64_t valid_generation);

  // -- any thread; replies come from the control thread --
  // Ends a live or intermission event (disconnecting its publisher). reply(false) when it was not live.
  void end_event(int64_t event_id, std::function<void(bool was_live)> reply);
  // Ingest facts of a live event, or nullopt when it is not live.
  void live_info(int64_t event_id, std::function<void(std::optional<nlohmann::json>)> reply);

  // -- any thread --
  // The live state and media clock of a live or intermission event (the time of the newest media received,
  // on the event's media timeline in milliseconds); nullopt when the event is not live.
  struct Clock {
    EventState state = EventState::live;  // live | intermission
    int64_t media_ms = 0;
  };
  std::optional<Clock> clock(int64_t event_id) const;
  // Every live or intermission event, for /metrics: its studio, state, and how long the studio has sent no
  // media (since its last bytes, sampled once a second; since the event was taken on, or the server started,
  // when none came yet).
  struct OnAir {
    int64_t event_id = 0;
    int64_t studio_id = 0;
    std::string studio_name;
    EventState state = EventState::live;
    int64_t silent_ms = 0;
    // The stream's health for curators' reports: the bitrate arriving over the last second, the studio's
    // reconnects and the media dropped since the event went live.
    int64_t bitrate_kbps = 0;
    int64_t reconnects = 0;
    int64_t dropped = 0;
  };
  std::vector<OnAir> on_air_events() const;

  // Control thread start-up/shutdown (from the app). stop() ends every live event's pipelines (events stay
  // in their state: a restart finds them live/intermission and the grace rules apply again).
  void start();
  void stop();

  struct Session;
  struct LiveEvent;

 private:
  // `looked_up`: false when the store could not answer (a locked database): the publisher hears "busy", not
  // "no event" (event_id is then 0).
  void attach(Protocol protocol, uint64_t session, const StudioKey& studio, const std::string& remote,
              int64_t event_id, bool looked_up, EventState stored, Decide decide, Disconnect disconnect,
              RequestKeyframe request_keyframe);
  // A WHIP publish finding the studio's WHIP publisher silent for webrtc.takeover_silence_ms: the old one goes
  // (intermission, as on a drop) so the new one continues the event. False when it may not take over.
  bool take_over(Protocol protocol, const std::shared_ptr<Session>& current);
  // Ends a session's media (its last units drained to the consumers) and unhooks it from its event: the
  // event it was publishing for (null: none, or a session that left while its publish was decided).
  struct Released {
    LiveEvent* event = nullptr;
    std::shared_ptr<Session> session;
  };
  Released release(uint64_t session);
  void detach(uint64_t session, const std::string& reason);  // release, then intermission (not when stopping)
  void finish(int64_t event_id, const std::string& why);
  // The one place an event's state changes: checked against can_change(), published to clock() readers and
  // stored.
  void change_state(LiveEvent& e, EventState to);
  void start_grace(LiveEvent& e);  // intermission: the studio has reconnect_grace_s to come back
  void on_source_failed(uint64_t session, const std::string& reason);
  std::shared_ptr<Session> find_session(uint64_t session) const;
  void sample_rates();
  void count_dropped(LiveEvent& e, const Session& s);  // sreda_ingest_dropped_total, since the last count
  nlohmann::json describe(const LiveEvent& e) const;

  boost::asio::any_io_executor control_;
  store::Store& store_;
  const config::Config& config_;
  core::Metrics& metrics_;
  ConsumerFactory* consumers_;
  std::unique_ptr<ControlClock> own_clock_;  // when none was given
  ControlClock& clock_;
  std::unique_ptr<Timer> rate_timer_;
  bool stopping_ = false;

  // Control thread only.
  std::map<int64_t, std::unique_ptr<LiveEvent>> events_;  // event id → live event
  std::map<int64_t, int64_t> studio_events_;               // studio id → event id while live/intermission
  std::map<int64_t, int> pending_studios_;                 // studio id → publishes being decided
  std::set<uint64_t> awaiting_;  // sessions whose publish is being decided
  std::set<uint64_t> gone_;      // …and that left before the decision
  std::map<int64_t, uint64_t> valid_generation_;  // studio id → oldest key generation still valid

  // The seam with readers of the media clock (the audience hub on the web thread).
  struct ClockEntry {
    EventState state = EventState::live;
    std::shared_ptr<Session> session;  // while a publisher is attached
    int64_t media_end_us = 0;
    int64_t studio_id = 0;
    std::string studio_name;
    int64_t last_input_ms = 0;  // LiveEvent::last_input_ms
    int64_t bitrate_kbps = 0, reconnects = 0, dropped = 0;  // sample_rates(), for OnAir
  };
  void publish_clock(const LiveEvent& e);
  mutable std::mutex clocks_mutex_;
  std::unordered_map<int64_t, ClockEntry> clocks_;

  // The seam with ingest threads.
  mutable std::mutex sessions_mutex_;
  std::unordered_map<uint64_t, std::shared_ptr<Session>> sessions_;
};

}  // namespace sreda::hub
