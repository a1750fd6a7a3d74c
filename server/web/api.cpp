#include "server/web/api.h"

#include "server/auth/password.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/core/text.h"
#include "server/web/ingest_info.h"
#include "server/web/http_rules.h"

namespace sreda::web {
namespace {

using nlohmann::json;

// Splits "/api/studios/3" against "/api/studios/{id}" (each {name} a number). Returns false when it does not
// match.
bool match(const std::string& pattern, const std::string& path, std::vector<int64_t>& ids) {
  size_t pi = 0, si = 0;
  ids.clear();
  while (pi < pattern.size() && si < path.size()) {
    if (pattern[pi] == '{') {  // a path parameter: a number
      const size_t close = pattern.find('}', pi);
      size_t start = si;
      int64_t v = 0;
      while (si < path.size() && path[si] >= '0' && path[si] <= '9' && si - start < 15) v = v * 10 + (path[si++] - '0');
      if (si == start || (si < path.size() && path[si] != '/')) return false;
      ids.push_back(v);
      pi = close + 1;
      continue;
    }
    if (pattern[pi] != path[si]) return false;
    ++pi;
    ++si;
  }
  if (si < path.size() && path[si] == '/' && si + 1 == path.size()) ++si;  // tolerate one trailing slash
  return pi == pattern.size() && si == path.size();
}

}  // namespace

HttpResponse field_errors(int status, const std::string& code,
                          const std::vector<std::pair<std::string, std::string>>& errors) {
  json fields = json::array();
  for (const auto& [f, m] : errors) fields.push_back({{"field", f}, {"message", m}});
  json e = {{"code", code}, {"message", errors.front().second}, {"fields", fields}};
  if (!errors.front().first.empty()) e["field"] = errors.front().first;
  return HttpResponse::json(status, {{"error", e}});
}

std::optional<HttpResponse> query_number(const HttpRequest& r, const char* name, int64_t min, int64_t max,
                                         std::optional<int64_t>& out) {
  std::string text = r.query_value(name);
  if (text.empty()) return std::nullopt;
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < min || v > max)
    return HttpResponse::error(400, "bad_query",
                               std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
                                   std::to_string(max),
                               name);
  out = v;
  return std::nullopt;
}

Api::Api(const config::Config& config, store::Store& store, auth::LoginLimiter& limiter, hub::KeyDirectory& keys,
         hub::EventHub* hub, core::AddressPolicyPtr addresses, Services services)
    : config_(config),
      store_(store),
      limiter_(limiter),
      keys_(keys),
      hub_(hub),
      live_outputs_(services.live_outputs),
      audience_(services.audience),
      archive_(services.archive),
      exporter_(services.exporter),
      ingest_(services.ingest),
      relays_(services.relays),
      destinations_(relay::Destinations::parse(config.relays.allowed_hosts)),
      addresses_(std::move(addresses)),
      rate_(config.server.api_requests_per_s, config.server.api_burst),
      rate_refused_(services.rate_refused),
      login_refused_(services.login_refused),
      server_refusals_(services.server_refusals),
      viewer_tokens_(services.viewer_secret),
      secure_cookie_(services.secure_cookie),
      metrics_(services.metrics) {
  using A = Access;
  // The API's one table. ApiDoc's names (schemas, parameters) are defined in api_schemas.cpp; what a route
  // may answer beyond doc.errors follows from its row (api_schemas.cpp: error_statuses).
  routes_ = {
      {"GET", "/api/openapi.json", A::anyone, &Api::openapi,
       {.summary = "This document: every route of the API, who may call it, what it takes and what it answers",
        .response = "OpenApiDocument"}},
      {"GET", "/api/ingest", A::anyone, &Api::ingest,
       {.summary = "Where studios publish: the RTMP server, the SRT URL prefix and the ports bound",
        .response = "Ingest"}},
      {"POST", "/api/login", A::anyone, &Api::login,
       {.summary = "A bearer token for the other routes (valid auth.session_ttl_hours, 12 h)",
        .request = "LoginRequest", .response = "Login", .errors = {401}}},
      {"POST", "/api/logout", A::curator, &Api::logout, {.summary = "Ends this session", .response = "Ok"}},
      {"GET", "/api/me", A::curator, &Api::me, {.summary = "The logged-in curator", .response = "Curator"}},
      {"GET", "/api/curators", A::admin, &Api::list_curators, {.summary = "Every curator", .response = "CuratorList"}},
      {"POST", "/api/curators", A::admin, &Api::create_curator,
       {.summary = "A new curator or admin", .request = "CuratorNew", .response = "Curator", .status = 201,
        .errors = {409}}},
      {"DELETE", "/api/curators/{id}", A::admin, &Api::delete_curator,
       {.summary = "Deletes a curator (not oneself, not the last admin)", .response = "Deleted", .errors = {409}}},
      {"GET", "/api/studios", A::curator, &Api::list_studios,
       {.summary = "Every studio with its stream key and artist's view link", .response = "StudioList"}},
      {"POST", "/api/studios", A::admin, &Api::create_studio,
       {.summary = "A new studio with a new stream key", .request = "StudioNew", .response = "Studio",
        .status = 201, .errors = {409}}},
      {"GET", "/api/studios/{id}", A::curator, &Api::get_studio, {.summary = "One studio", .response = "Studio"}},
      {"PATCH", "/api/studios/{id}", A::admin, &Api::patch_studio,
       {.summary = "Renames a studio, sets its SRT passphrase, or its pulled source (pull_url; null: it publishes)",
        .request = "StudioPatch", .response = "Studio",
        .errors = {409}}},
      {"DELETE", "/api/studios/{id}", A::admin, &Api::delete_studio,
       {.summary = "Deletes a studio that has no events", .response = "Deleted", .errors = {409}}},
      {"POST", "/api/studios/{id}/rotate-key", A::admin, &Api::rotate_key,
       {.summary = "A new stream key; the old one stops working at the next publish", .response = "Studio"}},
      {"POST", "/api/studios/{id}/rotate-view-token", A::admin, &Api::rotate_view_token,
       {.summary = "A new artist's view link; the old one stops working", .response = "Studio"}},
      {"GET", "/api/studio-view/{studio}", A::view_link, &Api::studio_view,
       {.summary = "The artist's view: the studio's current or next event, publish settings, the stream's "
                   "health in words, advice and the rating",
        .response = "StudioView"}},
      {"POST", "/api/studio-view/{studio}/comments/{comment}/answered", A::view_link, &Api::studio_answer,
       {.summary = "The artist marks a question of their own studio's event answered (idempotent)",
        .response = "PublicComment", .errors = {403, 409}},
       true},
      {"GET", "/api/events", A::curator, &Api::list_events,
       {.summary = "Every event (or those of one studio, or one part of the programme)", .response = "EventList",
        .errors = {400}, .query = {"CuratorWhen", "StudioId"}}},
      {"POST", "/api/events", A::curator, &Api::create_event,
       {.summary = "Schedules an event (at most 12 h; no overlap on its studio)", .request = "EventNew",
        .response = "Event", .status = 201, .errors = {409}}},
      {"GET", "/api/events/{id}", A::curator, &Api::get_event, {.summary = "One event", .response = "Event"}},
      {"PATCH", "/api/events/{id}", A::curator, &Api::patch_event,
       {.summary = "Edits or reschedules an event (times and studio only while scheduled)", .request = "EventPatch",
        .response = "Event", .errors = {409}}},
      {"DELETE", "/api/events/{id}", A::curator, &Api::delete_event,
       {.summary = "Deletes an event and its recording (not while live or recording)", .response = "Deleted",
        .errors = {409}}},
      {"POST", "/api/events/{id}/cancel", A::curator, &Api::cancel_event,
       {.summary = "Cancels a scheduled event (idempotent)", .response = "Event", .errors = {409}}},
      {"POST", "/api/events/{id}/end", A::curator, &Api::end_event,
       {.summary = "Ends a live event now and disconnects its studio", .response = "Ended", .errors = {409}}},
      {"GET", "/api/events/{id}/live", A::curator, &Api::live_event,
       {.summary = "Live ingest facts, each rendition's health, the recording and the refusals of the last minutes",
        .response = "LiveInfo"}},
      {"GET", "/api/events/{id}/relays", A::curator, &Api::list_event_relays,
       {.summary = "The event's relays (push targets), then its studio's defaults; URLs with their keys masked",
        .response = "RelayList"}},
      {"POST", "/api/events/{id}/relays", A::curator, &Api::create_event_relay,
       {.summary = "Adds a relay: while the event is live its stream also goes to this RTMP, RTMPS or SRT address",
        .request = "RelayNew", .response = "Relay", .status = 201}},
      {"PATCH", "/api/events/{id}/relays/{relay}", A::curator, &Api::patch_event_relay,
       {.summary = "Renames, re-addresses, enables or disables a relay (the masked URL back means unchanged)",
        .request = "RelayPatch", .response = "Relay"}},
      {"DELETE", "/api/events/{id}/relays/{relay}", A::curator, &Api::delete_event_relay,
       {.summary = "Removes a relay (a live one stops)", .response = "Deleted"}},
      {"POST", "/api/events/{id}/relays/{relay}/test", A::curator, &Api::test_event_relay,
       {.summary = "Tries to reach the relay's target now and says what happened (one test at a time per curator "
                    "and per relay, 4 at once in all: else 429)", .response = "RelayTest"}},
      {"GET", "/api/studios/{id}/relays", A::curator, &Api::list_studio_relays,
       {.summary = "The studio's default relays: every event of the studio goes out to these too",
        .response = "RelayList"}},
      {"POST", "/api/studios/{id}/relays", A::curator, &Api::create_studio_relay,
       {.summary = "Adds a default relay for the studio's events", .request = "RelayNew", .response = "Relay",
        .status = 201}},
      {"PATCH", "/api/studios/{id}/relays/{relay}", A::curator, &Api::patch_studio_relay,
       {.summary = "Changes one of the studio's default relays", .request = "RelayPatch", .response = "Relay"}},
      {"DELETE", "/api/studios/{id}/relays/{relay}", A::curator, &Api::delete_studio_relay,
       {.summary = "Removes one of the studio's default relays", .response = "Deleted"}},
      {"POST", "/api/studios/{id}/relays/{relay}/test", A::curator, &Api::test_studio_relay,
       {.summary = "Tries to reach the default relay's target now (one test at a time per curator and per relay)", .response = "RelayTest"}},
      {"POST", "/api/relays/test", A::curator, &Api::test_relay_url,
       {.summary = "Tries to reach a relay address now (before saving it) and says what happened (one test at a "
                    "time per curator)",
        .request = "RelayTestRequest", .response = "RelayTest"}},
      {"GET", "/api/events/{id}/recording", A::curator, &Api::get_recording,
       {.summary = "The event's recording: state, renditions, durations, bytes and trim", .response = "Recording"}},
      {"DELETE", "/api/events/{id}/recording", A::curator, &Api::delete_recording,
       {.summary = "Deletes the recording's files and row; the event goes back to ended", .response = "Deleted",
        .errors = {409}}},
      {"GET", "/api/events/{id}/recording.mp4", A::curator, &Api::export_recording,
       {.summary = "The recording's public window as one MP4 (M4A for sound only), remuxed once and cached",
        .response = "RecordingFile", .errors = {409}, .query = {"Rendition", "Part"}}},
      {"POST", "/api/events/{id}/recording/trim", A::curator, &Api::trim_recording,
       {.summary = "Hides the pre-show and after-show from the public recording (whole segments; null undoes)",
        .request = "TrimRequest", .response = "Recording"}},
      {"GET", "/api/public/events", A::anyone, &Api::public_events,
       {.summary = "The programme, 20 a page", .response = "PublicEventPage", .errors = {400},
        .query = {"When", "Category", "Q", "Page"}}},
      {"GET", "/api/public/events/{id}", A::anyone, &Api::public_event,
       {.summary = "One event of the programme with its state", .response = "PublicEvent"}},
      {"GET", "/api/public/events/{id}/comments", A::anyone, &Api::public_comments,
       {.summary = "Visible comments by media time, for the archive player", .response = "PublicCommentPage",
        .errors = {400}, .query = {"FromMs", "ToMs", "ReplayLimit"}}},
      {"GET", "/api/events/{id}/comments", A::curator, &Api::curator_comments,
       {.summary = "Every comment of an event, newest first, for moderation", .response = "CuratorCommentList",
        .errors = {400}, .query = {"CommentLimit"}}},
      {"POST", "/api/events/{id}/comments/{comment}/hide", A::curator, &Api::hide_comment,
       {.summary = "Hides a comment from every viewer's page at once", .response = "CuratorComment"},
       true},
      {"POST", "/api/events/{id}/comments/{comment}/unhide", A::curator, &Api::unhide_comment,
       {.summary = "Shows a hidden or held comment again", .response = "CuratorComment"},
       true},
      {"POST", "/api/events/{id}/comments/{comment}/answered", A::curator, &Api::answer_comment,
       {.summary = "Marks a viewer's question answered (idempotent)", .response = "CuratorComment", .errors = {409}},
       true},
      {"GET", "/api/events/{id}/slow-mode", A::curator, &Api::get_slow_mode,
       {.summary = "The event's slow mode", .response = "SlowMode"}},
      {"POST", "/api/events/{id}/slow-mode", A::curator, &Api::set_slow_mode,
       {.summary = "Sets slow mode: one comment per N seconds per viewer (0 = off)", .request = "SlowModeRequest",
        .response = "SlowMode"}},
      {"GET", "/api/audience/bans", A::curator, &Api::list_bans, {.summary = "Every ban", .response = "BanList"}},
      {"POST", "/api/audience/bans", A::curator, &Api::create_ban,  // finds the viewer's address
       {.summary = "Bans a viewer id or an address from one event or from every event", .request = "BanNew",
        .response = "Ban", .status = 201, .errors = {404, 409}},
       true},
      {"DELETE", "/api/audience/bans/{id}", A::curator, &Api::delete_ban,
       {.summary = "Lifts a ban", .response = "Deleted"}},
      {"GET", "/api/audience/words", A::curator, &Api::list_words,
       {.summary = "The word lists that hold a comment for review, per language", .response = "WordLists"}},
      {"POST", "/api/audience/words", A::curator, &Api::set_words,
       {.summary = "Replaces one language's word list", .request = "WordListRequest", .response = "WordList"}},
      {"GET", "/api/audience/log", A::curator, &Api::moderation_log,
       {.summary = "Who moderated what, newest first (at most 500)", .response = "ModerationLog",
        .errors = {400, 404}, .query = {"LogEventId", "LogLimit"}}},
      {"GET", "/api/public/wishes", A::anyone, &Api::public_wishes,
       {.summary = "Residents' wishes for what to show next, most voted or newest first, 20 a page",
        .response = "PublicWishPage", .errors = {400}, .query = {"WishSort", "Page"}}},
      {"POST", "/api/public/wishes", A::anyone, &Api::suggest_wish,
       {.summary = "Suggests an event or a topic (sets the sreda_viewer cookie when the request has none)",
        .request = "WishNew", .response = "WishSubmitted", .status = 201, .errors = {403}}},
      {"POST", "/api/public/wishes/{id}/vote", A::anyone, &Api::vote_for_wish,
       {.summary = "One vote for a wish per viewer identity (the sreda_viewer cookie); a second changes nothing",
        .response = "WishVote", .errors = {403}}},
      {"GET", "/api/wishes", A::curator, &Api::curator_wishes,
       {.summary = "Every wish (hidden and held too), most voted or newest first, 100 a page",
        .response = "CuratorWishPage", .errors = {400}, .query = {"WishSort", "Page"}}},
      {"POST", "/api/wishes/{id}/hide", A::curator, &Api::hide_wish,
       {.summary = "Hides a wish from the public list", .response = "CuratorWish"}},
      {"POST", "/api/wishes/{id}/unhide", A::curator, &Api::unhide_wish,
       {.summary = "Shows a hidden or held wish again", .response = "CuratorWish"}},
      {"PATCH", "/api/wishes/{id}", A::curator, &Api::patch_wish,
       {.summary = "A public reply to a wish, and the event that answers it (null clears either)",
        .request = "WishPatch", .response = "CuratorWish"}},
      {"GET", "/api/events/{id}/report", A::curator, &Api::event_report,
       {.summary = "The event's report: viewers over time, peak, unique viewers, minutes watched, comments, rating",
        .response = "EventReport"},
       true},
      {"GET", "/api/events/{id}/report.csv", A::curator, &Api::event_report_csv,
       {.summary = "The event report's timeline as CSV, one row per sample", .response = "ReportCsv"},
       true},
      {"GET", "/api/reports", A::curator, &Api::season_report,
       {.summary = "The season report: events held, viewers, minutes watched and rating, by category, studio or month",
        .response = "SeasonReport", .errors = {400}, .query = {"ReportFrom", "ReportTo", "ReportGroup"}}},
      {"GET", "/api/reports.csv", A::curator, &Api::season_report_csv,
       {.summary = "The season report as CSV, one row per group and a total row", .response = "ReportCsv",
        .errors = {400}, .query = {"ReportFrom", "ReportTo", "ReportGroup"}}},
  };
  std::vector<ApiDocRoute> described;
  for (const auto& r : routes_) described.push_back({r.method, r.pattern, r.access, &r.doc});
  openapi_json_ = openapi_document(described).dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {
constexpr int64_t kVerifiedForMs = 60'000;
constexpr size_t kMaxVerifiedTokens = 4096;
}  // namespace

bool Api::recently_verified(const std::string& token, int64_t now_ms) {
  if (token.empty()) return false;
  std::lock_guard lock(verified_mutex_);
  auto it = verified_tokens_.find(token);
  return it != verified_tokens_.end() && now_ms - it->second < kVerifiedForMs;
}

void Api::remember_verified(const std::string& token, int64_t now_ms) {
  std::lock_guard lock(verified_mutex_);
  if (verified_tokens_.size() >= kMaxVerifiedTokens) {
    std::erase_if(verified_tokens_, [now_ms](const auto& e) { return now_ms - e.second >= kVerifiedForMs; });
    if (verified_tokens_.size() >= kMaxVerifiedTokens) verified_tokens_.clear();
  }
  verified_tokens_[token] = now_ms;
}

int64_t Api::over_rate(const HttpRequest& request) {
  if (recently_verified(request.bearer_token(), core::steady_ms())) return 0;  // a logged-in curator
  const std::string key = core::limit_key(request.peer);
  const bool shared = addresses_ && addresses_->shared.contains(request.peer);
  const int64_t now = core::steady_ms();
  const int64_t wait = rate_.take(key, now, shared ? addresses_->shared_multiplier : 1);
  if (!wait) return 0;
  if (rate_refused_) rate_refused_->fetch_add(1, std::memory_order_relaxed);
  if (rate_log_.first_of_burst(now))
    core::Logger("api").warn("refusing requests from " + key + ": over " + std::to_string(config_.server.api_requests_per_s) +
                             "/s (server.api_requests_per_s); the rest of this burst is counted in "
                             "sreda_http_refused_total{cause=\"api_rate\"}");
  return wait;
}

void Api::handle(HttpRequest request, Reply reply) {
  if (const int64_t wait = over_rate(request)) {
    reply(HttpResponse::refused(429, "rate_limited",
                                "Too many requests from your address. Please wait " + std::to_string(wait) +
                                    " s and try again.", wait));
    return;
  }
  const ApiRoute* found = nullptr;
  bool path_known = false;
  std::vector<int64_t> ids;
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  for (const auto& r : routes_) {
    if (!match(r.pattern, request.path, ids)) continue;
    path_known = true;
    if (method == r.method) {
      found = &r;
      break;
    }
  }
  if (!found) {
    if (path_known) {
      auto resp = HttpResponse::error(405, "method_not_allowed", request.method + " is not allowed here");
      reply(std::move(resp));
    } else {
      reply(HttpResponse::error(404, "not_found", "no such API: " + request.path));
    }
    return;
  }
  if (found->flush_audience && audience_ && !audience_->flush_now()) {
    reply(HttpResponse::refused(503, "busy", "The server is very busy right now. Please try again in a few seconds.", 5));
    return;
  }
  // Anonymous reads (listings, public comments, the artist's view) wait in the store's public lane.
  const bool anonymous = found->access == Access::anyone || found->access == Access::view_link;
  const auto lane = anonymous && std::string_view(found->method) == "GET"
                        ? store::Store::Lane::public_reads
                        : store::Store::Lane::main;
  bool queued = store_.post([this, route = found, ids, request = std::move(request), reply](store::Db& db) mutable {
    Call call{request, db, ids, json(), std::nullopt, core::now_s(), reply};
    HttpResponse resp;
    try {
      resp = run(*route, call);
    } catch (const std::exception& e) {
      core::Logger("api").error(std::string(route->method) + " " + route->pattern + " failed: " + e.what());
      resp = HttpResponse::error(500, "internal", "the server could not complete the request");
    }
    if (resp.status != 0) reply(std::move(resp));  // 0: the handler replies later
  }, lane);
  if (!queued)
    reply(HttpResponse::refused(503, "busy", "The server is very busy right now. Please try again in a few seconds.", 5));
}

HttpResponse Api::run(const ApiRoute& route, Call& call) {
  if (route.access == Access::curator || route.access == Access::admin) {
    std::string token = call.request.bearer_token();
    if (token.empty()) return HttpResponse::error(401, "unauthorized", "log in first (Authorization: Bearer <token>)");
    call.who = auth::find_session(call.db, token, call.now);
    if (!call.who) return HttpResponse::error(401, "unauthorized", "the session has expired or is not valid; log in again");
    remember_verified(token, core::steady_ms());
    if (route.access == Access::admin && call.who->role != "admin")
      return HttpResponse::error(403, "forbidden", "only an admin may do this");
  }
  if (route.doc.request) {
    if (call.request.body.empty()) return HttpResponse::error(400, "bad_json", "a JSON body is required");
    try {
      call.body = json::parse(call.request.body);
    } catch (const json::parse_error& e) {
      return HttpResponse::error(400, "bad_json", std::string("the body is not valid JSON: ") + e.what());
    }
    if (!call.body.is_object()) return HttpResponse::error(400, "bad_json", "the body must be a JSON object");
  }
  return (this->*route.fn)(call);
}

// ---- the API's own description, and the ingest facts ----

HttpResponse Api::openapi(Call&) {
  auto r = HttpResponse::text(200, "application/json; charset=utf-8", openapi_json_);
  set_caching(r, Caching::short_lived, 300);
  allow_any_origin(r);
  return r;
}

HttpResponse Api::ingest(Call& c) {
  if (!ingest_) return HttpResponse::error(503, "unavailable", "the ingest facts are not available");
  return HttpResponse::json(200, ingest_->info(c.request));
}

// ---- auth ----

HttpResponse Api::login(Call& c) {
  const std::string addr = core::limit_key(c.request.peer);  // IPv6: the /64
  if (int64_t wait = limiter_.retry_after_s(addr, core::now_ms())) {
    if (login_refused_) login_refused_->fetch_add(1, std::memory_order_relaxed);
    if (login_log_.first_of_burst(core::steady_ms()))
      core::Logger("auth").warn("refusing logins from " + addr + " for " + std::to_string(wait) + " s: more than " +
                                std::to_string(config_.auth.login_max_failures) + " failed logins in " +
                                std::to_string(config_.auth.login_window_s) +
                                " s (auth.login_max_failures); the rest of this burst is counted in "
                                "sreda_http_refused_total{cause=\"login_limit\"}");
    auto r = HttpResponse::error(429, "too_many_attempts",
                                 "too many failed logins; try again in " + std::to_string(wait) + " s");
    r.headers.emplace_back("retry-after", std::to_string(wait));
    return r;
  }
  const json& b = c.body;
  if (!b.contains("username") || !b["username"].is_string())
    return HttpResponse::error(422, "invalid", "username is required", "username");
  if (!b.contains("password") || !b["password"].is_string())
    return HttpResponse::error(422, "invalid", "password is required", "password");
  std::string username = b["username"].get<std::string>();
  std::string password = b["password"].get<std::string>();
  for (auto& ch : username) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  // The Argon2id check (~20 ms) runs here on the store thread: logins are rare and rate-limited.
  auto found = auth::find_curator_for_login(c.db, username);
  static const std::string kDummy = *auth::hash_password("not a real password");
  bool ok = auth::verify_password(password, found ? found->second : kDummy) && found;
  if (!ok) {
    limiter_.record_failure(addr, core::now_ms());
    core::Logger("auth").info("failed login for '" + core::escape_for_log(username, 40) + "' from " + addr);
    return HttpResponse::error(401, "bad_credentials", "wrong username or password");
  }
  auto session = auth::create_session(c.db, found->first.id, c.now, int64_t{config_.auth.session_ttl_hours} * 3600);
  core::Logger("auth").info("login: " + found->first.username + " from " + addr);
  return HttpResponse::json(200, {{"token", session.token},
                                  {"expires_at", core::format_rfc3339(session.expires_at)},
                                  {"curator", auth::to_json(found->first)}});
}

HttpResponse Api::logout(Call& c) {
  auth::delete_session(c.db, c.request.bearer_token());
  {
    std::lock_guard lock(verified_mutex_);
    verified_tokens_.erase(c.request.bearer_token());
  }
  return HttpResponse::json(200, {{"ok", true}});
}

HttpResponse Api::me(Call& c) { return HttpResponse::json(200, auth::to_json(*c.who)); }

HttpResponse Api::list_curators(Call& c) {
  json out = json::array();
  for (const auto& cur : auth::list_curators(c.db)) out.push_back(auth::to_json(cur));
  return HttpResponse::json(200, {{"curators", out}});
}

HttpResponse Api::create_curator(Call& c) {
  std::vector<std::pair<std::string, std::string>> errors;
  const json& b = c.body;
  for (auto it = b.begin(); it != b.end(); ++it)
    if (it.key() != "username" && it.key() != "password" && it.key() != "role")
      errors.emplace_back(it.key(), "unknown field '" + it.key() + "'");
  std::string username, password, role = "curator";
  if (!b.contains("username") || !b["username"].is_string()) {
    errors.emplace_back("username", "username is required");
  } else {
    username = b["username"].get<std::string>();
    if (auto why = auth::check_username(username)) errors.emplace_back("username", *why);
  }
  if (!b.contains("password") || !b["password"].is_string()) {
    errors.emplace_back("password", "password is required");
  } else {
    password = b["password"].get<std::string>();
    if (auto why = auth::check_password(password)) errors.emplace_back("password", *why);
  }
  if (b.contains("role")) {
    if (!b["role"].is_string() || (b["role"] != "admin" && b["role"] != "curator"))
      errors.emplace_back("role", "role must be \"admin\" or \"curator\"");
    else
      role = b["role"].get<std::string>();
  }
  if (!errors.empty()) return field_errors(422, "invalid", errors);
  if (auth::find_curator_for_login(c.db, username))
    return HttpResponse::error(409, "exists", "a curator named '" + username + "' already exists", "username");
  auto hash = auth::hash_password(password);
  if (!hash) return HttpResponse::error(500, "internal", hash.error().message);
  auto cur = auth::insert_curator(c.db, username, *hash, role, c.now);
  core::Logger("auth").info(c.who->username + " created curator " + username + " (" + role + ")");
  return HttpResponse::json(201, auth::to_json(cur));
}

HttpResponse Api::delete_curator(Call& c) {
  auto cur = auth::find_curator(c.db, c.ids[0]);
  if (!cur) return HttpResponse::error(404, "not_found", "no curator with id " + std::to_string(c.ids[0]));
  if (cur->id == c.who->id) return HttpResponse::error(409, "conflict", "you cannot delete your own account");
  if (cur->role == "admin" && auth::count_admins(c.db) <= 1)
    return HttpResponse::error(409, "conflict", "the last admin cannot be deleted");
  auth::delete_curator(c.db, cur->id);
  core::Logger("auth").info(c.who->username + " deleted curator " + cur->username);
  return HttpResponse::json(200, {{"deleted", cur->id}});
}

}  // namespace sreda::web
