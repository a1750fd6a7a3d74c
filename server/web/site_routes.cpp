#include "server/web/site_routes.h"

#include <filesystem>

#include "server/core/clock.h"
#include "server/schedule/catalog.h"
#include "server/schedule/ical.h"
#include "server/web/http_rules.h"

namespace sreda::web {
namespace {

std::string content_type_for(const std::filesystem::path& p) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".jpg", "image/jpeg"}, {".ico", "image/x-icon"}, {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"}};
  auto ext = p.extension().string();
  for (const auto& [e, t] : kTypes)
    if (ext == e) return t;
  return "application/octet-stream";
}

}  // namespace

std::string base_url(const config::Config& config, const HttpRequest& request) {
  std::string url = config.server.public_url;
  if (url.empty()) {
    std::string host = request.host;
    bool ok = !host.empty() && host.size() < 256;
    for (char ch : host) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || std::strchr(".-:[]", ch));
    url = "http://" + (ok ? host : std::string("localhost"));
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

void HealthHandler::handle(HttpRequest request, Reply reply) {
  reply(HttpResponse::json(200, {{"status", "ok"}, {"version", SREDA_VERSION}}));
}

void MetricsHandler::handle(HttpRequest request, Reply reply) {
  auto r = HttpResponse::text(200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render());
  set_caching(r, Caching::none);
  reply(std::move(r));
}

void CalendarHandler::handle(HttpRequest request, Reply reply) {
  int64_t event_id = 0;
  if (request.path != "/schedule.ics") {
    // "/events/<id>.ics"
    const std::string& p = request.path;
    const std::string prefix = "/events/";
    if (p.size() <= prefix.size() + 4 || p.compare(p.size() - 4, 4, ".ics") != 0)
      return reply(HttpResponse::error(404, "not_found", "no such calendar"));
    std::string digits = p.substr(prefix.size(), p.size() - prefix.size() - 4);
    if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos)
      return reply(HttpResponse::error(404, "not_found", "no such calendar"));
    event_id = std::stoll(digits);
  }
  std::string base = base_url(config_, request);
  std::string host = base.substr(base.find("://") + 3);
  bool queued = store_.post([event_id, base, host, reply](store::Db& db) {
    std::vector<schedule::Event> events;
    int64_t now = core::now_s();
    try {
      if (event_id) {
        auto e = schedule::find_event(db, event_id);
        if (!e) return reply(HttpResponse::error(404, "not_found", "no event with id " + std::to_string(event_id)));
        events.push_back(*e);
      } else {
        schedule::EventQuery q;
        q.when = "calendar";
        q.page_size = 1000;
        events = schedule::query_events(db, q, now).events;
      }
    } catch (const std::exception&) {
      return reply(HttpResponse::error(500, "internal", "the calendar could not be read"));
    }
    auto r = HttpResponse::text(200, "text/calendar; charset=utf-8", schedule::write_calendar(events, base, host, now));
    set_caching(r, Caching::short_lived, 60);
    r.headers.emplace_back("content-disposition", event_id ? "inline; filename=\"event-" + std::to_string(event_id) + ".ics\""
                                                          : "inline; filename=\"schedule.ics\"");
    reply(std::move(r));
  }, store::Store::Lane::public_reads);
  if (!queued) reply(HttpResponse::refused(503, "busy", "The server is very busy right now. Please try again in a few seconds.", 5));
}

StaticHandler::StaticHandler(std::string root, std::string viewer_secret, bool secure_cookie)
    : tokens_(std::move(viewer_secret)), secure_cookie_(secure_cookie) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(root, ec);
  root_ = ec ? root : canonical.string();
}

void StaticHandler::handle(HttpRequest request, Reply reply) {
  std::string rel = request.path;
  if (rel == "/" || rel == "/index.html") rel = "/index.html";
  else if (rel.rfind("/watch/", 0) == 0) rel = "/watch.html";
  else if (rel.rfind("/studio/", 0) == 0) rel = "/studio.html";  // the artist's view (token in ?t=)
  else if (rel == "/desk" || rel == "/desk/") rel = "/desk.html";
  else if (rel == "/wishes" || rel == "/wishes/") rel = "/wishes.html";  // residents' wishes
  std::error_code ec;
  auto full = std::filesystem::weakly_canonical(std::filesystem::path(root_) / rel.substr(1), ec);
  const std::string full_s = full.string();
  if (ec || full_s.compare(0, root_.size(), root_) != 0 || (full_s.size() > root_.size() && full_s[root_.size()] != '/') ||
      !std::filesystem::is_regular_file(full, ec)) {
    return reply(HttpResponse::error(404, "not_found", "no such page: " + request.path));
  }
  HttpResponse r;
  r.file_path = full_s;
  r.content_type = content_type_for(full);
  set_caching(r, Caching::revalidate);
  forbid_sniffing(r);
  if (full.extension() == ".html") r.headers.emplace_back("set-cookie", viewer_set_cookie(request));
  reply(std::move(r));
}

std::string StaticHandler::viewer_set_cookie(const HttpRequest& request) {
  std::string token = audience::viewer_cookie(request.cookie);
  if (!tokens_.verify(token)) token = tokens_.issue().token;
  return audience::viewer_set_cookie(token, secure_cookie_);
}

}  // namespace sreda::web
