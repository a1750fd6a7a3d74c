// Long because it is the composition root: it starts every service in order (store, hub, ladder, archive, audience, relays, web) and stops them in reverse, and splitting it would scatter that one order.
#include "server/app/app.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <future>
#include <utility>

#include "server/audience/identity.h"
#include "server/auth/curators.h"
#include "server/auth/password.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/relay/http_guard.h"
#include "server/relay/tls_trust.h"
#include "server/schedule/catalog.h"
#include "server/store/migrations.h"
#include "server/web/live_front.h"

namespace sreda::app {
namespace {
core::Logger& log() {
  static core::Logger logger("app");
  return logger;
}

// The soft descriptor limit raised to the hard one (the usual soft 1,024 is a few hundred viewers), logged.
void raise_descriptor_limit(int reserve) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = before;
  }
  auto text = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
  const std::string line = "descriptors: soft limit " + text(before) + " → " + text(rl.rlim_cur) + " (hard " +
                           text(rl.rlim_max) + "); " + std::to_string(reserve) +
                           " kept for recordings, the store and studios (server.fd_reserve)";
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < static_cast<rlim_t>(4 * reserve))
    log().warn(line + " — a low limit: raise the hard limit (LimitNOFILE= in the systemd unit, ulimit -Hn)");
  else
    log().info(line);
}

// Writes the generated admin password to a new file created with mode 0600 (never readable by others,
// not even for a moment); an existing file is not overwritten.
core::Result<void> write_secret_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return core::Error{"admin_password", "cannot create " + path + ": " + std::strerror(errno), ""};
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return core::Error{"admin_password", "cannot write " + path + ": " + why, ""};
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return {};
}
}  // namespace

App::App(config::Config config, int http_listener)
    : config_(std::move(config)),
      http_listener_(http_listener),
      // A rotated key disconnects the publisher that used the old one. Keys change only through the API,
      // which starts after the hub.
      keys_([this](int64_t studio_id, uint64_t valid_generation) {
        if (hub_) hub_->revoke_key(studio_id, valid_generation);
      }) {}

App::~App() {
  stop();
  if (http_listener_ >= 0) ::close(http_listener_);
}

int App::bind_http_early(const config::Config& config) {
  auto bound = web::listen_tcp(config.server.listen, config.server.http_port);
  return bound ? *bound : -1;
}

core::Result<void> App::open_store() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(config_.server.data_dir, ec);
  if (ec) return core::Error{"data_dir", "cannot create data dir " + config_.server.data_dir + ": " + ec.message(), ""};
  if (auto why = audience::load_or_create_viewer_secret(config_.server.data_dir, viewer_secret_))
    return core::Error{"viewer_secret", *why, ""};
  const std::string db_path = (fs::path(config_.server.data_dir) / "sreda.db").string();
  auto db = store::Db::open(db_path);
  if (!db) return db.error();
  auto migrated = store::migrate(*db);
  if (!migrated) return migrated.error();
  if (*migrated != store::latest_schema_version())
    log().info("database " + db_path + " migrated from schema " + std::to_string(*migrated) + " to " +
               std::to_string(store::latest_schema_version()));

  // First start: create the admin account.
  if (auth::count_curators(*db) == 0) {
    const char* env = std::getenv("SREDA_ADMIN_PASSWORD");
    std::string password = env ? env : "";
    if (!password.empty()) {
      if (auto why = auth::check_password(password)) return core::Error{"admin_password", "SREDA_ADMIN_PASSWORD: " + *why, ""};
    } else {
      password = auth::generate_password();
    }
    auto hash = auth::hash_password(password);
    if (!hash) return hash.error();
    auth::insert_curator(*db, "admin", *hash, "admin", core::now_s());
    if (env && *env) {
      log().info("created curator 'admin' with the password from SREDA_ADMIN_PASSWORD");
    } else {
      const std::string path = (fs::path(config_.server.data_dir) / "admin-password").string();
      std::error_code rm;
      fs::remove(path, rm);  // a stale file from an earlier data dir: the new account's password replaces it
      if (auto w = write_secret_file(path, password + "\n"); !w) return w;
      log().info("created curator 'admin'; its password is in " + path);
    }
  }
  for (const auto& studio : schedule::list_studios(*db)) keys_.put(studio.stream_key, {studio.id, studio.name, studio.srt_passphrase});
  store_ = std::make_unique<store::Store>(std::move(*db), static_cast<size_t>(config_.store.queue_max),
                                         static_cast<size_t>(config_.store.public_queue_max));
  return {};
}

archive::ArchiveOptions App::archive_options(const config::Config& c) {
  archive::ArchiveOptions o;
  const std::filesystem::path dir(c.archive.dir);
  o.root = (dir.is_absolute() ? dir : std::filesystem::path(c.server.data_dir) / dir).lexically_normal().string();
  o.max_loss_ms = c.archive.max_loss_ms;
  o.max_bytes = c.archive.max_bytes;
  o.keep_days = c.archive.keep_days;
  for (size_t i = 0; i <= c.archive.renditions.size();) {
    size_t j = c.archive.renditions.find(',', i);
    if (j == std::string::npos) j = c.archive.renditions.size();
    std::string name = c.archive.renditions.substr(i, j - i);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (!name.empty()) o.renditions.push_back(name);
    i = j + 1;
  }
  return o;
}

void App::register_metrics() {
  metrics_.gauge("sreda_uptime_seconds", "seconds since the server started",
                 [this] { return (core::now_ms() - started_ms_) / 1000.0; });
  const store::StoreStats* s = &store_->stats();
  metrics_.gauge("sreda_store_queue_depth", "jobs waiting for the store thread",
                 [s] { return static_cast<double>(s->queue_depth.load()); });
  metrics_.gauge("sreda_store_jobs_total", "store jobs run (requests, writes)",
                 [s] { return static_cast<double>(s->jobs_done.load()); });
  metrics_.gauge("sreda_store_jobs_refused_total", "store jobs refused because the queue was full",
                 [s] { return static_cast<double>(s->jobs_refused.load()); });
  metrics_.gauge("sreda_store_public_refused_total",
                 "public reads refused because their lane (store.public_queue_max) was full",
                 [s] { return static_cast<double>(s->public_refused.load()); });
  metrics_.gauge("sreda_store_job_failures_total", "store jobs that failed",
                 [s] { return static_cast<double>(s->job_failures.load()); });
  metrics_.gauge("sreda_store_job_seconds_total", "time spent in store jobs, commits included",
                 [s] { return s->job_us_total.load() / 1e6; });
  metrics_.gauge("sreda_store_job_seconds_max", "longest store job (commit latency bound)",
                 [s] { return s->job_us_max.load() / 1e6; });
}

void App::schedule_live_tick() {
  live_tick_.expires_after(std::chrono::milliseconds(250));
  live_tick_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    live_routes_->tick();  // held playlist/part requests past their deadline get 503
    refusal_window_->sample(core::now_ms());  // keeps a sample every 10 s
    overload_->tick();  // logs the end of an overload
    schedule_live_tick();
  });
}

void App::schedule_housekeeping() {
  housekeeping_.expires_after(std::chrono::minutes(10));
  housekeeping_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // operation_aborted: stopping
    store_->post([](store::Db& db) {
      int n = auth::purge_expired_sessions(db, core::now_s());
      if (n) core::Logger("auth").info("removed " + std::to_string(n) + " expired session(s)");
    });
    archive_->enforce_retention();
    schedule_housekeeping();
  });
}

std::vector<App::Step> App::start_steps() {
  return {
      {"store",
       [this]() -> core::Result<void> {
         if (auto r = open_store(); !r) return r;
         store_->start();
         register_metrics();
         return {};
       },
       [this] { store_->stop(); }},
      {"live outputs and archive", [this] { return start_live_outputs(); }, {}},
      {"relays", [this] { return start_relays(); }, [this] { relays_->stop(); }},
      {"control thread", [this] { return start_control_thread(); },
       [this] {
         boost::asio::post(control_, [this] {
           housekeeping_.cancel();
           live_tick_.cancel();
         });
         control_work_.reset();
         if (control_thread_.joinable()) control_thread_.join();
       }},
      {"event hub",
       [this]() -> core::Result<void> {
         hub_ = std::make_unique<hub::EventHub>(control_.get_executor(), *store_, config_, metrics_, &whep_->consumers());
         hub_->start();
         return {};
       },
       [this] { hub_->stop(); }},
      {"WebRTC", [this] { return start_rtc(); }, [this] { stop_rtc(); }},
      {"SRT", [this] { return start_srt(); }, [this] { srt_->stop(); }},
      {"RTMP", [this] { return start_rtmp(); },
       [this] {
         rtmp_->stop();
         ingest_work_.reset();
         if (ingest_thread_.joinable()) ingest_thread_.join();
       }},
      {"pulled studios", [this] { return start_pulls(); },
       [this] {
         relays_->attach_pulls(nullptr);
         pulls_->stop();
       }},
      {"MP4 exports",
       [this]() -> core::Result<void> {
         exporter_ = std::make_unique<archive::Mp4Exporter>(archive::ExporterOptions{
             config_.archive.export_workers, config_.archive.export_queue, config_.archive.export_timeout_s,
             config_.archive.export_timeout_per_hour_s});
         metrics_.gauge("sreda_archive_export_timeouts_total", "MP4 exports ended by their time bound",
                        [e = exporter_.get()] { return static_cast<double>(e->timeouts()); });
         metrics_.gauge("sreda_archive_export_refused_total", "MP4 exports refused: archive.export_queue was full",
                        [e = exporter_.get()] { return static_cast<double>(e->refused()); });
         return {};
       },
       // The exports in progress are cancelled (their replies dropped); queued ones are refused.
       [this] { exporter_.reset(); }},
      // Every acknowledged comment and rating goes to the store before it drains.
      {"audience", [this] { return start_audience(); }, [this] { audience_->finish(); }},
      {"HTTP", [this] { return start_http(); },
       [this] {
         share_cards_->stop();  // waiting picture requests are answered while the server still sends
         http_->stop();
       }},
  };
}

core::Result<void> App::start() {
  if (started_steps_ > 0) return {};
  started_ms_ = core::now_ms();
  // The city's time zone (season reports count days and months in it), set before any thread starts.
  if (!config_.server.time_zone.empty()) {
    ::setenv("TZ", config_.server.time_zone.c_str(), 1);
    ::tzset();
  }
  raise_descriptor_limit(config_.server.fd_reserve);
  steps_ = start_steps();
  for (const Step& step : steps_) {
    core::Result<void> r;
    try {
      r = step.start();
    } catch (const std::exception& e) {  // a step that throws (a bad route table, a library's error) is undone too
      r = core::Error{"start_failed", step.name + ": " + e.what()};
    }
    if (!r) {
      log().error("start: " + step.name + " failed; the steps before it are undone");
      if (started_steps_ > 0) unwind();
      return r;
    }
    ++started_steps_;
  }
  log().info("listening: http=" + std::to_string(http_->port()) + " rtmp=" + std::to_string(rtmp_->port()) +
             " srt=" + std::to_string(srt_->port()) + " (listen " + config_.server.listen + ")");
  return {};
}

void App::unwind() {
  while (started_steps_ > 0) {
    const Step& step = steps_[--started_steps_];
    if (step.stop) step.stop();
  }
}

void App::stop() {
  if (started_steps_ < steps_.size() || steps_.empty()) return;  // not started (a failed start unwound itself)
  log().info("stopping");
  unwind();
  log().info("closed: stopped cleanly");
}

core::Result<void> App::start_live_outputs() {
  live::LiveOutputOptions live_options;
  live_options.part_target_ms = config_.live.part_target_ms;
  live_options.segment_target_ms = config_.live.segment_target_ms;
  live_options.window_segments = config_.live.window_segments;
  live_options.ladder = config_.ladder.enabled;
  if (config_.ladder.enabled) {
    std::vector<std::string> ladder_errors;
    const bool dir_required = config_.ladder.dir != config::LadderConfig{}.dir;
    auto ladders = live::load_ladders(config_.ladder.dir, dir_required, config_.ladder.default_ladder,
                                      config_.ladder.studios, ladder_errors);
    if (!ladder_errors.empty()) {
      std::string all;
      for (const auto& e : ladder_errors) all += (all.empty() ? "" : "; ") + e;
      return core::Error{"bad_config", all, "ladder"};
    }
    live_options.ladders = std::make_shared<const live::LadderSet>(std::move(ladders));
  }
  archive_ = std::make_unique<archive::Archive>(archive_options(config_), *store_);
  archive_->start();  // recovery: before the hub looks for unfinished events
  live_options.sinks = archive_.get();
  // The ladder is started on the control thread (the thread runs from the next step on, before any event
  // can go live).
  live_options.run_on_control = [this](std::function<void()> task) { boost::asio::post(control_, std::move(task)); };
  overload_ = std::make_unique<Overload>(config_.webrtc.overload_late_frames, metrics_);
  live::LiveOutputEvents live_events;
  // The routes are made just below, before any event can go live (the hub starts later).
  live_events.notify = [this](int64_t event_id) { live_routes_->notify(event_id); };
  live_events.rung_dropped = [this](const std::string& rung) {
    metrics_.add("sreda_ladder_rungs_dropped_total", {{"rendition", rung}});
  };
  live_events.rung_late = [this](int64_t event_id, const std::string& rung, int64_t frames) {
    overload_->report(Overload::Cause::ladder, "event " + std::to_string(event_id) + " rendition " + rung, frames);
  };
  live_events.ladder_failed = [this] { metrics_.add("sreda_ladder_failures_total", {}); };
  // The relays are made in the next step, before any event can go live (and a ladder start).
  live_events.rung_media = [this](int64_t event_id, const std::string& rung, const media::MediaFacts* facts,
                                  const media::AccessUnit* unit) {
    if (relays_) relays_->rung_media(event_id, rung, facts, unit);
  };
  live_outputs_ = std::make_unique<live::LiveOutputs>(live_options, std::move(live_events));
  live_routes_ = std::make_unique<web::LiveRoutes>(*live_outputs_, static_cast<size_t>(config_.live.max_held_requests),
                                                   config_.reports.enabled);
  metrics_.describe("sreda_ladder_rungs_dropped_total", "counter",
                    "ladder rungs stopped because the encoders fell behind real time (top rung first)");
  metrics_.describe("sreda_ladder_failures_total", "counter", "ladders that failed (the source rendition went on)");
  metrics_.gauge("sreda_archive_recordings", "events being recorded now",
                 [a = archive_.get()] { return static_cast<double>(a->recording_count()); });
  metrics_.gauge("sreda_archive_recording_failures_total", "recordings stopped by a disk error (disk full…)",
                 [a = archive_.get()] { return static_cast<double>(a->failed_count()); });
  metrics_.gauge("sreda_archive_bytes_written_total", "media bytes written to the archive",
                 [a = archive_.get()] { return static_cast<double>(a->bytes_written()); });
  metrics_.gauge("sreda_archive_deletions_total", "recordings deleted (retention or a curator)",
                 [a = archive_.get()] { return static_cast<double>(a->deletions()); });
  metrics_.gauge("sreda_live_held_requests", "LL-HLS requests waiting for a part",
                 [routes = live_routes_.get()] { return static_cast<double>(routes->held_count()); });
  metrics_.gauge("sreda_live_held_cancelled_total", "held LL-HLS requests dropped because their connection closed",
                 [routes = live_routes_.get()] { return static_cast<double>(routes->cancelled_count()); });
  return {};
}

core::Result<void> App::start_relays() {
  auto allowed = relay::Destinations::parse(config_.relays.allowed_hosts);
  if (!allowed) return core::Error{"bad_config", allowed.error().message, "relays.allowed_hosts"};
  // rtmps:// and https:// trust the system's CAs plus relays.ca_file's, before any relay or pull connects.
  if (auto trusted = relay::trust_ca_file(config_.relays.ca_file); !trusted) return trusted.error();
  relay::PushRelaysOptions options;
  options.max_per_event = config_.relays.max_per_event;
  options.ladder = config_.ladder.enabled;
  options.sender.queue_ms = config_.relays.queue_ms;
  options.sender.retry_min_s = config_.relays.retry_min_s;
  options.sender.retry_max_s = config_.relays.retry_max_s;
  options.sender.connect_timeout_s = config_.relays.connect_timeout_s;
  options.sender.srt_latency_ms = config_.ingest.srt_latency_ms;
  options.sender.allowed = std::make_shared<const relay::Destinations>(std::move(*allowed));
  // Every http(s) fetch (an HLS pull's playlists, segments and parts, on each refresh) is held to the list.
  relay::set_http_destinations(options.sender.allowed);
  if (auto guarded = relay::register_guarded_http_source(); !guarded)
    log().warn("HLS pulls are not available: " + guarded.error().message);
  relay_targets_ = std::make_unique<relay::StoreTargets>(*store_);
  relays_ = std::make_unique<relay::PushRelays>(std::move(options), *relay_targets_, metrics_);
  consumers_ = std::make_unique<relay::RelayingFactory>(*live_outputs_, *relays_);
  whep_ = std::make_unique<WhepBackEnd>(rtc_.get_executor(), config_, *store_, metrics_, *consumers_, *overload_);
  relay_control_ = relays_.get();
  return {};
}

core::Result<void> App::start_control_thread() {
  // Sampled on the live tick (control thread), read by the API.
  refusal_window_ = std::make_unique<web::RefusalWindow>(
      metrics_, std::vector<std::string>{"sreda_http_refused_total", "sreda_ingest_refused_total"}, core::now_ms());
  control_work_.emplace(control_.get_executor());
  control_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sreda-control");
    control_.run();
  });
  boost::asio::post(control_, [this] {
    schedule_housekeeping();
    schedule_live_tick();
  });
  return {};
}

// WHIP publishers on their own thread (not control: tearing a webrtcbin down joins its threads, tens of ms).
// WebRTC that cannot run here (a missing plugin) leaves WHIP answering 503 with the reason; the rest runs.
core::Result<void> App::start_rtc() {
  rtc_work_.emplace(rtc_.get_executor());
  rtc_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sreda-rtc");
    rtc_.run();
  });
  whip_ = std::make_unique<ingest::whip::WhipServer>(rtc_.get_executor(), *hub_, keys_, config_, metrics_);
  whip_->start();
  whip_adapter_ = std::make_unique<WhipEndpointAdapter>(*whip_);
  whip_endpoint_ = whip_adapter_.get();  // WebRTC missing here: it answers 503 naming what is missing
  whep_->attach_hub(hub_.get());
  whep_endpoint_ = whep_.get();
  return {};
}

void App::stop_rtc() {
  if (whip_) whip_->stop();
  if (rtc_thread_.joinable()) {
    // The real-time viewers and feeds end on their own thread; its timers (a feed's idle stop, 15 s) would
    // otherwise hold the thread past the shutdown budget.
    std::promise<void> done;
    boost::asio::post(rtc_, [this, &done] {
      whep_->stop();
      done.set_value();
    });
    done.get_future().wait();
  }
  rtc_work_.reset();
  rtc_.stop();  // what is still pending (a peer's gathering bound) is dropped: every session has ended
  if (rtc_thread_.joinable()) rtc_thread_.join();
  whep_->stop();
}

core::Result<void> App::start_srt() {
  srt_bridge_ = std::make_unique<ingest::SrtBridge>(*hub_, keys_);
  ingest::srt::SrtServerOptions srt_options;
  srt_options.listen = config_.server.listen;
  srt_options.port = config_.server.srt_port;
  srt_options.latency_ms = config_.ingest.srt_latency_ms;
  srt_options.max_connections = config_.ingest.max_publishers;
  srt_options.max_connections_per_address = config_.ingest.max_connections_per_address;
  srt_options.max_pending_handshakes = config_.ingest.srt_max_pending_handshakes;
  srt_ = std::make_unique<ingest::srt::SrtServer>(srt_options, *srt_bridge_);
  return srt_->start();
}

// Pulled studios (server/relay/pull_manager.h): the studios' pull_url is read once here; after that the API
// tells the runtime of each change (RelayControl::pull_changed from PATCH and DELETE /api/studios/{id}).
core::Result<void> App::start_pulls() {
  pulls_ = std::make_unique<relay::PullManager>(*store_, *hub_, config_, metrics_);
  pulls_->start();
  relays_->attach_pulls(pulls_.get());  // the API's pull_changed and pull_status reach them
  if (!store_->post([pulls = pulls_.get()](store::Db& db) { pulls->sync(relay::StoreTargets::pulled_studios(db)); }))
    return core::Error{"store_busy", "the pulled studios could not be read: the store is busy", ""};
  return {};
}

core::Result<void> App::start_rtmp() {
  rtmp_bridge_ = std::make_unique<ingest::RtmpBridge>(*hub_, keys_, static_cast<size_t>(config_.ingest.max_held_media_bytes));
  ingest::rtmp::RtmpServerOptions rtmp_options;
  rtmp_options.address = config_.server.listen;
  rtmp_options.port = static_cast<uint16_t>(config_.server.rtmp_port);
  rtmp_options.max_connections = static_cast<size_t>(config_.ingest.max_publishers);
  rtmp_options.max_connections_per_address = static_cast<size_t>(config_.ingest.max_connections_per_address);
  // RTMPS ends at the front (deploy/front): every studio then comes from its address, capped by the front.
  rtmp_options.uncapped_addresses = *core::AddressSet::parse(config_.server.trusted_proxies);  // validated at load
  rtmp_options.publish_timeout = std::chrono::seconds(config_.ingest.auth_timeout_s);
  rtmp_options.handshake_timeout = std::min<std::chrono::milliseconds>(rtmp_options.handshake_timeout,
                                                                       rtmp_options.publish_timeout);
  rtmp_options.session.chunk.max_command_size = static_cast<uint32_t>(config_.ingest.max_command_bytes);
  rtmp_ = std::make_unique<ingest::rtmp::RtmpServer>(ingest_, rtmp_options, *rtmp_bridge_);
  if (auto r = rtmp_->start(); !r) return r;
  ingest_work_.emplace(ingest_.get_executor());
  ingest_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sreda-ingest");
    ingest_.run();
  });
  return {};
}

core::Result<void> App::start_audience() {
  audience::AudienceOptions audience_options;
  audience_options.ws = config_.ws;
  audience_options.public_url = config_.server.public_url;
  audience_options.viewer_secret = viewer_secret_;
  audience_options.shared_address_multiplier = config_.server.shared_address_multiplier;
  audience_options.reports_enabled = config_.reports.enabled;
  audience_options.report_sample_ms = int64_t{config_.reports.sample_s} * 1000;
  audience_options.archive_play_ms = int64_t{config_.reports.archive_play_s} * 1000;
  audience_ = std::make_unique<audience::AudienceHub>(
      audience_options, *store_, metrics_, [hub = hub_.get()](int64_t event_id) -> std::optional<audience::LiveClock> {
        auto c = hub->clock(event_id);
        if (!c) return std::nullopt;
        return audience::LiveClock{c->state, c->media_ms};
      });
  audience::ReportSources report_sources;
  report_sources.health = [hub = hub_.get()] {
    std::vector<audience::StreamHealth> out;
    for (const auto& e : hub->on_air_events())
      out.push_back({e.event_id, e.state, e.bitrate_kbps, e.reconnects, e.dropped});
    return out;
  };
  report_sources.players = [routes = live_routes_.get()] { return routes->playlist_audience().take(); };
  audience_->set_report_sources(std::move(report_sources));
  audience_->start();
  register_operator_metrics();
  return {};
}

// What an operator watches on concert night (deploy/prometheus/sreda-alerts.yml): each event on air with its
// studio's silence and its viewers, and the free space where the database and the recordings go. Label sets
// stay bounded: only the events live or in intermission now (an ended event's series are gone from the next
// scrape), and two folders.
void App::register_operator_metrics() {
  using Series = core::Metrics::Series;
  hub::EventHub* hub = hub_.get();
  audience::AudienceHub* audience = audience_.get();
  metrics_.gauges("sreda_live_events",
                  "events on air now (1 each), by event id, studio id, studio name and state (live, intermission)",
                  [hub] {
                    Series out;
                    for (const auto& e : hub->on_air_events())
                      out.push_back({{{"event", std::to_string(e.event_id)},
                                      {"studio", std::to_string(e.studio_id)},
                                      {"studio_name", e.studio_name},
                                      {"state", to_string(e.state)}},
                                     1});
                    return out;
                  });
  metrics_.gauges("sreda_ingest_silence_seconds",
                  "seconds since the studio of each event on air last sent media (about 0 while it streams; "
                  "grows while it is silent or gone, in intermission), by event and studio",
                  [hub] {
                    Series out;
                    for (const auto& e : hub->on_air_events())
                      out.push_back({{{"event", std::to_string(e.event_id)}, {"studio", std::to_string(e.studio_id)}},
                                     static_cast<double>(e.silent_ms / 100) / 10.0});
                    return out;
                  });
  metrics_.gauges("sreda_live_viewers",
                  "viewers of each event on air: watch pages connected to its audience channel (players "
                  "without the page are not counted)",
                  [hub, audience] {
                    Series out;
                    for (const auto& e : hub->on_air_events())
                      out.push_back({{{"event", std::to_string(e.event_id)}}, static_cast<double>(audience->viewers(e.event_id))});
                    return out;
                  });
  // statvfs at scrape time: the space an unprivileged writer (the service's user) may still use.
  std::vector<std::pair<std::string, std::string>> dirs;
  for (const auto& [name, dir] : {std::pair<std::string, std::string>{"data", config_.server.data_dir},
                                  {"archive", archive_options(config_).root}}) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(dir, ec);
    dirs.emplace_back(name, ec ? dir : absolute.lexically_normal().string());
  }
  auto disk = [dirs](bool free) {
    Series out;
    for (const auto& [name, path] : dirs) {
      struct statvfs fs {};
      if (::statvfs(path.c_str(), &fs) != 0) continue;  // not there (yet): no series rather than a false 0
      const double unit = static_cast<double>(fs.f_frsize);
      out.push_back({{{"dir", name}, {"path", path}},
                     unit * static_cast<double>(free ? fs.f_bavail : fs.f_blocks)});
    }
    return out;
  };
  metrics_.gauges("sreda_disk_free_bytes",
                  "free space for sreda on the filesystem of its data dir and of its archive (statvfs, at scrape time)",
                  [disk] { return disk(true); });
  metrics_.gauges("sreda_disk_size_bytes", "size of the filesystem of sreda's data dir and of its archive",
                  [disk] { return disk(false); });
}

core::Result<void> App::start_http() {
  limiter_ = std::make_unique<auth::LoginLimiter>(config_.auth.login_max_failures, config_.auth.login_window_s);
  {
    auto policy = std::make_shared<core::AddressPolicy>();
    policy->trusted_proxies = *core::AddressSet::parse(config_.server.trusted_proxies);  // validated at load
    policy->shared = *core::AddressSet::parse(config_.server.shared_addresses);
    policy->shared_multiplier = config_.server.shared_address_multiplier;
    addresses_ = std::move(policy);
  }
  ingest_info_ = std::make_unique<web::IngestInfo>(config_, rtmp_->port(), srt_->port());
  web::Api::Services services;
  services.live_outputs = live_outputs_.get();
  services.audience = audience_.get();
  services.archive = archive_.get();
  services.exporter = exporter_.get();
  services.ingest = ingest_info_.get();
  services.rate_refused = &metrics_.counter("sreda_http_refused_total", {{"cause", "api_rate"}});
  services.login_refused = &metrics_.counter("sreda_http_refused_total", {{"cause", "login_limit"}});
  services.server_refusals = refusal_window_.get();
  services.relays = relay_control_;
  services.viewer_secret = viewer_secret_;
  services.secure_cookie = config_.server.public_url.rfind("https://", 0) == 0;
  services.metrics = &metrics_;
  metrics_.describe("sreda_wishes_refused_total", "counter",
                    "wishes refused (address_cap, total_cap) and votes left out of a wish's count (vote_cap)");
  api_ = std::make_unique<web::Api>(config_, *store_, *limiter_, keys_, hub_.get(), addresses_, services);
  health_ = std::make_unique<web::HealthHandler>();
  metrics_handler_ = std::make_unique<web::MetricsHandler>(metrics_);
  calendar_ = std::make_unique<web::CalendarHandler>(config_, *store_);
  archive_routes_ = std::make_unique<web::ArchiveRoutes>(*archive_);
  static_ = std::make_unique<web::StaticHandler>(config_.server.static_dir, viewer_secret_,
                                                 config_.server.public_url.rfind("https://", 0) == 0);
  share_cards_ = std::make_unique<web::ShareCards>(
      web::ShareCards::Options{config_.server.data_dir + "/cards", static_cast<size_t>(config_.share.card_cache),
                               static_cast<size_t>(config_.share.card_queue), config_.share.cards_per_minute},
      metrics_);
  share_cards_->start();
  share_pages_ = std::make_unique<web::SharePages>(config_, *store_, *static_, *share_cards_);
  if (!std::filesystem::is_directory(config_.server.static_dir))
    log().warn("server.static_dir " + config_.server.static_dir + " is not a folder: web pages will answer 404");
  webrtc_routes_ = std::make_unique<web::WebRtcRoutes>(config_, metrics_, addresses_, whip_endpoint_, whep_endpoint_);
  std::vector<web::Route> routes = {
      {"/api", "/api", api_.get()},
      {"/whip", "/whip", webrtc_routes_.get()},
      {"/whep", "/whep", webrtc_routes_.get()},
      {"/healthz", "/healthz", health_.get()},
      {"/metrics", "/metrics", metrics_handler_.get()},
      {"/schedule.ics", "/schedule.ics", calendar_.get()},
      {"/events", "/events", calendar_.get()},
      {"/live", "/live", live_routes_.get(), &web::LiveRoutes::route_class},
      {"/archive", "/archive", archive_routes_.get()},
      {"/watch", "pages", share_pages_.get()},
      {"/e", "/e", share_pages_.get(), &web::SharePages::route_class},
      {"/", "pages", static_.get()},
  };
  web::HttpServerOptions http_options{config_.server.listen, config_.server.http_port, web::http_limits(config_.server)};
  http_options.ws = audience_.get();
  http_options.ws_max_message = static_cast<size_t>(config_.ws.max_frame_bytes);
  http_options.ws_ping_interval_s = config_.ws.ping_interval_s;
  http_options.addresses = addresses_;
  http_options.listener = std::exchange(http_listener_, -1);
  http_ = std::make_unique<web::HttpServer>(http_options, std::move(routes), metrics_);
  return http_->start();
}

}  // namespace sreda::app
