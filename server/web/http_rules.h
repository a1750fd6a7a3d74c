// The HTTP rules every route obeys, whichever transport carries it: the Asio front (server/web/live_front.h:
// GET/HEAD /live/…) and libwebsockets (server/web/http_server.h: pages, API, /archive, /ws). One request
// model (HttpRequest, http.h), and here: the limits, the path rule, query parsing, the method rule, the
// response's header fields, the errors the rules answer themselves, and the request metrics. A transport
// reads bytes and writes them; what a request means and how it is answered is decided here.
// Pure functions (no I/O, no clock) but HttpMetrics, which one transport thread owns; unit-tested in
// tests/unit/web_http_rules_test.cpp and fuzzed through the live front's parser
// (tests/fuzz/fuzz_live_front_request.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <optional>
#include <unordered_map>
#include <vector>

#include "server/core/metrics.h"
#include "server/web/http.h"
#include "server/web/limits.h"

namespace sreda::web {

// Every limit of the HTTP port, in one place (filled once from config::Config::server by the app; both
// transports read this one copy).
struct HttpLimits {
  size_t max_header_bytes = 8192;         // request line + header; more: 431 and close
  int64_t max_body_bytes = 65536;         // server.max_body_bytes; more: 413 and close
  int64_t header_timeout_ms = 20'000;     // server.header_timeout_s: a request's header must be complete by then
                                          // (slowloris); also a response the client does not read
  int64_t idle_timeout_ms = 30'000;       // server.keepalive_timeout_s: an idle keep-alive connection is closed
  uint64_t max_requests_per_connection = 100'000;  // then "connection: close"
  int64_t max_connections = 50000;              // server.max_connections (counted from accept to close)
  int64_t max_connections_per_address = 256;    // server.max_connections_per_address (IPv6: per /64)
  int fd_reserve = 256;                         // server.fd_reserve: descriptors a new connection may not take
  size_t max_handoff_bytes = 2048;  // bytes libwebsockets takes with an adopted socket (lws-adopt.h)
};

// ---- Paths -------------------------------------------------------------------------------------------
// The one answer for a request's path, decoded: `bad` (400 bad_path) when it is not absolute or holds a
// NUL or a backslash; `traversal` (404 not_found, never resolved) when a segment is "." or ".." (plain or
// %-encoded, %2f included: the rule sees the decoded path). libwebsockets removes dot segments itself while
// it parses (RFC 3986), so on that transport the rule sees paths already without them: either way a
// request never reaches a file outside its route's folder.
enum class PathVerdict { ok, bad, traversal };
PathVerdict check_path(std::string_view path);
// The rules' answer for a path that is not `ok`.
HttpResponse path_refusal(PathVerdict verdict);

// Percent-decodes `s` into `out`; false on a malformed escape or a decoded NUL.
bool percent_decode(std::string_view s, std::string& out);

// ---- Queries -----------------------------------------------------------------------------------------
// One "key=value" item of a query (a key alone: value ""; empty items skipped; a repeated key: the last
// wins). `raw`: %-escapes still in it (the live front); libwebsockets hands over items already decoded.
// False on a malformed escape or NUL (the request is then answered 400 bad_path).
bool add_query_item(std::string_view item, bool raw, std::map<std::string, std::string>& query);
// A raw query string "a=1&b=%41": its items split at '&', each decoded.
bool parse_query(std::string_view raw, std::map<std::string, std::string>& query);
// A raw request target "/path?query" into request.path and request.query (decoded); not `ok` when
// undecodable (bad) or refused by check_path.
PathVerdict parse_target(std::string_view target, HttpRequest& request);

// ---- Methods -----------------------------------------------------------------------------------------
// A route's methods (RouteHandler::methods()): for read-only routes the rules answer 405 themselves.
bool method_allowed(RouteHandler::Methods methods, std::string_view method);
HttpResponse method_refusal(std::string_view method);

// ---- Routes ------------------------------------------------------------------------------------------
struct Route {
  std::string prefix;      // "/api": matches "/api" and "/api/…"; "/" matches everything
  std::string label;       // for metrics, e.g. "/api"
  RouteHandler* handler;   // not owned; outlives the server
  // The metrics label of a path within the route when it has finer classes (/live: "/live/part",
  // "/live/playlist", …; a string literal); null: `label` for every path.
  std::string_view (*classify)(std::string_view path) = nullptr;
};
bool route_matches(std::string_view prefix, std::string_view path);

// What the rules make of a request before any handler: the route it goes to (null: none), its metrics
// label ("other" without a route), and the answer when the rules answer it themselves: a path they refuse
// (`parsed`: the transport's verdict on the raw target, else check_path), no route (404), a method the
// route does not take (405).
struct Routing {
  const Route* route = nullptr;
  std::string_view label = "other";  // the route's own label (routes outlive the servers), or a literal
  bool answered = false;
  HttpResponse answer;
};
// `checked`: the transport's verdict on the path when it has checked it already (parse_target does), so it is
// not checked twice; nullopt: checked here.
Routing route_request(const std::vector<Route>& routes, const HttpRequest& request,
                      std::optional<PathVerdict> checked = std::nullopt);

// ---- Errors the transports answer ----------------------------------------------------------------------
HttpResponse header_too_large(size_t limit);            // 431, close
HttpResponse body_too_large(int64_t limit);             // 413, close
HttpResponse bad_request(const std::string& message);   // 400, close
HttpResponse too_many_connections();                    // 503 busy, Retry-After, close

// ---- Responses -----------------------------------------------------------------------------------------
// Caching, one policy per kind of answer (a response's "cache-control"), and CORS for media players on
// other origins. Routes say which applies; the header values are written here only.
enum class Caching {
  none,          // no-store: API answers, errors, metrics
  revalidate,    // no-cache: pages, an archive playlist still being written
  private_revalidate,  // private, no-cache: a curator's download (never kept by a shared cache)
  short_lived,   // public, max-age=N: a blocking-reload answer (held or not: any answer to _HLS_msn lists
                 // the part asked for, so an edge may give it to every viewer asking the same), a poster, a
                 // closed playlist, a calendar
  immutable,     // public, max-age=31536000, immutable: parts, segments, init segments
  shared_brief,  // public, max-age=0, s-maxage=1: a live master or non-blocking media playlist — browsers
                 // ask again every time, an edge cache may answer it for a second (it sends Age; hls.js
                 // reads it) so a crowd joining at once is one origin request per edge and second
};
void set_caching(HttpResponse& r, Caching caching, int max_age_s = 0);
// Media (HLS playlists, parts, posters) may be read by a player on any origin.
void allow_any_origin(HttpResponse& r);
// Pages a browser renders are never sniffed as another type.
void forbid_sniffing(HttpResponse& r);

// The status line's reason phrase.
const char* reason_phrase(int status);
// The response's header fields after content-type and content-length, in order, as both transports write
// them: the route's (r.headers), then "connection: close" when the connection closes after it.
template <class Emit>
void for_each_field(const HttpResponse& r, bool close, Emit&& emit) {
  for (const auto& [name, value] : r.headers) emit(std::string_view(name), std::string_view(value));
  if (close) emit(std::string_view("connection"), std::string_view("close"));
}

// ---- Metrics -----------------------------------------------------------------------------------------
// The HTTP port's counters, recorded here only: sreda_http_requests_total{route,status} for every answer,
// sreda_http_bytes_out_total{route} for the bytes written (header blocks, bodies, WebSocket frames) and
// sreda_http_refused_total{cause} for every refusal by a limit (with one log line per burst of each cause).
// `route` is a route class (Routing::label: "/api", "pages", "/live/part", …), never a raw path.
// One instance per transport thread (its caches are that thread's; the counters are shared).
class HttpMetrics {
 public:
  HttpMetrics(core::Metrics& metrics, std::string log_tag);
  // Registers the families' help texts (once, by the server).
  static void describe(core::Metrics& metrics);
  void answered(std::string_view label, int status);  // a label of Routing (its storage outlives this)
  // `bytes` written (or handed to the kernel) for a route class: one relaxed atomic add.
  void sent(std::string_view label, uint64_t bytes);
  // Counts a refusal under `cause` and logs `what` at the first of a burst.
  void refused(const std::string& cause, const std::string& what, int64_t now_ms);

 private:
  core::Metrics& metrics_;
  std::string log_tag_;
  // label → status → counter (no string is built per answer)
  std::unordered_map<std::string_view, std::unordered_map<int, std::atomic<uint64_t>*>> answered_;
  std::unordered_map<std::string_view, std::atomic<uint64_t>*> sent_;  // label → bytes counter
  std::unordered_map<std::string, BurstLog> refusal_logs_;            // cause → its bursts
};

}  // namespace sreda::web
