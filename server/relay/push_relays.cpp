#include "server/relay/push_relays.h"

#include <algorithm>
#include <chrono>

#include "server/core/log.h"
#include "server/relay/relay_connection.h"

namespace sreda::relay {

namespace {

const core::Logger& log() {
  static const core::Logger l("relays");
  return l;
}

// The event's outputs first (they are the event), then its relays.
class TeeConsumer : public hub::MediaConsumer {
 public:
  TeeConsumer(std::shared_ptr<hub::MediaConsumer> outputs, std::shared_ptr<EventRelays> relays)
      : outputs_(std::move(outputs)), relays_(std::move(relays)) {}
  void on_session_start(const media::MediaFacts& facts, bool discontinuity, int64_t wall_ms,
                        int64_t media_us) override {
    outputs_->on_session_start(facts, discontinuity, wall_ms, media_us);
    relays_->on_session_start(facts, discontinuity, wall_ms, media_us);
  }
  void on_access_unit(const media::AccessUnit& unit) override {
    outputs_->on_access_unit(unit);
    relays_->on_access_unit(unit);
  }
  void on_session_end() override {
    outputs_->on_session_end();
    relays_->on_session_end();
  }
  void on_event_end() override {
    outputs_->on_event_end();
    relays_->on_event_end();
  }
  int64_t resumed_media_end_us() const override { return outputs_->resumed_media_end_us(); }

 private:
  std::shared_ptr<hub::MediaConsumer> outputs_;
  std::shared_ptr<EventRelays> relays_;
};

RelayStatus idle_status(const RelayTarget& t, const std::string& why) {
  RelayStatus s;
  s.id = t.id;
  s.name = t.name;
  s.url_masked = masked(t.url);
  s.rendition = t.rendition;
  s.state = "stopped";
  s.last_error = why;
  return s;
}

bool same_target(const RelayTarget& a, const RelayTarget& b) {
  return a.url == b.url && a.rendition == b.rendition && a.name == b.name;
}

}  // namespace

// ---- EventRelays

EventRelays::EventRelays(PushRelays& owner, int64_t event_id, int64_t studio_id)
    : owner_(owner), event_id_(event_id), studio_id_(studio_id) {}

EventRelays::~EventRelays() {
  std::lock_guard<std::mutex> l(mutex_);
  for (auto& [id, s] : senders_) {
    s->stop();
    owner_.retire(std::move(s));
  }
}

bool EventRelays::sends_rung(const RelaySender& s) const {
  return owner_.options_.ladder && s.target().rendition != "source";
}

std::shared_ptr<const media::MediaFacts> EventRelays::session_for(const RelaySender& s) const {
  if (!sends_rung(s)) return facts_;
  auto it = rung_sessions_.find(s.target().rendition);
  return it == rung_sessions_.end() ? nullptr : it->second;
}

void EventRelays::update_rung_session(const std::string& rung) {
  auto it = rung_facts_.find(rung);
  if (!facts_ || it == rung_facts_.end()) return;
  auto merged = std::make_shared<media::MediaFacts>(*facts_);  // the studio's audio
  const media::MediaFacts& v = it->second;
  merged->has_video = true;
  merged->video_codec = v.video_codec;
  merged->video_profile = v.video_profile;
  merged->video_level = v.video_level;
  merged->width = v.width;
  merged->height = v.height;
  merged->fps_num = v.fps_num;
  merged->fps_den = v.fps_den;
  merged->video_codec_data = v.video_codec_data;
  merged->video_caps = v.video_caps;
  merged->video_kbps = v.video_kbps;
  rung_sessions_[rung] = merged;
  for (auto& [id, s] : senders_)
    if (sends_rung(*s) && s->target().rendition == rung) s->session_start(merged);
}

void EventRelays::on_session_start(const media::MediaFacts& facts, bool, int64_t, int64_t) {
  std::lock_guard<std::mutex> l(mutex_);
  facts_ = std::make_shared<const media::MediaFacts>(facts);
  rung_sessions_.clear();
  for (const auto& [rung, f] : rung_facts_) update_rung_session(rung);
  for (auto& [id, s] : senders_)
    if (!sends_rung(*s)) s->session_start(facts_);
}

void EventRelays::on_access_unit(const media::AccessUnit& unit) {
  std::lock_guard<std::mutex> l(mutex_);
  // A rung's targets take the studio's audio here and their video from the ladder (on_rung).
  for (auto& [id, s] : senders_)
    if (!sends_rung(*s) || unit.track == media::TrackKind::audio) s->unit(unit);
}

void EventRelays::on_rung(const std::string& rung, const media::MediaFacts* facts,
                          const media::AccessUnit* unit) {
  std::lock_guard<std::mutex> l(mutex_);
  if (facts) {
    if (!facts->has_video) return;  // the audio rung: the studio's own audio goes as it is
    rung_facts_[rung] = *facts;
    update_rung_session(rung);
  }
  if (unit && unit->track == media::TrackKind::video)
    for (auto& [id, s] : senders_)
      if (sends_rung(*s) && s->target().rendition == rung) s->unit(*unit);
}

void EventRelays::on_session_end() {
  std::lock_guard<std::mutex> l(mutex_);
  facts_.reset();
  rung_sessions_.clear();
  for (auto& [id, s] : senders_) s->session_end();
}

void EventRelays::on_event_end() {
  std::lock_guard<std::mutex> l(mutex_);
  ended_ = true;
  for (auto& [id, s] : senders_) {
    s->event_end();
    idle_.push_back(idle_status(s->target(), ""));
    owner_.retire(std::move(s));
  }
  senders_.clear();
}

bool EventRelays::ended() const {
  std::lock_guard<std::mutex> l(mutex_);
  return ended_;
}

void EventRelays::apply(std::vector<RelayTarget> targets) {
  std::lock_guard<std::mutex> l(mutex_);
  if (ended_) return;
  std::map<int64_t, RelayTarget> wanted;
  idle_.clear();
  int enabled = 0;
  for (auto& t : targets) {
    if (!t.enabled) {
      idle_.push_back(idle_status(t, "disabled"));
    } else if (enabled >= owner_.options_.max_per_event) {
      idle_.push_back(idle_status(t, "more targets than relays.max_per_event (" +
                                         std::to_string(owner_.options_.max_per_event) + ")"));
    } else {
      ++enabled;
      wanted.emplace(t.id, std::move(t));
    }
  }
  for (auto it = senders_.begin(); it != senders_.end();) {
    auto w = wanted.find(it->first);
    if (w == wanted.end() || !same_target(w->second, it->second->target())) {
      it->second->stop();
      owner_.retire(std::move(it->second));
      it = senders_.erase(it);
    } else {
      wanted.erase(w);  // unchanged: goes on
      ++it;
    }
  }
  for (auto& [id, t] : wanted) {
    if (t.rendition != "source" && !owner_.options_.ladder)
      log().info("event " + std::to_string(event_id_) + " relay " + std::to_string(id) + ": rendition " +
                 t.rendition + " is sent as the source (the ladder is off)");
    auto s = owner_.make_sender(event_id_, t);
    if (auto f = session_for(*s)) s->session_start(f);
    s->start();
    senders_.emplace(id, std::move(s));
  }
}

std::vector<RelayStatus> EventRelays::status() const {
  std::lock_guard<std::mutex> l(mutex_);
  std::vector<RelayStatus> out;
  for (const auto& [id, s] : senders_) out.push_back(s->status());
  out.insert(out.end(), idle_.begin(), idle_.end());
  std::sort(out.begin(), out.end(), [](const RelayStatus& a, const RelayStatus& b) { return a.id < b.id; });
  return out;
}

// ---- PushRelays

PushRelays::PushRelays(PushRelaysOptions options, RelayTargetSource& targets, core::Metrics& metrics)
    : options_(std::move(options)), targets_(targets), metrics_(metrics) {
  metrics_.describe("sreda_relay_bytes_sent_total", "counter",
                    "bytes a push relay sent to its target, by event and relay");
  metrics_.describe("sreda_relay_reconnects_total", "counter",
                    "times a push relay tried its target again after a failure");
  metrics_.describe(
      "sreda_relay_dropped_total", "counter",
      "media units a push relay dropped because its target fell behind its queue (relays.queue_ms)");
  metrics_.describe("sreda_relay_tests_refused_total", "counter",
                    "\"test connection\" requests refused: one was already running for that curator or relay "
                    "(cause=\"holder\"), or RelayControl::kMaxRelayTests were (cause=\"at_once\")");
  metrics_.gauges("sreda_relay_state", "push relays of the events on air (1 each), by event, relay and state",
                  [this] {
                    core::Metrics::Series out;
                    for (const auto& e : live_events())
                      for (const auto& s : e->status())
                        out.push_back({{{"event", std::to_string(e->event_id())},
                                        {"relay", std::to_string(s.id)},
                                        {"state", s.state}},
                                       1});
                    return out;
                  });
}

PushRelays::~PushRelays() {
  stop();
}

std::shared_ptr<EventRelays> PushRelays::event_consumer(int64_t event_id, int64_t studio_id) {
  auto event = std::make_shared<EventRelays>(*this, event_id, studio_id);
  {
    std::lock_guard<std::mutex> l(mutex_);
    for (auto it = events_.begin(); it != events_.end();)
      it = it->second.expired() ? events_.erase(it) : std::next(it);
    events_[event_id] = event;
  }
  reap();
  reload(event);
  return event;
}

void PushRelays::reload(const std::shared_ptr<EventRelays>& event) {
  std::weak_ptr<EventRelays> weak = event;
  targets_.event_targets(event->event_id(), event->studio_id(), [weak](std::vector<RelayTarget> targets) {
    if (auto e = weak.lock()) e->apply(std::move(targets));
  });
}

std::unique_ptr<RelaySender> PushRelays::make_sender(int64_t event_id, const RelayTarget& target) {
  return std::make_unique<RelaySender>(event_id, target, options_.sender, &metrics_);
}

void PushRelays::retire(std::unique_ptr<RelaySender> sender) {
  std::lock_guard<std::mutex> l(mutex_);
  retired_.push_back(std::move(sender));
}

void PushRelays::reap() {
  std::vector<std::unique_ptr<RelaySender>> done;
  {
    std::lock_guard<std::mutex> l(mutex_);
    for (auto it = retired_.begin(); it != retired_.end();) {
      if ((*it)->finished()) {
        done.push_back(std::move(*it));
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
  }
  done.clear();  // their threads have ended: joins at once
}

std::vector<std::shared_ptr<EventRelays>> PushRelays::live_events() const {
  std::vector<std::shared_ptr<EventRelays>> all, out;
  {
    std::lock_guard<std::mutex> l(mutex_);
    for (const auto& [id, w] : events_)
      if (auto e = w.lock()) all.push_back(std::move(e));
  }
  for (auto& e : all)  // outside our lock: an event's lock is taken before ours (retire())
    if (!e->ended()) out.push_back(std::move(e));
  return out;
}

void PushRelays::event_relays_changed(int64_t event_id) {
  reap();
  for (const auto& e : live_events())
    if (e->event_id() == event_id) reload(e);
}

void PushRelays::studio_relays_changed(int64_t studio_id) {
  reap();
  for (const auto& e : live_events())
    if (e->studio_id() == studio_id) reload(e);
}

std::vector<RelayStatus> PushRelays::event_status(int64_t event_id) const {
  std::shared_ptr<EventRelays> event;
  {
    std::lock_guard<std::mutex> l(mutex_);
    auto it = events_.find(event_id);
    if (it != events_.end()) event = it->second.lock();
  }
  if (!event || event->ended()) return {};
  return event->status();
}

void PushRelays::rung_media(int64_t event_id, const std::string& rung, const media::MediaFacts* facts,
                            const media::AccessUnit* unit) {
  std::shared_ptr<EventRelays> event;
  {
    std::lock_guard<std::mutex> l(mutex_);
    auto it = events_.find(event_id);
    if (it != events_.end()) event = it->second.lock();
  }
  if (event) event->on_rung(rung, facts, unit);
}

void PushRelays::stop() {
  std::vector<std::shared_ptr<EventRelays>> events;
  std::list<RunningTest> tests;
  {
    std::lock_guard<std::mutex> l(mutex_);
    if (stopped_) return;
    stopped_ = true;
    for (const auto& [id, w] : events_)
      if (auto e = w.lock()) events.push_back(std::move(e));
    tests.swap(tests_);
  }
  for (auto& e : events) e->on_event_end();  // hands every sender to retired_
  std::vector<std::unique_ptr<RelaySender>> retired;
  {
    std::lock_guard<std::mutex> l(mutex_);
    retired.swap(retired_);
  }
  for (auto& s : retired) s->stop();
  retired.clear();  // joins
  for (auto& t : tests)
    if (t.thread.joinable()) t.thread.join();
}

namespace {

// One "test connection" try, on its own thread: its answer through `reply`.
void try_connection(const std::string& text, const std::shared_ptr<const Destinations>& allowed, int timeout_s,
                    int latency, const std::function<void(bool ok, std::string what)>& reply) {
  auto url = parse_url(text, Use::push);
  if (!url) return reply(false, url.error().message);
  auto addresses =
      allowed ? resolve_allowed(*allowed, url->host)
              : core::Result<std::vector<boost::asio::ip::address>>(core::Error{"", "no allow-list"});
  if (!addresses) return reply(false, strip_secrets(addresses.error().message, *url));
  if (addresses->empty()) return reply(false, "cannot resolve " + url->host);
  media::MediaFacts facts;  // a publish with no media: only the connection is tried
  facts.has_video = true;
  facts.video_codec = "h264";
  // A refusal, or a target that accepted the connection and then said nothing.
  auto failure = [timeout_s](const std::string& what) {
    if (what.find("timed out") != std::string::npos)
      return "no answer within " + std::to_string(timeout_s) + " s (" + what + ")";
    return "refused: " + what;
  };
  auto conn = make_connection(*url, addresses->front(), facts, timeout_s, latency);
  const auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
        .count();
  };
  if (auto r = conn->open(); !r) {
    conn->close(false);
    return reply(false, failure(r.error().message));
  }
  int64_t connected_at = -1;
  // Connected, and still no error a moment later (an RTMP server answers a refused publish right after).
  while (elapsed_ms() < int64_t{timeout_s} * 1000 + 500) {
    if (auto r = conn->poll(); !r) {
      conn->close(false);
      return reply(false, failure(r.error().message));
    }
    if (connected_at < 0 && conn->connected()) connected_at = elapsed_ms();
    if (connected_at >= 0 && elapsed_ms() - connected_at > 500) {
      conn->close(false);
      return reply(true, "connected");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  conn->close(false);
  reply(false, "no answer within " + std::to_string(timeout_s) + " s");
}

}  // namespace

std::string PushRelays::test(const std::string& text, std::function<void(bool ok, std::string what)> reply,
                             const std::vector<std::string>& holders) {
  std::lock_guard<std::mutex> l(mutex_);
  if (stopped_) {
    reply(false, "the server is stopping");
    return {};
  }
  // Finished tests are joined now; the rest bound how many more may start.
  for (auto it = tests_.begin(); it != tests_.end();) {
    if (!it->done) {
      ++it;
      continue;
    }
    it->thread.join();
    it = tests_.erase(it);
  }
  std::string refused, cause = "holder";
  for (const auto& t : tests_)
    for (const auto& h : t.holders)
      if (std::find(holders.begin(), holders.end(), h) != holders.end())
        refused = h.rfind("relay:", 0) == 0 ? "a test of this relay is already running: wait for its answer"
                                            : "a test of yours is already running: wait for its answer";
  if (refused.empty() && tests_.size() >= static_cast<size_t>(kMaxRelayTests)) {
    refused = "a test is already running (" + std::to_string(kMaxRelayTests) +
              " at once at most): try again in a few seconds";
    cause = "at_once";
  }
  if (!refused.empty()) {
    metrics_.add("sreda_relay_tests_refused_total", {{"cause", cause}});
    log().info("test connection refused: " + refused);
    return refused;
  }
  auto& entry = tests_.emplace_back();
  entry.holders = holders;
  entry.thread = std::thread([this, &entry, text, allowed = options_.sender.allowed,
                              timeout_s = options_.sender.connect_timeout_s,
                              latency = options_.sender.srt_latency_ms, reply = std::move(reply)] {
    pthread_setname_np(pthread_self(), "sreda-relaytest");
    // Done before the answer goes out: the curator's next test, sent on seeing it, is not refused.
    try_connection(text, allowed, timeout_s, latency, [this, &entry, &reply](bool ok, std::string what) {
      {
        std::lock_guard<std::mutex> done(mutex_);
        entry.done = true;
      }
      reply(ok, std::move(what));
    });
  });
  return {};
}

// ---- RelayingFactory

std::shared_ptr<hub::MediaConsumer> RelayingFactory::create(int64_t event_id, int64_t studio_id) {
  auto outputs = outputs_.create(event_id, studio_id);
  if (!outputs) return outputs;
  return std::make_shared<TeeConsumer>(std::move(outputs), relays_.event_consumer(event_id, studio_id));
}

}  // namespace sreda::relay
