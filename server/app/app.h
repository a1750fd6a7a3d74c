// The composition root: builds every subsystem, starts them in order and stops them in reverse,
// in one place (STYLE.md 12). start()/stop() from the main thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <thread>

#include "server/auth/login_limiter.h"
#include "server/config/config.h"
#include "server/core/result.h"
#include "server/store/store.h"
#include "server/web/api.h"
#include "server/web/http_server.h"
#include "server/web/metrics.h"
#include "server/web/site_routes.h"

namespace sreda::app {

class App {
 public:
  explicit App(config::Config config);
  ~App();

  core::Result<void> start();
  void stop();
  int http_port() const { return http_ ? http_->port() : 0; }

 private:
  core::Result<void> open_store();
  void register_metrics();
  void schedule_housekeeping();

  config::Config config_;
  web::Metrics metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<auth::LoginLimiter> limiter_;
  std::unique_ptr<web::Api> api_;
  std::unique_ptr<web::HealthHandler> health_;
  std::unique_ptr<web::MetricsHandler> metrics_handler_;
  std::unique_ptr<web::CalendarHandler> calendar_;
  std::unique_ptr<web::StaticHandler> static_;
  std::unique_ptr<web::HttpServer> http_;

  // The control thread: timers and, later, the event hub.
  boost::asio::io_context control_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> control_work_;
  boost::asio::steady_timer housekeeping_{control_};
  std::thread control_thread_;
  int64_t started_ms_ = 0;
  bool started_ = false;
};

}  // namespace sreda::app
