// Routes beside the API: /healthz, /metrics, the iCalendar feeds and the player-web files.
// handle() runs on the web thread; the calendar work runs on the store thread.
#pragma once

#include <chrono>
#include <string>

#include "server/audience/identity.h"
#include "server/config/config.h"
#include "server/store/store.h"
#include "server/web/http.h"
#include "server/core/metrics.h"

namespace sreda::web {

class HealthHandler : public RouteHandler {
 public:
  void handle(HttpRequest request, Reply reply) override;
  Methods methods() const override { return Methods::read_only; }
};

class MetricsHandler : public RouteHandler {
 public:
  explicit MetricsHandler(core::Metrics& metrics) : metrics_(metrics) {}
  void handle(HttpRequest request, Reply reply) override;
  Methods methods() const override { return Methods::read_only; }

 private:
  core::Metrics& metrics_;
};

// GET /schedule.ics (the programme) and /events/<id>.ics (one event).
class CalendarHandler : public RouteHandler {
 public:
  CalendarHandler(const config::Config& config, store::Store& store) : config_(config), store_(store) {}
  void handle(HttpRequest request, Reply reply) override;
  Methods methods() const override { return Methods::read_only; }

 private:
  const config::Config& config_;
  store::Store& store_;
};

// player-web's files from server.static_dir; "/" is index.html, "/watch/<id>" is watch.html, "/studio/<id>" is studio.html, "/desk" is desk.html, "/wishes" is wishes.html.
// Every page (.html) sets the viewer cookie (sreda_viewer): the viewer's own token again, or a new one.
class StaticHandler : public RouteHandler {
 public:
  StaticHandler(std::string root, std::string viewer_secret, bool secure_cookie);
  void handle(HttpRequest request, Reply reply) override;
  Methods methods() const override { return Methods::read_only; }
  // The page's set-cookie value: the request's viewer token again, or a new one (web thread).
  std::string viewer_set_cookie(const HttpRequest& request);

 private:
  std::string root_;
  audience::ViewerTokens tokens_;
  bool secure_cookie_;
};

// The public base URL: server.public_url, else http://<Host>.
std::string base_url(const config::Config& config, const HttpRequest& request);

}  // namespace sreda::web
