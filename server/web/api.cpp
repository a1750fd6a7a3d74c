#include "server/web/api.h"

#include "server/auth/password.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/core/text.h"

namespace sreda::web {
namespace {

using nlohmann::json;

// Splits "/api/studios/3" against "/api/studios/{id}". Returns false when it does not match.
bool match(const std::string& pattern, const std::string& path, std::vector<int64_t>& ids) {
  size_t pi = 0, si = 0;
  ids.clear();
  while (pi < pattern.size() && si < path.size()) {
    if (pattern.compare(pi, 4, "{id}") == 0) {
      size_t start = si;
      int64_t v = 0;
      while (si < path.size() && path[si] >= '0' && path[si] <= '9' && si - start < 15) v = v * 10 + (path[si++] - '0');
      if (si == start || (si < path.size() && path[si] != '/')) return false;
      ids.push_back(v);
      pi += 4;
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
      addresses_(std::move(addresses)),
      rate_(config.server.api_requests_per_s, config.server.api_burst),
      rate_refused_(services.rate_refused),
      login_refused_(services.login_refused),
      server_refusals_(services.server_refusals) {
  using A = Access;
  routes_ = {
      {"POST", "/api/login", A::anyone, true, &Api::login},
      {"POST", "/api/logout", A::curator, false, &Api::logout},
      {"GET", "/api/me", A::curator, false, &Api::me},
      {"GET", "/api/curators", A::admin, false, &Api::list_curators},
      {"POST", "/api/curators", A::admin, true, &Api::create_curator},
      {"DELETE", "/api/curators/{id}", A::admin, false, &Api::delete_curator},
      {"GET", "/api/studios", A::curator, false, &Api::list_studios},
      {"POST", "/api/studios", A::admin, true, &Api::create_studio},
      {"GET", "/api/studios/{id}", A::curator, false, &Api::get_studio},
      {"PATCH", "/api/studios/{id}", A::admin, true, &Api::patch_studio},
      {"DELETE", "/api/studios/{id}", A::admin, false, &Api::delete_studio},
      {"POST", "/api/studios/{id}/rotate-key", A::admin, false, &Api::rotate_key},
      {"POST", "/api/studios/{id}/rotate-view-token", A::admin, false, &Api::rotate_view_token},
      {"GET", "/api/studio-view/{id}", A::anyone, false, &Api::studio_view},
      {"POST", "/api/studio-view/{id}/comments/{id}/answered", A::anyone, false, &Api::studio_answer, true},
      {"GET", "/api/events", A::curator, false, &Api::list_events},
      {"POST", "/api/events", A::curator, true, &Api::create_event},
      {"GET", "/api/events/{id}", A::curator, false, &Api::get_event},
      {"PATCH", "/api/events/{id}", A::curator, true, &Api::patch_event},
      {"DELETE", "/api/events/{id}", A::curator, false, &Api::delete_event},
      {"POST", "/api/events/{id}/cancel", A::curator, false, &Api::cancel_event},
      {"POST", "/api/events/{id}/end", A::curator, false, &Api::end_event},
      {"GET", "/api/events/{id}/live", A::curator, false, &Api::live_event},
      {"GET", "/api/events/{id}/recording", A::curator, false, &Api::get_recording},
      {"DELETE", "/api/events/{id}/recording", A::curator, false, &Api::delete_recording},
      {"GET", "/api/events/{id}/recording.mp4", A::curator, false, &Api::export_recording},
      {"POST", "/api/events/{id}/recording/trim", A::curator, true, &Api::trim_recording},
      {"GET", "/api/public/events", A::anyone, false, &Api::public_events},
      {"GET", "/api/public/events/{id}", A::anyone, false, &Api::public_event},
      {"GET", "/api/public/events/{id}/comments", A::anyone, false, &Api::public_comments},
      {"GET", "/api/events/{id}/comments", A::curator, false, &Api::curator_comments},
      {"POST", "/api/events/{id}/comments/{id}/hide", A::curator, false, &Api::hide_comment, true},
      {"POST", "/api/events/{id}/comments/{id}/unhide", A::curator, false, &Api::unhide_comment, true},
      {"POST", "/api/events/{id}/comments/{id}/answered", A::curator, false, &Api::answer_comment, true},
      {"GET", "/api/events/{id}/slow-mode", A::curator, false, &Api::get_slow_mode},
      {"POST", "/api/events/{id}/slow-mode", A::curator, true, &Api::set_slow_mode},
      {"GET", "/api/audience/bans", A::curator, false, &Api::list_bans},
      {"POST", "/api/audience/bans", A::curator, true, &Api::create_ban, true},  // finds the viewer's address
      {"DELETE", "/api/audience/bans/{id}", A::curator, false, &Api::delete_ban},
      {"GET", "/api/audience/words", A::curator, false, &Api::list_words},
      {"POST", "/api/audience/words", A::curator, true, &Api::set_words},
      {"GET", "/api/audience/log", A::curator, false, &Api::moderation_log},
  };
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
  const auto lane = found->access == Access::anyone && std::string_view(found->method) == "GET"
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
  if (route.access != Access::anyone) {
    std::string token = call.request.bearer_token();
    if (token.empty()) return HttpResponse::error(401, "unauthorized", "log in first (Authorization: Bearer <token>)");
    call.who = auth::find_session(call.db, token, call.now);
    if (!call.who) return HttpResponse::error(401, "unauthorized", "the session has expired or is not valid; log in again");
    remember_verified(token, core::steady_ms());
    if (route.access == Access::admin && call.who->role != "admin")
      return HttpResponse::error(403, "forbidden", "only an admin may do this");
  }
  if (route.json_body) {
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
