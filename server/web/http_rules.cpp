#include "server/web/http_rules.h"

#include "server/core/log.h"

namespace sreda::web {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool percent_decode(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out.push_back(c);
  }
  return true;
}

PathVerdict check_path(std::string_view path) {
  if (path.empty() || path[0] != '/') return PathVerdict::bad;
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos) return PathVerdict::bad;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view segment = path.substr(i, j - i);
    if (segment == "." || segment == "..") return PathVerdict::traversal;
    i = j + 1;
  }
  return PathVerdict::ok;
}

HttpResponse path_refusal(PathVerdict verdict) {
  if (verdict == PathVerdict::traversal) return HttpResponse::error(404, "not_found", "no such file");
  return HttpResponse::error(400, "bad_path", "invalid path");
}

bool add_query_item(std::string_view item, bool raw, std::map<std::string, std::string>& query) {
  if (item.empty()) return true;
  const size_t eq = item.find('=');
  const std::string_view key = item.substr(0, eq);
  const std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
  std::string k, v;
  if (raw) {
    if (!percent_decode(key, k) || !percent_decode(value, v)) return false;
  } else {
    if (item.find('\0') != std::string_view::npos) return false;
    k.assign(key);
    v.assign(value);
  }
  query[std::move(k)] = std::move(v);
  return true;
}

bool parse_query(std::string_view raw, std::map<std::string, std::string>& query) {
  bool ok = true;
  while (!raw.empty()) {
    const size_t amp = raw.find('&');
    if (!add_query_item(raw.substr(0, amp), true, query)) ok = false;
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
  }
  return ok;
}

PathVerdict parse_target(std::string_view target, HttpRequest& request) {
  const size_t q = target.find('?');
  bool ok = percent_decode(target.substr(0, q), request.path);
  if (q != std::string_view::npos && !parse_query(target.substr(q + 1), request.query)) ok = false;
  if (!ok) return PathVerdict::bad;
  return check_path(request.path);
}

bool method_allowed(RouteHandler::Methods methods, std::string_view method) {
  return methods == RouteHandler::Methods::any || method == "GET" || method == "HEAD";
}

HttpResponse method_refusal(std::string_view method) {
  return HttpResponse::error(405, "method_not_allowed", std::string(method) + " is not allowed here");
}

bool route_matches(std::string_view prefix, std::string_view path) {
  if (prefix == "/") return true;
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/' || prefix.back() == '/';
}

Routing route_request(const std::vector<Route>& routes, const HttpRequest& request, std::optional<PathVerdict> checked) {
  Routing out;
  for (const auto& route : routes)
    if (route_matches(route.prefix, request.path)) {
      out.route = &route;
      out.label = route.classify ? route.classify(request.path) : std::string_view(route.label);
      break;
    }
  const PathVerdict verdict = checked ? *checked : check_path(request.path);
  if (verdict != PathVerdict::ok) {
    out.answered = true;
    out.answer = path_refusal(verdict);
  } else if (!out.route) {
    out.answered = true;
    out.answer = HttpResponse::error(404, "not_found", "no such page");
  } else if (!method_allowed(out.route->handler->methods(), request.method)) {
    out.answered = true;
    out.answer = method_refusal(request.method);
  }
  return out;
}

HttpResponse header_too_large(size_t limit) {
  auto r = HttpResponse::error(431, "header_too_large",
                               "the request header is larger than " + std::to_string(limit) + " bytes");
  r.close = true;
  return r;
}

HttpResponse body_too_large(int64_t limit) {
  auto r = HttpResponse::error(413, "too_large", "request body larger than " + std::to_string(limit) + " bytes");
  r.close = true;  // the unread body must not be parsed as the next request
  return r;
}

HttpResponse bad_request(const std::string& message) {
  auto r = HttpResponse::error(400, "bad_request", message);
  r.close = true;
  return r;
}

HttpResponse too_many_connections() {
  auto r = HttpResponse::refused(503, "busy", "The server has too many connections right now. Please try again in a minute.", 30);
  r.close = true;
  return r;
}

void set_caching(HttpResponse& r, Caching caching, int max_age_s) {
  std::string value;
  switch (caching) {
    case Caching::none: value = "no-store"; break;
    case Caching::revalidate: value = "no-cache"; break;
    case Caching::shared_brief: value = "public, max-age=0, s-maxage=1"; break;
    case Caching::private_revalidate: value = "private, no-cache"; break;
    case Caching::short_lived: value = "public, max-age=" + std::to_string(max_age_s); break;
    case Caching::immutable: value = "public, max-age=31536000, immutable"; break;
  }
  r.headers.emplace_back("cache-control", std::move(value));
}

void allow_any_origin(HttpResponse& r) { r.headers.emplace_back("access-control-allow-origin", "*"); }

void forbid_sniffing(HttpResponse& r) { r.headers.emplace_back("x-content-type-options", "nosniff"); }

const char* reason_phrase(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

HttpMetrics::HttpMetrics(core::Metrics& metrics, std::string log_tag) : metrics_(metrics), log_tag_(std::move(log_tag)) {}

void HttpMetrics::describe(core::Metrics& metrics) {
  metrics.describe("sreda_http_requests_total", "counter",
                   "HTTP requests answered, by route class (/live/master, /live/playlist, /live/part, /live/segment, "
                   "/live/init, /live/poster, /live, /api, /whip, /whep, /archive, pages, /ws, /metrics, /healthz, …) and status");
  metrics.describe("sreda_http_bytes_out_total", "counter",
                   "bytes written to HTTP clients (header blocks, bodies, WebSocket frames), by route class");
  metrics.describe("sreda_http_refused_total", "counter",
                   "HTTP connections and requests refused by a limit, by cause (descriptors, idle_evicted, "
                   "connections_total, connections_per_address, accept_error, api_rate)");
}

void HttpMetrics::answered(std::string_view label, int status) {
  auto& by_status = answered_[label];
  auto it = by_status.find(status);
  if (it == by_status.end())
    it = by_status.emplace(status, &metrics_.counter("sreda_http_requests_total",
                                                     {{"route", std::string(label)}, {"status", std::to_string(status)}}))
             .first;
  it->second->fetch_add(1, std::memory_order_relaxed);
}

void HttpMetrics::sent(std::string_view label, uint64_t bytes) {
  auto it = sent_.find(label);
  if (it == sent_.end())
    it = sent_.emplace(label, &metrics_.counter("sreda_http_bytes_out_total", {{"route", std::string(label)}})).first;
  it->second->fetch_add(bytes, std::memory_order_relaxed);
}

void HttpMetrics::refused(const std::string& cause, const std::string& what, int64_t now_ms) {
  metrics_.counter("sreda_http_refused_total", {{"cause", cause}}).fetch_add(1, std::memory_order_relaxed);
  if (refusal_logs_[cause].first_of_burst(now_ms))
    core::log_line(core::LogLevel::warn, log_tag_,
                   what + "; the rest of this burst is counted in sreda_http_refused_total{cause=\"" + cause + "\"}");
}

}  // namespace sreda::web
