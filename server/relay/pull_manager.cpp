#include "server/relay/pull_manager.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <set>
#include <thread>

#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/relay/pull_source.h"
#include "server/relay/relay_url.h"
#include "server/schedule/catalog.h"

namespace sreda::relay {

namespace {
constexpr int kWindowCheckMs = 2000;  // outside the window: how often a puller looks again
constexpr int kReadMs = 200;          // a read's timeout: how soon a puller notices stop() or a disconnect
// Pull sessions' hub ids carry bit 62 (SRT's carry bit 63; RTMP's neither).
constexpr uint64_t kSessionBit = uint64_t{1} << 62;
}  // namespace

struct PullManager::Puller {
  PullManager& manager;
  const int64_t studio_id;
  const std::string url;  // a secret
  core::Logger log;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  std::mutex wait_mutex;
  std::condition_variable wake;
  mutable std::mutex status_mutex;
  PullStatus status;
  // The hub closed a publish (the event ended, the source failed): shared with the hub's Disconnect, which
  // may outlive the puller.
  struct Hangup {
    std::atomic<bool> closed{false};
    std::mutex mutex;
    std::string reason;
  };
  std::thread thread;

  Puller(PullManager& m, int64_t studio, std::string u)
      : manager(m),
        studio_id(studio),
        url(std::move(u)),
        log("pull studio=" + std::to_string(studio) + " " + masked(url)) {
    status.studio_id = studio;
    status.url_masked = masked(url);
  }

  void start() {
    thread = std::thread([this] { run(); });
  }
  void request_stop() {
    stop = true;
    wake.notify_all();
  }
  void join() {
    if (thread.joinable()) thread.join();
  }

  void set_state(const std::string& state, std::optional<std::string> error = std::nullopt) {
    std::lock_guard lock(status_mutex);
    status.state = state;
    if (error) status.last_error = *error;
  }
  // Waits `ms` or until stop(); false when stopping.
  bool pause(int ms) {
    std::unique_lock lock(wait_mutex);
    wake.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop.load(); });
    return !stop;
  }

  struct Window {
    bool open = false;
    std::string studio_name;
  };
  // Whether the studio's event is in its publish window now (one short store job), or nullopt when the store
  // did not answer.
  std::optional<Window> window() {
    auto answer = std::make_shared<std::promise<Window>>();
    auto future = answer->get_future();
    const bool adhoc = manager.config_.studios.allow_unscheduled;
    bool queued = manager.store_.post([answer, id = studio_id, adhoc](store::Db& db) {
      Window w;
      try {
        if (auto s = schedule::find_studio(db, id)) {
          w.studio_name = s->name;
          w.open = adhoc || schedule::find_current_event(db, id, core::now_s()).has_value();
        }
      } catch (const std::exception&) {
      }
      answer->set_value(w);
    });
    if (!queued || future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return std::nullopt;
    return future.get();
  }

  void run() {
    const auto& relays = manager.config_.relays;
    int backoff_s = std::max(1, relays.retry_min_s);
    bool tried = false;  // a try in this window failed or dropped: the next is a reconnect
    while (!stop) {
      auto w = window();
      if (!w || !w->open) {
        if (w) set_state("waiting");
        tried = false;
        backoff_s = std::max(1, relays.retry_min_s);
        if (!pause(kWindowCheckMs)) break;
        continue;
      }
      bool received = false;
      std::string why = attempt(w->studio_name, tried, received);
      if (stop) break;
      if (received) backoff_s = std::max(1, relays.retry_min_s);  // it worked: the next try comes soon
      if (tried) {
        std::lock_guard lock(status_mutex);
        status.reconnects++;
      }
      tried = true;
      set_state("reconnecting", why);
      manager.metrics_.add("sreda_pull_failures_total", {{"studio", std::to_string(studio_id)}});
      log.info("no stream (" + why + "); trying again in " + std::to_string(backoff_s) + " s");
      if (!pause(backoff_s * 1000)) break;
      backoff_s = std::min(backoff_s * 2, std::max(relays.retry_max_s, 1));
    }
    set_state("waiting");
    log.info("closed: " + std::string(stop ? "stopped" : "ended"));
    finished = true;
  }

  // One try: resolve and check the destination, connect, wait for media, publish it and push it until it
  // ends. Why it ended, in words free of secrets ("" when stopped).
  std::string attempt(const std::string& studio_name, bool reconnect, bool& received) {
    const auto& config = manager.config_;
    set_state(reconnect ? "reconnecting" : "connecting");
    auto parsed = parse_url(url, Use::pull);
    if (!parsed) return parsed.error().message;
    std::vector<boost::asio::ip::address> addresses;
    if (!parsed->listener) {
      auto allowed = Destinations::parse(config.relays.allowed_hosts);
      if (!allowed) return allowed.error().message;
      auto resolved = resolve_allowed(*allowed, parsed->host);
      if (!resolved) return resolved.error().message;
      addresses = *resolved;
    }
    PullOptions options;
    options.connect_timeout_s = std::max(1, config.relays.connect_timeout_s);
    options.srt_latency_ms = config.ingest.srt_latency_ms;
    options.allowed_hosts = config.relays.allowed_hosts;
    auto source = make_pull_source(*parsed, addresses, options);
    if (auto opened = source->open(stop); !opened) return stop ? "" : opened.error().message;
    {
      std::lock_guard lock(status_mutex);
      status.variant = source->variant();
    }
    // The first media, within the connect timeout (a GStreamer source already waited for it).
    std::vector<uint8_t> data;
    const auto first_deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options.connect_timeout_s);
    while (data.empty()) {
      if (stop) return "";
      if (!source->read(data, kReadMs)) return source->error();
      if (data.empty() && std::chrono::steady_clock::now() > first_deadline)
        return "connected, but no media came within " + std::to_string(options.connect_timeout_s) + " s";
    }
    // Publish, like any studio.
    const uint64_t session = kSessionBit | manager.next_session_++;
    auto hangup = std::make_shared<Hangup>();
    auto decision = std::make_shared<std::promise<std::pair<bool, std::string>>>();
    auto decided = decision->get_future();
    manager.hub_.request_publish(
        hub::Protocol::pull, session, hub::StudioKey{studio_id, studio_name, "", UINT64_MAX}, masked(url),
        [decision](bool ok, std::string why) {
          decision->set_value({ok, std::move(why)});
        },
        [hangup](std::string reason) {
          {
            std::lock_guard lock(hangup->mutex);
            hangup->reason = std::move(reason);
          }
          hangup->closed = true;
        });
    if (decided.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      manager.hub_.publisher_gone(session, "the publish was not decided in time");
      return "the server took too long to decide";
    }
    auto [ok, refused] = decided.get();
    if (!ok) return "the studio did not take the stream: " + refused;
    log.info("receiving" + (status.variant.empty() ? std::string() : " (variant " + status.variant + ")"));
    set_state("receiving", "");
    auto& bytes_metric =
        manager.metrics_.counter("sreda_pull_bytes_total", {{"studio", std::to_string(studio_id)}});
    // A partner's stream that stalls without closing (an HLS playlist that stops growing) ends the try too.
    const int idle_limit_ms = std::max(10, options.connect_timeout_s) * 1000;
    auto last_media = std::chrono::steady_clock::now();
    std::string why;
    while (true) {
      if (!data.empty()) {
        received = true;
        last_media = std::chrono::steady_clock::now();
        manager.hub_.push(session, data.data(), data.size());  // a full queue drops (the hub counts it)
        bytes_metric.fetch_add(data.size(), std::memory_order_relaxed);
        std::lock_guard lock(status_mutex);
        status.bytes_received += data.size();
      }
      if (stop) break;
      if (hangup->closed) {
        std::lock_guard lock(hangup->mutex);
        why = "the server closed the publish: " + hangup->reason;
        break;
      }
      if (!source->read(data, kReadMs)) {
        why = source->error();
        break;
      }
      if (data.empty() &&
          std::chrono::steady_clock::now() - last_media > std::chrono::milliseconds(idle_limit_ms)) {
        why = "no media for " + std::to_string(idle_limit_ms / 1000) + " s";
        break;
      }
    }
    manager.hub_.publisher_gone(session, stop ? "the server is stopping" : why);
    return stop ? "" : why;
  }
};

PullManager::PullManager(store::Store& store, hub::EventHub& hub, const config::Config& config,
                         core::Metrics& metrics)
    : store_(store), hub_(hub), config_(config), metrics_(metrics) {
  metrics_.describe("sreda_pull_bytes_total", "counter",
                    "MPEG-TS bytes a pulled studio received from its partner");
  metrics_.describe(
      "sreda_pull_failures_total", "counter",
      "tries of a pulled studio's source that failed or ended (the next comes after a backoff)");
}

PullManager::~PullManager() {
  stop();
}

void PullManager::start() {
  std::lock_guard lock(mutex_);
  if (running_) return;
  running_ = true;
  for (auto& [id, p] : pullers_) p->start();
}

void PullManager::stop() {
  std::vector<std::shared_ptr<Puller>> all;
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    running_ = false;
    for (auto& [id, p] : pullers_) all.push_back(p);
    all.insert(all.end(), stopping_.begin(), stopping_.end());
    pullers_.clear();
    stopping_.clear();
  }
  // Joined without the lock: a puller may be waiting for the store, whose thread may be asking status().
  for (auto& p : all) p->request_stop();
  for (auto& p : all) p->join();
}

void PullManager::reap() {
  for (auto it = stopping_.begin(); it != stopping_.end();) {
    if ((*it)->finished) {
      (*it)->join();
      it = stopping_.erase(it);
    } else {
      ++it;
    }
  }
}

void PullManager::changed(int64_t studio_id, const std::string& url) {
  std::lock_guard lock(mutex_);
  reap();
  auto it = pullers_.find(studio_id);
  if (it != pullers_.end() && it->second->url == url) return;
  if (it != pullers_.end()) {
    it->second->log.info("stopping: the studio's pull address changed");
    it->second->request_stop();  // joined later (reap, stop): its thread may be in a connect
    stopping_.push_back(it->second);
    pullers_.erase(it);
  }
  if (url.empty()) return;
  auto p = std::make_shared<Puller>(*this, studio_id, url);
  pullers_[studio_id] = p;
  if (running_) p->start();
}

void PullManager::sync(const std::vector<std::pair<int64_t, std::string>>& studios) {
  std::set<int64_t> listed;
  for (const auto& [id, url] : studios) {
    listed.insert(id);
    changed(id, url);
  }
  std::vector<int64_t> gone;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, p] : pullers_)
      if (!listed.count(id)) gone.push_back(id);
  }
  for (int64_t id : gone) changed(id, "");
}

std::optional<PullStatus> PullManager::status(int64_t studio_id) const {
  std::lock_guard lock(mutex_);
  auto it = pullers_.find(studio_id);
  if (it == pullers_.end()) return std::nullopt;
  std::lock_guard status_lock(it->second->status_mutex);
  return it->second->status;
}

}  // namespace sreda::relay
