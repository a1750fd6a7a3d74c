#include "server/realtime/whep_service.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "server/core/random.h"

namespace sreda::realtime {

namespace {

int64_t now_ms() { return g_get_monotonic_time() / 1000; }

// Browsers' WebRTC decodes 8-bit 4:2:0 H.264 without B-frames.
// Passed through only in the profiles a viewer's WebRTC offer takes (media::choose_whep): a High-profile WHIP
// studio (OBS's x264 may send High) gets the encode instead of viewers with sound and no picture.
bool can_pass_through(const media::MediaFacts& f, bool bframes) {
  const bool webrtc_profile = f.video_profile == "constrained-baseline" || f.video_profile == "baseline" ||
                              f.video_profile == "main";
  return f.has_video && f.video_codec == "h264" && webrtc_profile && !bframes;
}

// "3.1" (GStreamer's level names) → 31; unknown → 31.
int level_idc(const std::string& level) {
  int major = 0, minor = 0;
  if (std::sscanf(level.c_str(), "%d.%d", &major, &minor) < 1 || major <= 0) return 31;
  return major * 10 + minor;
}

}  // namespace

// ---- EventTap (media thread; control thread for the ends)

void EventTap::on_session_start(const media::MediaFacts& facts, bool, int64_t, int64_t) {
  bool rebuild = false;
  {
    std::lock_guard<std::mutex> l(mutex_);
    facts_ = facts;
    bframes_ = false;
    rebuild = feed_ != nullptr;
    feed_.reset();  // a new session (codecs may differ, the mode too): a new feed, from its first keyframe
  }
  if (rebuild) service_.rebuild_feed(event_id_);
}

void EventTap::on_access_unit(const media::AccessUnit& unit) {
  bool rebuild = false;
  {
    std::lock_guard<std::mutex> l(mutex_);
    if (unit.track == media::TrackKind::video && unit.pts_us != unit.dts_us && !bframes_) {
      bframes_ = true;
      rebuild = feed_ && feed_->mode() == FeedMode::passthrough;
    }
    if (feed_) feed_->push(unit);
  }
  if (rebuild) service_.rebuild_feed(event_id_);
}

void EventTap::on_session_end() {
  std::lock_guard<std::mutex> l(mutex_);
  facts_.reset();  // the feed stays: its viewers wait through the intermission
}

void EventTap::on_event_end() {
  {
    std::lock_guard<std::mutex> l(mutex_);
    ended_ = true;
    facts_.reset();
    feed_.reset();
  }
  service_.event_ended(event_id_);
}

std::optional<media::MediaFacts> EventTap::facts() const {
  std::lock_guard<std::mutex> l(mutex_);
  return facts_;
}

bool EventTap::bframes() const {
  std::lock_guard<std::mutex> l(mutex_);
  return bframes_;
}

void EventTap::attach(std::shared_ptr<WhepFeed> feed) {
  std::lock_guard<std::mutex> l(mutex_);
  if (!ended_) feed_ = std::move(feed);
}

// ---- RealtimeFactory

namespace {

// The event's outputs first (they are the event), then its WHEP tap.
class TapConsumer : public hub::MediaConsumer {
 public:
  TapConsumer(std::shared_ptr<hub::MediaConsumer> outputs, std::shared_ptr<hub::MediaConsumer> tap)
      : outputs_(std::move(outputs)), tap_(std::move(tap)) {}
  void on_session_start(const media::MediaFacts& facts, bool discontinuity, int64_t wall_ms,
                        int64_t media_us) override {
    outputs_->on_session_start(facts, discontinuity, wall_ms, media_us);
    tap_->on_session_start(facts, discontinuity, wall_ms, media_us);
  }
  void on_access_unit(const media::AccessUnit& unit) override {
    outputs_->on_access_unit(unit);
    tap_->on_access_unit(unit);
  }
  void on_session_end() override {
    outputs_->on_session_end();
    tap_->on_session_end();
  }
  void on_event_end() override {
    outputs_->on_event_end();
    tap_->on_event_end();
  }
  int64_t resumed_media_end_us() const override { return outputs_->resumed_media_end_us(); }

 private:
  std::shared_ptr<hub::MediaConsumer> outputs_, tap_;
};

}  // namespace

std::shared_ptr<hub::MediaConsumer> RealtimeFactory::create(int64_t event_id, int64_t studio_id) {
  auto outputs = outputs_.create(event_id, studio_id);
  if (!outputs) return outputs;
  return std::make_shared<TapConsumer>(std::move(outputs), whep_.tap(event_id));
}

// ---- WhepService

WhepService::WhepService(boost::asio::any_io_executor rtc, WhepOptions options, ViewerConnector& connector,
                         WhepHooks hooks, core::Metrics& metrics)
    : rtc_(std::move(rtc)),
      options_(std::move(options)),
      connector_(connector),
      hooks_(std::move(hooks)),
      metrics_(metrics),
      refusal_log_(std::chrono::seconds(10)) {
  metrics_.gauge("sreda_whep_viewers", "real-time (WHEP) viewers connected or connecting",
                 [this] { return static_cast<double>(viewer_count_.load()); });
  metrics_.gauge("sreda_whep_feeds", "events with a running real-time feed (passthrough or encode)",
                 [this] { return static_cast<double>(feed_count_.load()); });
  metrics_.describe("sreda_whep_dropped_total", "counter",
                    "RTP packets not sent to a real-time viewer that fell behind (its video resumes at a keyframe)");
  metrics_.describe("sreda_whep_keyframe_requests_total", "counter",
                    "keyframes asked of a real-time feed (to its encoder or its WHIP publisher), after the limiter");
  metrics_.describe("sreda_whep_refused_total", "counter", "real-time viewers refused (reason: viewer_limit, "
                                                           "address_limit, not_live, feed, answer_timeout, overload with its "
                                                           "cause: ladder, whep_encode)");
}

WhepService::~WhepService() { stop(); }

std::shared_ptr<hub::MediaConsumer> WhepService::tap(int64_t event_id) {
  auto t = std::make_shared<EventTap>(*this, event_id);
  std::lock_guard<std::mutex> l(taps_mutex_);
  for (auto it = taps_.begin(); it != taps_.end();) it = it->second.expired() ? taps_.erase(it) : std::next(it);
  taps_[event_id] = t;
  return t;
}

int WhepService::viewers_of(int64_t event_id) const {
  std::lock_guard<std::mutex> l(counts_mutex_);
  auto it = viewers_by_event_.find(event_id);
  return it == viewers_by_event_.end() ? 0 : it->second;
}

PlayResult WhepService::refuse(int status, const std::string& code, const std::string& message, int retry_after_s,
                               const std::string& cause) {
  if (cause.empty())
    metrics_.add("sreda_whep_refused_total", {{"reason", code}});
  else
    metrics_.add("sreda_whep_refused_total", {{"reason", code}, {"cause", cause}});
  uint64_t held = 0;
  if (refusal_log_.allow(held))
    log_.info("viewer refused: " + message + (held ? " (" + std::to_string(held) + " more not logged)" : ""));
  PlayResult r;
  r.status = status;
  r.code = code;
  r.message = message;
  r.retry_after_s = retry_after_s;
  return r;
}

// One POST's progress (rtc thread). `cancel`: while connecting, stops the peer being made and counts it out.
struct WhepService::Attempt {
  enum class Step { looking_up, connecting, answered, timed_out } step = Step::looking_up;
  std::function<void()> cancel;
};

void WhepService::play(int64_t event_id, std::string offer, std::string peer, std::function<void(PlayResult)> done) {
  // The whole answer is bounded by webrtc.answer_timeout_ms: the event's look-up (the store thread, which a locked
  // database holds up) and the offer/answer in webrtcbin (its own thread; once the answer is set, the candidates
  // come within gather_timeout_ms). Past it the viewer is told 503 rather than left waiting, and a peer still being
  // made is stopped and counted out: nothing is left of it. The timer lives as long as the look-up's reply (go)
  // and the answer's: when both are gone, a wait still pending is cancelled.
  using Step = Attempt::Step;
  auto attempt = std::make_shared<Attempt>();
  auto timer = std::make_shared<boost::asio::steady_timer>(rtc_, std::chrono::milliseconds(options_.answer_timeout_ms));
  timer->async_wait([this, attempt, done](const boost::system::error_code& ec) {
    if (ec || attempt->step == Step::answered || attempt->step == Step::timed_out) return;
    attempt->step = Step::timed_out;
    if (auto cancel = std::exchange(attempt->cancel, nullptr)) cancel();
    done(refuse(503, "answer_timeout", "the server could not answer in time; try again", 5));
  });
  auto answered = [timer, attempt, done](PlayResult r) {
    attempt->step = Step::answered;
    attempt->cancel = nullptr;
    timer->cancel();
    done(std::move(r));
  };
  auto go = [this, attempt, answered, event_id, offer = std::move(offer), peer = std::move(peer)](bool ok, bool keys) mutable {
    boost::asio::post(rtc_, [this, attempt, answered, ok, keys, event_id, offer = std::move(offer),
                             peer = std::move(peer)]() mutable {
      if (attempt->step == Step::timed_out) return;  // told 503 already; nothing was started for it
      attempt->step = Step::connecting;
      if (!ok) return answered(refuse(404, "not_live", "this event is not live in real time"));
      play_on_rtc(event_id, keys, std::move(offer), std::move(peer), attempt, std::move(answered));
    });
  };
  if (hooks_.realtime_event)
    hooks_.realtime_event(event_id, std::move(go));
  else
    go(true, false);
}

WhepService::Event& WhepService::event(int64_t event_id) {
  auto [it, made] = events_.try_emplace(event_id);
  Event& e = it->second;
  if (made) {
    e.id = event_id;
    e.limiter = KeyframeLimiter(options_.min_keyframe_request_ms);
    e.video_ssrc = g_random_int();
    e.audio_ssrc = g_random_int();
  }
  return e;
}

int WhepService::viewers_from(const std::string& peer) const {
  int n = 0;
  for (const auto& [id, e] : events_)
    for (const auto& [token, v] : e.viewers) n += v.peer == peer;
  return n;
}

void WhepService::play_on_rtc(int64_t event_id, bool source_keyframes, std::string offer, std::string peer,
                              const std::shared_ptr<Attempt>& attempt, std::function<void(PlayResult)> done) {
  if (stopped_) return done(refuse(503, "stopping", "the server is stopping", options_.retry_after_s));
  if (viewer_count_.load() >= options_.max_viewers)
    return done(refuse(503, "viewer_limit",
                       "the server has as many real-time viewers as it may (" + std::to_string(options_.max_viewers) + ")",
                       options_.retry_after_s));
  if (viewers_from(peer) >= options_.max_per_address)
    return done(refuse(503, "address_limit",
                       "too many real-time viewers from " + peer + " (" + std::to_string(options_.max_per_address) + ")",
                       options_.retry_after_s));
  if (hooks_.overloaded)
    if (auto o = hooks_.overloaded()) return done(refuse(503, "overload", o->message, options_.retry_after_s, o->cause));
  std::shared_ptr<EventTap> tap;
  {
    std::lock_guard<std::mutex> l(taps_mutex_);
    auto it = taps_.find(event_id);
    if (it != taps_.end()) tap = it->second.lock();
  }
  if (!tap || !tap->facts()) return done(refuse(404, "not_live", "this event is not live now"));
  Event& e = event(event_id);
  e.tap = tap;
  if (e.source_keyframes != source_keyframes && e.feed && e.viewers.empty() && e.connecting == 0)
    stop_feed(e, "the studio's publisher changed");
  e.source_keyframes = source_keyframes;
  std::string error;
  if (!ensure_feed(e, error)) {
    PlayResult r = refuse(error.find("needs H.264") != std::string::npos ? 422 : 500, "feed", error);
    maybe_idle(e);
    return done(std::move(r));
  }
  const std::string token = core::random_token(16);
  const uint64_t id = next_viewer_++;
  e.connecting++;
  viewer_count_++;
  ViewerRequest request;
  request.event_id = event_id;
  request.offer = std::move(offer);
  request.peer = peer;
  request.tracks.video = e.feed->has_video();
  request.tracks.audio = e.feed->has_audio();
  request.tracks.video_ssrc = e.video_ssrc;
  request.tracks.audio_ssrc = e.audio_ssrc;
  request.tracks.width = e.feed->width();
  request.tracks.height = e.feed->height();
  if (e.feed->mode() == FeedMode::passthrough) {  // the viewer decodes the studio's own H.264
    const auto facts = tap->facts();
    if (facts && !facts->video_profile.empty()) request.tracks.video_profile = facts->video_profile;
    if (facts) request.tracks.video_level_idc = level_idc(facts->video_level);
  } else if (e.feed->height() > 720) {
    request.tracks.video_level_idc = 40;
  }
  ViewerEvents events;
  events.keyframe_wanted = [this, event_id] { boost::asio::post(rtc_, [this, event_id] { keyframe_wanted(event_id); }); };
  events.closed = [this, event_id, token](std::string why) {
    boost::asio::post(rtc_, [this, event_id, token, why] { remove_viewer(event_id, token, why); });
  };
  auto cancel = connector_.connect(std::move(request), std::move(events),
                                   [this, attempt, event_id, token, id, peer, done](Connected c) {
    if (attempt->step == Attempt::Step::timed_out) {  // told 503 already, and counted out then
      if (c.link) c.link->close();
      return;
    }
    auto it = events_.find(event_id);
    if (it == events_.end() || stopped_) {  // the event ended (or the server stops) while it connected
      viewer_count_--;
      if (c.link) c.link->close();
      return done(refuse(404, "not_live", "this event is not live now"));
    }
    Event& ev = it->second;
    ev.connecting--;
    if (!c.link || !ev.fanout) {
      viewer_count_--;
      if (c.link) c.link->close();
      PlayResult r;
      r.status = c.status ? c.status : 500;
      r.code = "offer";
      r.message = c.message.empty() ? "the real-time connection could not be made" : c.message;
      log_.info("event " + std::to_string(event_id) + " viewer " + peer + ": " + r.message);
      maybe_idle(ev);
      return done(std::move(r));
    }
    Viewer v;
    v.token = token;
    v.id = id;
    v.peer = peer;
    v.link = c.link;
    ev.viewers.emplace(token, std::move(v));
    if (ev.idle) ev.idle->cancel();
    {
      std::lock_guard<std::mutex> l(counts_mutex_);
      viewers_by_event_[event_id]++;
    }
    ev.fanout->add(id, c.link, c.video_pt, c.audio_pt);  // asks for a keyframe
    log_.info("event " + std::to_string(event_id) + ": real-time viewer " + peer + " joined (" +
              std::to_string(ev.viewers.size()) + " now, " + to_string(ev.feed ? ev.feed->mode() : FeedMode::encode) + ")");
    PlayResult r;
    r.status = 201;
    r.answer = std::move(c.answer);
    r.token = token;
    done(std::move(r));
  });
  if (attempt->step != Attempt::Step::connecting) return;  // answered already (a refused offer)
  attempt->cancel = [this, event_id, cancel = std::move(cancel)] {
    if (cancel) cancel();
    viewer_count_--;
    auto it = events_.find(event_id);
    if (it == events_.end()) return;
    it->second.connecting--;
    log_.info("event " + std::to_string(event_id) + ": a real-time viewer's answer was not ready within "
              "webrtc.answer_timeout_ms; its connection was stopped");
    maybe_idle(it->second);
  };
}

bool WhepService::ensure_feed(Event& e, std::string& error) {
  if (e.feed) return true;
  auto facts = e.tap ? e.tap->facts() : std::nullopt;
  if (!facts) return error = "this event is not live now", false;
  const int64_t event_id = e.id;
  if (!e.fanout) {
    FanoutCallbacks callbacks;
    callbacks.keyframe_wanted = [this, event_id] { boost::asio::post(rtc_, [this, event_id] { keyframe_wanted(event_id); }); };
    callbacks.stalled = [this, event_id](uint64_t viewer) {
      boost::asio::post(rtc_, [this, event_id, viewer] {
        auto it = events_.find(event_id);
        if (it == events_.end()) return;
        for (const auto& [token, v] : it->second.viewers)
          if (v.id == viewer) return remove_viewer(event_id, token, "it stayed behind (its connection is too slow)");
      });
    };
    callbacks.dropped = [this](int64_t n) { metrics_.add("sreda_whep_dropped_total", {}, static_cast<double>(n)); };
    // Sender threads: one event's viewers spread over up to 4 cores (whep_fanout.h).
    const int senders = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
    e.fanout = std::make_shared<Fanout>(options_.queue_ms, options_.stall_ms, std::move(callbacks), senders);
    e.fanout->feed_error = [this, event_id](const std::string& why) {
      boost::asio::post(rtc_, [this, event_id, why] {
        auto it = events_.find(event_id);
        if (it == events_.end()) return;
        std::vector<std::string> tokens;
        for (const auto& [token, v] : it->second.viewers) tokens.push_back(token);
        for (const auto& t : tokens) remove_viewer(event_id, t, "the real-time feed failed: " + why);
        stop_feed(it->second, "failed: " + why);
      });
    };
  }
  // Passthrough when the studio's keyframes can be asked for (then ask for the first one).
  const bool source_keys = facts->has_video && e.source_keyframes && hooks_.request_source_keyframe &&
                           can_pass_through(*facts, e.tap->bframes());
  const FeedMode mode = source_keys || !facts->has_video ? FeedMode::passthrough : FeedMode::encode;
  if (source_keys) hooks_.request_source_keyframe(event_id);
  auto feed = std::make_shared<WhepFeed>(event_id, mode, *facts, options_.feed, e.video_ssrc, e.audio_ssrc, *e.fanout);
  if (hooks_.encode_late)
    feed->on_late([this, event_id](int64_t frames) {
      if (viewers_of(event_id) > 0) hooks_.encode_late(event_id, frames);  // an idle feed's late frames are nobody's
    });
  if (!feed->start(error)) {
    feed->stop();
    log_.warn("event " + std::to_string(event_id) + ": the real-time feed did not start: " + error);
    return false;
  }
  e.feed = feed;
  e.tap->attach(feed);
  feed_count_++;
  log_.info("event " + std::to_string(event_id) + ": real-time feed started (" + to_string(mode) +
            (mode == FeedMode::encode && facts->has_video
                 ? ", " + std::to_string(feed->width()) + "x" + std::to_string(feed->height()) + " " +
                       std::to_string(options_.feed.video_kbps) + " kb/s"
                 : "") +
            ")");
  return true;
}

void WhepService::stop_feed(Event& e, const std::string& why) {
  if (!e.feed) return;
  if (e.tap) e.tap->attach(nullptr);
  e.feed->stop();  // its streaming threads are joined: the fan-out hears nothing more from it
  e.feed.reset();
  if (e.fanout) e.fanout->new_source();  // the next feed's timestamps continue these (viewers stay)
  feed_count_--;
  log_.info("event " + std::to_string(e.id) + ": real-time feed stopped: " + why);
}

void WhepService::rebuild_feed(int64_t event_id) {
  boost::asio::post(rtc_, [this, event_id] {
    auto it = events_.find(event_id);
    if (it == events_.end() || !it->second.feed || stopped_) return;
    Event& e = it->second;
    stop_feed(e, "the studio's stream changed (a new session, or B-frames): rebuilt");
    std::string error;
    if (!e.viewers.empty() && !ensure_feed(e, error)) log_.warn("event " + std::to_string(event_id) + ": " + error);
    // No viewers (or no session now): the next viewer starts it.
  });
}

void WhepService::event_ended(int64_t event_id) {
  boost::asio::post(rtc_, [this, event_id] {
    auto it = events_.find(event_id);
    if (it == events_.end()) return;
    std::vector<std::string> tokens;
    for (const auto& [token, v] : it->second.viewers) tokens.push_back(token);
    for (const auto& t : tokens) remove_viewer(event_id, t, "the event ended");
    it = events_.find(event_id);
    if (it == events_.end()) return;
    stop_feed(it->second, "the event ended");
    if (it->second.connecting == 0) events_.erase(it);
  });
}

void WhepService::remove_viewer(int64_t event_id, const std::string& token, const std::string& why) {
  auto it = events_.find(event_id);
  if (it == events_.end()) return;
  Event& e = it->second;
  auto v = e.viewers.find(token);
  if (v == e.viewers.end()) return;
  if (e.fanout) e.fanout->remove(v->second.id);
  v->second.link->close();
  log_.info("event " + std::to_string(event_id) + ": real-time viewer " + v->second.peer + " closed: " + why);
  e.viewers.erase(v);
  viewer_count_--;
  {
    std::lock_guard<std::mutex> l(counts_mutex_);
    if (--viewers_by_event_[event_id] <= 0) viewers_by_event_.erase(event_id);
  }
  maybe_idle(e);
}

void WhepService::maybe_idle(Event& e) {
  if (!e.viewers.empty() || e.connecting > 0 || stopped_) return;
  if (!e.feed) return;
  if (!e.idle) e.idle = std::make_unique<boost::asio::steady_timer>(rtc_);
  e.idle->expires_after(std::chrono::seconds(options_.idle_stop_s));
  const int64_t event_id = e.id;
  e.idle->async_wait([this, event_id](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = events_.find(event_id);
    if (it == events_.end() || !it->second.viewers.empty() || it->second.connecting > 0) return;
    stop_feed(it->second, "no real-time viewer for " + std::to_string(options_.idle_stop_s) + " s");
  });
}

void WhepService::keyframe_wanted(int64_t event_id) {
  auto it = events_.find(event_id);
  if (it == events_.end() || !it->second.feed) return;
  Event& e = it->second;
  if (e.limiter.request(now_ms())) return send_keyframe_request(e);
  if (e.key_timer) return;  // one waits already: requests coalesce
  e.key_timer = std::make_unique<boost::asio::steady_timer>(rtc_);
  e.key_timer->expires_after(std::chrono::milliseconds(std::max<int64_t>(1, e.limiter.next_allowed_ms() - now_ms())));
  e.key_timer->async_wait([this, event_id](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = events_.find(event_id);
    if (it == events_.end()) return;
    Event& ev = it->second;
    ev.key_timer.reset();  // its handler runs: nothing of it is pending any more
    if (ev.feed && ev.limiter.due(now_ms())) send_keyframe_request(ev);
  });
}

void WhepService::send_keyframe_request(Event& e) {
  if (!e.feed) return;
  const bool source = e.feed->mode() == FeedMode::passthrough;
  if (source) {
    if (hooks_.request_source_keyframe) hooks_.request_source_keyframe(e.id);
  } else {
    e.feed->force_keyframe();
  }
  metrics_.add("sreda_whep_keyframe_requests_total", {{"to", source ? "publisher" : "encoder"}});
}

void WhepService::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [event_id, e] : events_) {
    for (auto& [token, v] : e.viewers) {
      if (e.fanout) e.fanout->remove(v.id);
      v.link->close();
      viewer_count_--;
    }
    e.viewers.clear();
    if (e.idle) e.idle->cancel();
    if (e.key_timer) e.key_timer->cancel();
    stop_feed(e, "the server stops");
  }
  std::lock_guard<std::mutex> l(counts_mutex_);
  viewers_by_event_.clear();
}

void WhepService::end(int64_t event_id, std::string token, std::function<void(bool)> done) {
  boost::asio::post(rtc_, [this, event_id, token = std::move(token), done = std::move(done)] {
    auto it = events_.find(event_id);
    const bool found = it != events_.end() && it->second.viewers.count(token);
    if (found) remove_viewer(event_id, token, "the viewer left (DELETE)");
    done(found);
  });
}

}  // namespace sreda::realtime
