#include "server/relay/relay_sender.h"

#include <chrono>
#include <vector>

#include "server/relay/relay_connection.h"

namespace sreda::relay {

namespace {

constexpr uint64_t kMaxBacklogBytes = 4u << 20;  // in the pipeline and the socket; beyond it our queue holds
constexpr size_t kBatch = 64;                    // units taken from the queue at once
constexpr int64_t kStallMs = 2000;               // a target that took nothing for this long is not keeping up
constexpr auto kTick = std::chrono::milliseconds(20);

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string stall_words(const TakeWatch& watch) {
  return "the target is not keeping up: it has taken nothing for " +
         std::to_string(watch.stalled_ms(steady_ms()) / 1000) + " s";
}

// Whether two sessions' streams can go on one connection (same codecs and codec configuration).
bool same_stream(const media::MediaFacts& a, const media::MediaFacts& b) {
  return a.has_video == b.has_video && a.has_audio == b.has_audio && a.video_codec == b.video_codec &&
         a.video_codec_data == b.video_codec_data && a.audio_codec == b.audio_codec &&
         a.audio_codec_data == b.audio_codec_data && a.audio_rate == b.audio_rate &&
         a.audio_channels == b.audio_channels;
}

}  // namespace

RelaySender::RelaySender(int64_t event_id, RelayTarget target, SenderOptions options, core::Metrics* metrics)
    : event_id_(event_id),
      target_(std::move(target)),
      options_(std::move(options)),
      metrics_(metrics),
      log_("relay event=" + std::to_string(event_id) + " relay=" + std::to_string(target_.id)),
      masked_url_(masked(target_.url)),
      labels_{{"event", std::to_string(event_id)}, {"relay", std::to_string(target_.id)}},
      queue_(int64_t{options_.queue_ms} * 1000) {
  status_.id = target_.id;
  status_.name = target_.name;
  status_.url_masked = masked_url_;
  status_.rendition = target_.rendition;
  status_.state = "waiting";
}

RelaySender::~RelaySender() {
  stop();
  join();
}

void RelaySender::start() {
  log_.info("waiting for media: " + masked_url_ + " (" + target_.name + ")");
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sreda-relay");
    run();
  });
}

void RelaySender::stop() {
  {
    std::lock_guard<std::mutex> l(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
}

void RelaySender::event_end() {
  {
    std::lock_guard<std::mutex> l(mutex_);
    event_ended_ = true;
  }
  cv_.notify_all();
}

void RelaySender::join() {
  if (thread_.joinable()) thread_.join();
}

void RelaySender::session_start(std::shared_ptr<const media::MediaFacts> facts) {
  std::lock_guard<std::mutex> l(mutex_);
  facts_ = std::move(facts);
}

void RelaySender::unit(const media::AccessUnit& unit) {
  {
    std::lock_guard<std::mutex> l(mutex_);
    if (!facts_ || stop_ || event_ended_) return;
    queue_.push(facts_, unit);
  }
  cv_.notify_one();
}

void RelaySender::session_end() {
  std::lock_guard<std::mutex> l(mutex_);
  facts_.reset();
}

RelayStatus RelaySender::status() const {
  std::lock_guard<std::mutex> l(mutex_);
  RelayStatus s = status_;
  s.dropped_units = queue_.dropped();
  s.uptime_s =
      s.state == "sending" && connected_since_ms_ > 0 ? (steady_ms() - connected_since_ms_) / 1000 : 0;
  return s;
}

bool RelaySender::ending() const {
  return stop_ || (event_ended_ && queue_.empty());
}

void RelaySender::set_state(const std::string& state, const std::string& error) {
  {
    std::lock_guard<std::mutex> l(mutex_);
    if (status_.state == state && status_.last_error == error) return;
    status_.state = state;
    if (!error.empty() || state == "sending") status_.last_error = error;
    connected_since_ms_ = state == "sending" ? steady_ms() : 0;
    if (state == "sending") sent_anything_ = true;
  }
  if (state == "reconnecting")
    log_.warn("reconnecting: " + masked_url_ + ": " + error);
  else
    log_.info(state + ": " + masked_url_);
}

bool RelaySender::wait_for(int64_t ms) {
  std::unique_lock<std::mutex> l(mutex_);
  cv_.wait_for(l, std::chrono::milliseconds(ms), [this] { return stop_ || event_ended_; });
  return !(stop_ || event_ended_);
}

void RelaySender::run() {
  Backoff backoff(options_.retry_min_s, options_.retry_max_s);
  while (true) {
    {
      std::unique_lock<std::mutex> l(mutex_);
      cv_.wait(l, [this] { return stop_ || event_ended_ || !queue_.empty(); });
      if (ending()) break;
    }
    const int64_t started = steady_ms();
    auto r = connect_and_send();
    if (r) {
      std::lock_guard<std::mutex> l(mutex_);
      if (stop_ || event_ended_) break;
      continue;  // a new session with other codecs: a clean reconnect at once
    }
    {
      std::lock_guard<std::mutex> l(mutex_);
      if (stop_ || event_ended_) break;
    }
    // A connection that carried media for a while starts the pace again.
    if (steady_ms() - started > int64_t{options_.retry_max_s} * 1000) backoff.reset();
    set_state("reconnecting", r.error().message);
    if (!wait_for(backoff.next_ms())) break;
    {
      std::lock_guard<std::mutex> l(mutex_);
      ++status_.reconnects;
    }
    if (metrics_) metrics_->add("sreda_relay_reconnects_total", labels_);
  }
  {
    std::lock_guard<std::mutex> l(mutex_);
    queue_.restart();
  }
  set_state("stopped");
  finished_ = true;
}

core::Result<void> RelaySender::connect_and_send() {
  std::shared_ptr<const media::MediaFacts> facts;
  {
    std::lock_guard<std::mutex> l(mutex_);
    queue_.skip_to_keyframe();
    if (queue_.empty()) return core::Error{"relay_failed", "no media"};
    facts = queue_.front().facts;
  }
  auto url = parse_url(target_.url, Use::push);
  if (!url) return core::Error{"relay_failed", masked(url.error().message)};
  if (auto r = codecs_supported(url->scheme, *facts); !r) return r;
  if (!options_.allowed) return core::Error{"relay_failed", "no allow-list"};
  auto addresses = resolve_allowed(*options_.allowed, url->host);
  if (!addresses) return core::Error{"relay_failed", strip_secrets(addresses.error().message, *url)};
  if (addresses->empty()) return core::Error{"relay_failed", "cannot resolve " + url->host};
  auto conn =
      make_connection(*url, addresses->front(), *facts, options_.connect_timeout_s, options_.srt_latency_ms);
  if (auto r = conn->open(); !r) {
    conn->close(false);
    return r;
  }
  const int64_t opened = steady_ms();
  bool connected = false;
  int64_t base_us = 0;
  bool based = false;
  int64_t held_since = 0;  // the backlog is over its bound since (steady ms)
  uint64_t reported_bytes = 0;
  bool gated = false;  // the connection took no more for now (can_take)
  TakeWatch watch(kStallMs);
  bool said_stalled = false;
  std::vector<QueuedUnit> batch;
  auto fail = [&](core::Error e) {
    conn->close(false);
    // A connection that gives up on a target that stopped taking the stream: say that first.
    if (said_stalled) e.message = stall_words(watch) + " (" + e.message + ")";
    return core::Result<void>(std::move(e));
  };
  while (true) {
    if (auto r = conn->poll(); !r) return fail(r.error());
    if (!connected && conn->connected()) {
      connected = true;
      set_state("sending");
    }
    if (!connected && steady_ms() - opened > int64_t{options_.connect_timeout_s} * 1000)
      return fail(core::Error{"relay_failed",
                              "no answer within " + std::to_string(options_.connect_timeout_s) + " s"});
    const uint64_t sent = conn->bytes_sent();
    if (sent > reported_bytes) {
      if (metrics_)
        metrics_->add("sreda_relay_bytes_sent_total", labels_, static_cast<double>(sent - reported_bytes));
      std::lock_guard<std::mutex> l(mutex_);
      status_.bytes_sent += sent - reported_bytes;
      reported_bytes = sent;
    }
    watch.taken(sent);
    const bool stalled = note_stall(watch, said_stalled);
    const bool backlogged = gated || conn->backlog_bytes() > kMaxBacklogBytes || stalled;
    if (!backlogged) {
      held_since = 0;
    } else if (held_since == 0) {
      held_since = steady_ms();
    } else if (steady_ms() - held_since > int64_t{options_.connect_timeout_s} * 1000) {
      return fail(core::Error{"relay_failed", "the target took no media for " +
                                                  std::to_string(options_.connect_timeout_s) + " s"});
    }
    bool restart = false;
    uint64_t newly_dropped = 0;
    {
      std::unique_lock<std::mutex> l(mutex_);
      newly_dropped = queue_.dropped() - dropped_reported_;
      dropped_reported_ = queue_.dropped();
      if (stop_) {
        l.unlock();
        conn->close(false);
        return {};
      }
      if (event_ended_ && queue_.empty()) {
        l.unlock();
        conn->close(true);
        return {};
      }
      gated = false;
      if (connected && conn->backlog_bytes() <= kMaxBacklogBytes) {
        while (!queue_.empty() && batch.size() < kBatch) {
          if (queue_.front().facts != facts && !same_stream(*queue_.front().facts, *facts)) {
            restart = true;
            break;
          }
          if (based && !conn->can_take(queue_.front().unit, base_us)) {
            gated = true;
            break;
          }
          batch.push_back(queue_.pop());
        }
      }
      if (batch.empty() && !restart) cv_.wait_for(l, kTick);
    }
    // The metrics' lock is never taken under ours (the state gauge reads our status under its lock).
    if (newly_dropped > 0 && metrics_)
      metrics_->add("sreda_relay_dropped_total", labels_, static_cast<double>(newly_dropped));
    for (auto& q : batch) {
      if (!based) {
        base_us = q.unit.dts_us;
        based = true;
      }
      if (q.unit.dts_us < base_us) continue;  // audio from just before the first picture
      if (auto r = conn->push(std::move(q.unit), base_us); !r) return fail(r.error());
    }
    if (!batch.empty()) watch.fed(steady_ms());
    batch.clear();
    if (restart) {
      log_.info("the studio's stream changed codecs: reconnecting " + masked_url_);
      conn->close(true);
      return {};
    }
  }
}

bool RelaySender::note_stall(const TakeWatch& watch, bool& said) {
  const int64_t now = steady_ms();
  if (!watch.stalled(now)) {
    if (!said) return false;
    said = false;
    {
      std::lock_guard<std::mutex> l(mutex_);
      if (status_.state == "sending") status_.last_error.clear();
    }
    log_.info("keeping up again: " + masked_url_);
    return false;
  }
  const std::string why = stall_words(watch);
  {
    std::lock_guard<std::mutex> l(mutex_);
    status_.last_error = why;
  }
  if (!said)
    log_.warn(why + ": " + masked_url_ + " (its media waits in its own queue, which drops to its limit)");
  said = true;
  return true;
}

}  // namespace sreda::relay
