// WHEP playback (draft-ietf-wish-whep): real-time viewers of live events whose curator turned real time on.
//
// Per event, while it has at least one viewer (and webrtc.whep_idle_stop_s after the last one left): one
// WhepFeed (whep_feed.h: the studio's H.264 passed through when its keyframes can be asked for, else one
// encode without B-frames; Opus) and its Fanout (whep_fanout.h) to every viewer's connection. The feed takes
// the event's access units through an EventTap, a consumer beside the event's outputs (RealtimeFactory wraps
// the hub's ConsumerFactory, as the push relays do). Keyframe requests (a viewer joins, sends a PLI or lost
// packets) go through one limiter per feed (webrtc.min_keyframe_request_ms): to the encoder, or to the
// publisher (a WHIP studio: the app's request_source_keyframe).
//
// Limits: webrtc.max_whep_viewers on the server and webrtc.max_whep_per_address from one address → 503 with
// Retry-After (the watch page plays LL-HLS instead), each refusal logged (throttled) and counted. So is a new
// viewer while the server is behind real time (hooks.overloaded, the app's overload rule); viewers already
// watching stay. The encode's late frames go to hooks.encode_late only while its event has viewers (an idle
// feed, on its way out, does not count).
//
// Threads: play()/end() from any thread (the reply comes from the rtc thread); everything else on the rtc
// thread (the executor given): feeds are built, started and stopped there, viewers connected and closed
// there. The taps run on the events' media threads and on the control thread (create, session end, event
// end). Counters from any thread. Its timers (a POST's answer bound, a feed's idle stop, keyframe requests) and
// the handlers it posts capture the service: destroy it only once the rtc executor has stopped running (the
// app's stop_rtc: stop() on the rtc thread, then the io_context stopped and its thread joined), so none of them
// can run after; the io_context's destructor then drops them unrun.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "server/core/log.h"
#include "server/core/metrics.h"
#include "server/hub/media_consumer.h"
#include "server/realtime/rtp_packets.h"
#include "server/realtime/whep_fanout.h"
#include "server/realtime/whep_feed.h"

namespace sreda::realtime {

struct WhepOptions {
  FeedOptions feed;
  int max_viewers = 50;
  int max_per_address = 4;
  int queue_ms = 500;
  int stall_ms = 5000;            // a viewer this long behind is closed
  int idle_stop_s = 15;
  int min_keyframe_request_ms = 1000;
  int retry_after_s = 10;         // what a refused viewer is told (it plays LL-HLS meanwhile)
  int answer_timeout_ms = 5000;   // no answer in this long (look-up, offer/answer) → 503 answer_timeout, peer stopped
};

// What the feed sends, for the viewer's answer: which tracks, their SSRCs, and the feed's own payload types.
struct FeedTracks {
  bool video = false, audio = false;
  uint32_t video_ssrc = 0, audio_ssrc = 0;
  int width = 0, height = 0;
  std::string video_profile = "constrained-baseline";  // what the viewer's decoder must take
  int video_level_idc = 31;
};

// One viewer's connection being made from its offer (a WebRtcPeer in send mode, server/realtime/whep_peer.h).
struct ViewerRequest {
  int64_t event_id = 0;
  std::string offer;
  std::string peer;
  FeedTracks tracks;
};
struct ViewerEvents {
  std::function<void()> keyframe_wanted;              // the viewer's PLI/FIR (any thread)
  std::function<void(std::string reason)> closed;     // ICE/DTLS failed or the peer left (any thread)
};
struct Connected {
  std::shared_ptr<ViewerLink> link;  // null: failed (status, message)
  std::string answer;
  int video_pt = 0, audio_pt = 0;   // the viewer's payload types (its offer's)
  int status = 0;                   // when failed: 400/422 (the offer), 500/503
  std::string message;
};
class ViewerConnector {
 public:
  virtual ~ViewerConnector() = default;
  // rtc thread; `done` at most once, from the rtc thread. Returns what stops a connection still being made (rtc
  // thread): after it `done` may still come (already on its way) or never.
  virtual std::function<void()> connect(ViewerRequest request, ViewerEvents events,
                                        std::function<void(Connected)> done) = 0;
};

// The answer to a viewer's POST.
struct PlayResult {
  int status = 201;        // 201, 404, 503, or the offer's 400/422
  std::string answer;      // 201: the answer SDP
  std::string token;       // 201: the session's part of its Location (/whep/<event>/<token>)
  std::string code, message;
  int retry_after_s = 0;   // 503
};

// Why new viewers wait: `cause` for the metric's label (ladder, whep_encode), `message` in words.
struct Overloaded {
  std::string cause, message;
};

struct WhepHooks {
  // Whether the event may be watched in real time now (a live event with the realtime flag), and whether its
  // publisher's keyframes can be asked for (a WHIP studio: its H.264 may then be passed through). Any thread;
  // answers once, from any thread. Unset: every live event may, and keyframes cannot be asked for.
  std::function<void(int64_t event_id, std::function<void(bool ok, bool source_keyframes)> reply)> realtime_event;
  // Asks the event's publisher for a keyframe (EventHub::request_keyframe). Any thread.
  std::function<void(int64_t event_id)> request_source_keyframe;
  // Late frames of an event's encode (WhepFeed::on_late), while the event has viewers. Streaming thread.
  std::function<void(int64_t event_id, int64_t frames)> encode_late;
  // Whether new viewers must wait because the server is behind real time (rtc thread): nullopt, or why.
  std::function<std::optional<Overloaded>()> overloaded;
};

class EventTap;

class WhepService {
 public:
  WhepService(boost::asio::any_io_executor rtc, WhepOptions options, ViewerConnector& connector, WhepHooks hooks,
              core::Metrics& metrics);
  ~WhepService();

  // Any thread.
  void play(int64_t event_id, std::string offer, std::string peer, std::function<void(PlayResult)> done);
  void end(int64_t event_id, std::string token, std::function<void(bool found)> done);
  // The consumer beside an event's outputs (RealtimeFactory; control thread).
  std::shared_ptr<hub::MediaConsumer> tap(int64_t event_id);
  // Closes every viewer and stops every feed (rtc thread or after it has stopped; the app's stop).
  void stop();

  int viewers() const { return viewer_count_.load(); }
  int feeds() const { return feed_count_.load(); }
  // Viewers of one event (any thread).
  int viewers_of(int64_t event_id) const;

  // From the taps (any thread): the event's source changed so that its feed must be rebuilt (another codec,
  // B-frames in a passthrough), or the event ended.
  void rebuild_feed(int64_t event_id);
  void event_ended(int64_t event_id);

 private:
  struct Viewer {
    std::string token;
    uint64_t id = 0;
    std::string peer;
    std::shared_ptr<ViewerLink> link;
  };
  struct Event {
    int64_t id = 0;
    std::shared_ptr<EventTap> tap;
    std::shared_ptr<Fanout> fanout;
    std::shared_ptr<WhepFeed> feed;
    uint32_t video_ssrc = 0, audio_ssrc = 0;
    std::map<std::string, Viewer> viewers;  // by token
    int connecting = 0;
    std::unique_ptr<boost::asio::steady_timer> idle;
    std::unique_ptr<boost::asio::steady_timer> key_timer;
    KeyframeLimiter limiter{1000};
    bool source_keyframes = false;  // the publisher's keyframes can be asked for (a WHIP studio)
  };

  struct Attempt;  // one POST's progress against webrtc.answer_timeout_ms (rtc thread)
  void play_on_rtc(int64_t event_id, bool source_keyframes, std::string offer, std::string peer,
                   const std::shared_ptr<Attempt>& attempt,
                   std::function<void(PlayResult)> done);
  PlayResult refuse(int status, const std::string& code, const std::string& message, int retry_after_s = 0,
                    const std::string& cause = "");
  bool ensure_feed(Event& e, std::string& error);  // rtc thread; passthrough when e.source_keyframes
  void stop_feed(Event& e, const std::string& why);
  void remove_viewer(int64_t event_id, const std::string& token, const std::string& why);
  void maybe_idle(Event& e);
  void keyframe_wanted(int64_t event_id);  // rtc thread
  void send_keyframe_request(Event& e);
  Event& event(int64_t event_id);
  int viewers_from(const std::string& peer) const;

  boost::asio::any_io_executor rtc_;
  const WhepOptions options_;
  ViewerConnector& connector_;
  WhepHooks hooks_;
  core::Metrics& metrics_;
  core::Logger log_{"whep"};
  core::LogThrottle refusal_log_;

  mutable std::mutex taps_mutex_;
  std::map<int64_t, std::weak_ptr<EventTap>> taps_;

  // rtc thread.
  std::map<int64_t, Event> events_;
  uint64_t next_viewer_ = 1;
  bool stopped_ = false;
  std::atomic<int> viewer_count_{0}, feed_count_{0};
  mutable std::mutex counts_mutex_;
  std::map<int64_t, int> viewers_by_event_;  // for viewers_of()
};

// One event's media for its WHEP feed: the current session's facts and, while a feed runs, the units into it.
class EventTap : public hub::MediaConsumer {
 public:
  EventTap(WhepService& service, int64_t event_id) : service_(service), event_id_(event_id) {}

  void on_session_start(const media::MediaFacts& facts, bool discontinuity, int64_t first_sample_wall_ms,
                        int64_t first_sample_media_us) override;
  void on_access_unit(const media::AccessUnit& unit) override;
  void on_session_end() override;
  void on_event_end() override;

  // The current session's facts (none between sessions) and whether its video has B-frames (seen so far).
  std::optional<media::MediaFacts> facts() const;
  bool bframes() const;
  // The feed the units go to (null: none). rtc thread.
  void attach(std::shared_ptr<WhepFeed> feed);

 private:
  WhepService& service_;
  const int64_t event_id_;
  mutable std::mutex mutex_;
  std::optional<media::MediaFacts> facts_;
  bool bframes_ = false;
  bool ended_ = false;
  std::shared_ptr<WhepFeed> feed_;
};

// The hub's ConsumerFactory with a WHEP tap beside each event's outputs (and relays).
class RealtimeFactory : public hub::ConsumerFactory {
 public:
  RealtimeFactory(hub::ConsumerFactory& outputs, WhepService& whep) : outputs_(outputs), whep_(whep) {}
  std::shared_ptr<hub::MediaConsumer> create(int64_t event_id, int64_t studio_id) override;

 private:
  hub::ConsumerFactory& outputs_;
  WhepService& whep_;
};

}  // namespace sreda::realtime
