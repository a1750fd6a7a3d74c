// The composition root: builds every subsystem, starts them in order and stops them in reverse,
// in one place (STYLE.md 12). start()/stop() from the main thread.
//
// Every part gets what it uses through its constructor; start() is one list of steps (start_steps()), each
// with the stop that undoes it, so a step that fails unwinds the steps before it in reverse, and stop() is the
// same unwinding. The order (each step needs the ones before it running):
//   store → live outputs and archive (recovery) → push relays → control thread (timers) → event hub → WebRTC
//   (rtc thread: WHIP) → SRT → RTMP (ingest thread) → pulled studios → MP4 exports → audience → HTTP (pages,
//   API, WebSocket, /live, /whip).
// Stopping therefore shuts the doors first (HTTP, then the audience flushes what it acknowledged) and the
// store last (it drains every accepted job).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/audience/audience_hub.h"
#include "server/archive/archive.h"
#include "server/auth/login_limiter.h"
#include "server/hub/event_hub.h"
#include "server/hub/key_directory.h"
#include "server/app/overload.h"
#include "server/app/whep_endpoint.h"
#include "server/app/whip_endpoint.h"
#include "server/ingest/rtmp_bridge.h"
#include "server/ingest/whip/whip_server.h"
#include "server/ingest/srt_bridge.h"
#include "server/ingest/srt/srt_server.h"
#include "server/ingest/rtmp/rtmp_server.h"
#include "server/live/live_outputs.h"
#include "server/relay/pull_manager.h"
#include "server/relay/push_relays.h"
#include "server/relay/store_targets.h"
#include "server/web/live_routes.h"
#include "server/config/config.h"
#include "server/core/client_address.h"
#include "server/core/result.h"
#include "server/store/store.h"
#include "server/web/api.h"
#include "server/web/archive_routes.h"
#include "server/web/http_server.h"
#include "server/web/ingest_info.h"
#include "server/core/metrics.h"
#include "server/web/share_cards.h"
#include "server/web/share_pages.h"
#include "server/web/webrtc_routes.h"
#include "server/web/site_routes.h"

namespace sreda::app {

class App {
 public:
  // `http_listener`: the HTTP port already bound (bind_http_early), adopted by the HTTP step; -1: bound there.
  explicit App(config::Config config, int http_listener = -1);
  ~App();

  // The HTTP port bound and listening, before the slow part of a start (GStreamer's registry and plugins, the
  // database, recovering recordings): main's first step. A player that reloads its playlist while the server
  // comes back after a crash or a kill -9 then waits in the port's queue for its answer instead of being
  // refused; hls.js gives up after three failed loads in a row, ~3 s apart at most. The descriptor, or -1 if
  // the port cannot be bound now (the HTTP step then tries again and says why).
  static int bind_http_early(const config::Config& config);

  core::Result<void> start();
  void stop();
  int http_port() const { return http_ ? http_->port() : 0; }
  int rtmp_port() const { return rtmp_ ? rtmp_->port() : 0; }
  int srt_port() const { return srt_ ? srt_->port() : 0; }

 private:
  // One start-up step and what undoes it (stop may be empty).
  struct Step {
    std::string name;
    std::function<core::Result<void>()> start;
    std::function<void()> stop;
  };
  std::vector<Step> start_steps();
  void unwind();  // stops the started steps, newest first

  core::Result<void> open_store();
  core::Result<void> start_live_outputs();
  core::Result<void> start_relays();
  core::Result<void> start_control_thread();
  core::Result<void> start_rtc();
  void stop_rtc();
  core::Result<void> start_srt();
  core::Result<void> start_rtmp();
  core::Result<void> start_pulls();
  core::Result<void> start_audience();
  core::Result<void> start_http();
  static archive::ArchiveOptions archive_options(const config::Config& c);
  void register_metrics();
  void register_operator_metrics();  // after the hub and the audience exist
  void schedule_housekeeping();
  void schedule_live_tick();

  config::Config config_;
  int http_listener_ = -1;  // bind_http_early's port until the HTTP step takes it (closed by ~App otherwise)
  std::string viewer_secret_;  // signs viewer ids (<data_dir>/viewer-secret)
  // The io_contexts come first so they are destroyed last: everything below may own timers or sockets
  // bound to them (the hub's timers, the RTMP server's sockets).
  boost::asio::io_context control_;  // the control thread: timers and the event hub
  boost::asio::io_context ingest_;   // the ingest thread: RTMP connections
  boost::asio::io_context rtc_;      // the rtc thread: WebRTC sessions (WHIP), their timers and pipelines
  core::Metrics metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<auth::LoginLimiter> limiter_;
  core::AddressPolicyPtr addresses_;  // server.trusted_proxies, server.shared_addresses
  hub::KeyDirectory keys_;  // its rotation callback reaches the hub (made in a later step)
  std::unique_ptr<archive::Archive> archive_;  // before the live outputs: their packagers hold its sinks
  std::unique_ptr<archive::Mp4Exporter> exporter_;
  std::unique_ptr<Overload> overload_;  // late frames of the ladder and the WHEP encodes; before both
  std::unique_ptr<live::LiveOutputs> live_outputs_;
  // Push relays (relays.*): each live event's outputs and, beside them, its relays (the hub's ConsumerFactory).
  std::unique_ptr<relay::StoreTargets> relay_targets_;
  std::unique_ptr<relay::PushRelays> relays_;
  std::unique_ptr<relay::RelayingFactory> consumers_;
  std::unique_ptr<WhepBackEnd> whep_;  // real-time viewers (/whep); its consumers() wrap consumers_ for the hub
  std::unique_ptr<web::LiveRoutes> live_routes_;
  std::unique_ptr<hub::EventHub> hub_;
  std::unique_ptr<ingest::RtmpBridge> rtmp_bridge_;
  std::unique_ptr<ingest::SrtBridge> srt_bridge_;
  std::unique_ptr<ingest::srt::SrtServer> srt_;  // its own epoll thread
  std::unique_ptr<ingest::whip::WhipServer> whip_;  // on the rtc thread
  std::unique_ptr<WhipEndpointAdapter> whip_adapter_;  // the /whip routes' back end
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> rtc_work_;
  std::thread rtc_thread_;
  std::unique_ptr<relay::PullManager> pulls_;  // pulled studios (a thread each)
  std::unique_ptr<web::RefusalWindow> refusal_window_;  // server-wide refusals for the desk (sampled on the live tick)
  // The relays' runtime (server/relay) the API tells of changes and asks for state and tests; null until it
  // runs (then the relay routes store and answer, and "test connection" answers 503).
  relay::RelayControl* relay_control_ = nullptr;
  std::unique_ptr<web::Api> api_;
  std::unique_ptr<web::HealthHandler> health_;
  std::unique_ptr<web::MetricsHandler> metrics_handler_;
  std::unique_ptr<web::CalendarHandler> calendar_;
  std::unique_ptr<web::ArchiveRoutes> archive_routes_;
  std::unique_ptr<web::StaticHandler> static_;
  std::unique_ptr<web::ShareCards> share_cards_;  // shared links' preview pictures (stopped before http_)
  std::unique_ptr<web::SharePages> share_pages_;  // /watch/<id> with its preview tags, /e/<number>
  std::unique_ptr<web::IngestInfo> ingest_info_;
  // The WebRTC back ends the /whip and /whep routes call (set by their start steps, before HTTP starts);
  // null: those routes answer 503 in plain words.
  web::WhipEndpoint* whip_endpoint_ = nullptr;
  web::WhepEndpoint* whep_endpoint_ = nullptr;
  std::unique_ptr<web::WebRtcRoutes> webrtc_routes_;  // /whip, /whep
  std::unique_ptr<audience::AudienceHub> audience_;  // outlives http_ (its WebSocket handler)
  std::unique_ptr<web::HttpServer> http_;

  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> control_work_;
  boost::asio::steady_timer housekeeping_{control_};
  boost::asio::steady_timer live_tick_{control_};
  std::thread control_thread_;

  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> ingest_work_;
  std::unique_ptr<ingest::rtmp::RtmpServer> rtmp_;
  std::thread ingest_thread_;
  int64_t started_ms_ = 0;
  std::vector<Step> steps_;
  size_t started_steps_ = 0;  // steps_[0, started_steps_) are running
};

}  // namespace sreda::app
