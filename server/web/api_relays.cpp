// The curator's relay routes: push targets per event and per studio (defaults for its events), the desk's
// "test connection", a studio's pulled source (pull_url, set through PATCH /api/studios/{id}) and what
// GET /api/events/{id}/live says of each relay. Handlers of the Api on the store thread (api.cpp).
//
// A target's URL holds a stream key: it is stored whole and leaves only masked (relay::masked) — in every
// answer, the log and the moderation log. A URL is checked at once (relay::parse_url: a clear 422); a
// literal address is checked against relays.allowed_hosts here; a host name is not looked up here (no DNS
// on the store thread): the runtime resolves and checks it before each connection, and a refused name is
// the relay's state ("reconnecting" with the reason), like any unreachable target.
#include <algorithm>

#include "server/audience/storage.h"
#include "server/core/log.h"
#include "server/core/text.h"
#include "server/schedule/catalog.h"
#include "server/store/db.h"
#include "server/web/api.h"

namespace sreda::web {
namespace {

using nlohmann::json;
using relay::RelayTarget;

constexpr size_t kMaxRelayName = 80;

HttpResponse no_relay(int64_t id) { return HttpResponse::error(404, "not_found", "no relay with id " + std::to_string(id)); }

// ---- the relays table (store thread) ----

RelayTarget read_relay(store::Stmt& st) {
  RelayTarget t;
  t.id = st.int64(0);
  t.event_id = st.is_null(1) ? 0 : st.int64(1);
  t.studio_id = st.is_null(2) ? 0 : st.int64(2);
  t.name = st.text(3);
  t.url = st.text(4);
  t.rendition = st.text(5);
  t.enabled = st.int64(6) != 0;
  return t;
}

constexpr const char* kColumns = "SELECT id, event_id, studio_id, name, url, rendition, enabled FROM relays ";

std::vector<RelayTarget> relays_of(store::Db& db, RelayOwner owner, int64_t id) {
  auto st = db.prepare(std::string(kColumns) +
                       (owner == RelayOwner::event ? "WHERE event_id = ?" : "WHERE studio_id = ?") + " ORDER BY id");
  st.bind(1, id);
  std::vector<RelayTarget> out;
  while (st.step()) out.push_back(read_relay(st));
  return out;
}

std::optional<RelayTarget> find_relay(store::Db& db, RelayOwner owner, int64_t owner_id, int64_t relay_id) {
  auto st = db.prepare(std::string(kColumns) + "WHERE id = ? AND " +
                       (owner == RelayOwner::event ? "event_id = ?" : "studio_id = ?"));
  st.bind(1, relay_id).bind(2, owner_id);
  if (!st.step()) return std::nullopt;
  return read_relay(st);
}

int64_t count(store::Db& db, const char* sql, int64_t id) {
  auto st = db.prepare(sql);
  st.bind(1, id);
  return st.step() && !st.is_null(0) ? st.int64(0) : 0;
}

// The most push targets one event of `studio_id` would have with one more studio default: its defaults and
// the most own relays of any of its events still to come or on air.
int64_t studio_targets(store::Db& db, int64_t studio_id) {
  return count(db, "SELECT COUNT(*) FROM relays WHERE studio_id = ?", studio_id) +
         count(db,
               "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM relays r JOIN events e ON e.id = r.event_id "
               "WHERE e.studio_id = ? AND e.state IN ('scheduled', 'live', 'intermission') GROUP BY r.event_id)",
               studio_id);
}

int64_t insert_relay(store::Db& db, RelayOwner owner, int64_t owner_id, const RelayTarget& t, int64_t now) {
  auto st = db.prepare(
      "INSERT INTO relays (event_id, studio_id, name, url, rendition, enabled, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, owner == RelayOwner::event ? std::optional<int64_t>(owner_id) : std::nullopt)
      .bind(2, owner == RelayOwner::studio ? std::optional<int64_t>(owner_id) : std::nullopt)
      .bind(3, t.name)
      .bind(4, t.url)
      .bind(5, t.rendition)
      .bind(6, t.enabled ? 1 : 0)
      .bind(7, now)
      .bind(8, now);
  st.run();
  return db.last_insert_id();
}

std::string stored_pull_url(store::Db& db, int64_t studio_id) {
  auto st = db.prepare("SELECT pull_url FROM studios WHERE id = ?");
  st.bind(1, studio_id);
  return st.step() && !st.is_null(0) ? st.text(0) : std::string();
}

json relay_json(const RelayTarget& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"url", relay::masked(t.url)},
          {"rendition", t.rendition},
          {"enabled", t.enabled},
          {"studio_default", t.studio_id != 0}};
}

std::string describe(const RelayTarget& t) {
  return "relay " + std::to_string(t.id) + " \"" + core::escape_for_log(t.name, 120) + "\" " + relay::masked(t.url);
}

}  // namespace

// ---- checks shared by the event's and the studio's routes ----

std::optional<HttpResponse> Api::check_relay_url(const std::string& url, relay::Use use, const char* field) const {
  if (url.find("\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2") != std::string::npos)  // "•••": a masked address
    return HttpResponse::error(422, "invalid_url",
                               "this address is masked (•••): paste the whole address with its stream key", field);
  auto parsed = relay::parse_url(url, use);
  if (!parsed) return HttpResponse::error(422, parsed.error().code.empty() ? "invalid_url" : parsed.error().code,
                                          parsed.error().message, field);
  // A literal address is checked now; a name when the runtime connects (resolving blocks: not here).
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(parsed->host, ec);
  if (parsed->host.empty() || ec) return std::nullopt;
  if (!destinations_)
    return HttpResponse::error(422, "destination_not_allowed",
                               "relays.allowed_hosts is not valid (" + destinations_.error().message +
                                   "): no address may be reached until an admin corrects it",
                               field);
  if (auto allowed = destinations_->check(parsed->host, {address}); !allowed) {
    std::string message = allowed.error().message;
    if (message.find("relays.allowed_hosts") == std::string::npos)
      message += " (an admin may allow it in relays.allowed_hosts)";
    return HttpResponse::error(422, "destination_not_allowed", message, field);
  }
  return std::nullopt;
}

std::vector<std::string> Api::relay_renditions(int64_t studio_id) const {
  std::vector<std::string> out = {"source"};
  if (!config_.ladder.enabled) return out;
  const auto ladders = live_outputs_ ? live_outputs_->ladders() : nullptr;
  const auto* ladder = ladders ? ladders->for_studio(studio_id) : nullptr;
  const auto spec = ladder ? *ladder : live::builtin_default_ladder();
  for (const auto& rung : spec.rungs) out.push_back(rung.name);
  return out;
}

// Applies the body's fields to `t` (all of them on create); one 422 naming every bad field.
std::optional<HttpResponse> Api::apply_relay_fields(const json& body, bool create, int64_t studio_id,
                                                    RelayTarget& t) const {
  std::vector<std::pair<std::string, std::string>> errors;
  for (auto it = body.begin(); it != body.end(); ++it)
    if (it.key() != "name" && it.key() != "url" && it.key() != "rendition" && it.key() != "enabled")
      errors.emplace_back(it.key(), "unknown field '" + it.key() + "'");
  if (body.contains("name") || create) {
    const json& v = body.value("name", json());
    const std::string name = v.is_string() ? core::trim(v.get<std::string>()) : "";
    if (!v.is_string() || name.empty())
      errors.emplace_back("name", "name is required: what the desk calls this relay (\"VK Video\", \"Partner city\")");
    else if (!core::valid_utf8(name) || core::has_control_chars(name, false))
      errors.emplace_back("name", "name must be plain text");
    else if (core::utf8_length(name) > kMaxRelayName)
      errors.emplace_back("name", "name must be at most " + std::to_string(kMaxRelayName) + " characters");
    else
      t.name = name;
  }
  std::optional<HttpResponse> url_error;
  if (body.contains("url") || create) {
    const json& v = body.value("url", json());
    if (!v.is_string() || v.get<std::string>().empty()) {
      errors.emplace_back("url", "url is required: rtmp://host/app/key, rtmps://… or srt://host:port?streamid=…");
    } else if (const std::string url = core::trim(v.get<std::string>()); create || url != relay::masked(t.url)) {
      // (the masked form the desk shows back means "unchanged")
      url_error = check_relay_url(url, relay::Use::push, "url");
      if (!url_error) t.url = url;
    }
  }
  if (body.contains("rendition")) {
    const json& v = body["rendition"];
    const auto names = relay_renditions(studio_id);
    if (!v.is_string() || std::find(names.begin(), names.end(), v.get<std::string>()) == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      errors.emplace_back("rendition", "rendition must be one of: " + list);
    } else {
      t.rendition = v.get<std::string>();
    }
  }
  if (body.contains("enabled")) {
    if (!body["enabled"].is_boolean()) errors.emplace_back("enabled", "enabled must be true or false");
    else t.enabled = body["enabled"].get<bool>();
  }
  // The URL's own error (its code says what: invalid_url, destination_not_allowed) when it is the only one.
  if (url_error && errors.empty()) return url_error;
  if (url_error) {
    const auto e = json::parse(url_error->body, nullptr, false);
    errors.emplace_back("url", e.is_object() ? e["error"].value("message", "url is not valid") : "url is not valid");
  }
  if (!errors.empty()) return field_errors(422, "invalid", errors);
  return std::nullopt;
}

// ---- the routes, for an event's own relays and a studio's defaults alike ----

// The owner's studio (the event's, or the studio itself), or 404.
std::optional<HttpResponse> Api::relay_owner(Call& c, RelayOwner owner, int64_t& studio_id) {
  if (owner == RelayOwner::event) {
    auto e = schedule::find_event(c.db, c.ids[0]);
    if (!e) return HttpResponse::error(404, "not_found", "no event with id " + std::to_string(c.ids[0]));
    studio_id = e->studio_id;
  } else {
    if (!schedule::find_studio(c.db, c.ids[0]))
      return HttpResponse::error(404, "not_found", "no studio with id " + std::to_string(c.ids[0]));
    studio_id = c.ids[0];
  }
  return std::nullopt;
}

void Api::relays_changed(RelayOwner owner, int64_t id) const {
  if (!relays_) return;
  if (owner == RelayOwner::event) relays_->event_relays_changed(id);
  else relays_->studio_relays_changed(id);
}

void Api::audit_relay(Call& c, RelayOwner owner, const char* action, const RelayTarget& t) {
  const std::string where = (owner == RelayOwner::event ? "event " : "studio ") + std::to_string(c.ids[0]);
  core::Logger("relays").info(c.who->username + " " + action + " " + describe(t) + " for " + where);
  audience::log_moderation(c.db, c.now, c.who->username, std::string("relay_") + action,
                           owner == RelayOwner::event ? std::optional<int64_t>(c.ids[0]) : std::nullopt,
                           (owner == RelayOwner::studio ? where + " " : std::string()) + describe(t) +
                               (t.enabled ? "" : " (disabled)"));
}

HttpResponse Api::list_relays(Call& c, RelayOwner owner) {
  int64_t studio_id = 0;
  if (auto r = relay_owner(c, owner, studio_id)) return *r;
  json out = json::array();
  for (const auto& t : relays_of(c.db, owner, c.ids[0])) out.push_back(relay_json(t));
  if (owner == RelayOwner::event)  // the studio's defaults go out with the event too (edited on the studio)
    for (const auto& t : relays_of(c.db, RelayOwner::studio, studio_id)) out.push_back(relay_json(t));
  return HttpResponse::json(200, {{"relays", out},
                                  {"max_per_event", config_.relays.max_per_event},
                                  {"renditions", relay_renditions(studio_id)}});
}

HttpResponse Api::create_relay(Call& c, RelayOwner owner) {
  store::Transaction tx(c.db);
  int64_t studio_id = 0;
  if (auto r = relay_owner(c, owner, studio_id)) return *r;
  RelayTarget t;
  if (auto r = apply_relay_fields(c.body, true, studio_id, t)) return *r;
  const int64_t targets =
      owner == RelayOwner::event
          ? count(c.db, "SELECT COUNT(*) FROM relays WHERE event_id = ?", c.ids[0]) +
                count(c.db, "SELECT COUNT(*) FROM relays WHERE studio_id = ?", studio_id)
          : studio_targets(c.db, studio_id);
  if (targets >= config_.relays.max_per_event)
    return HttpResponse::error(422, "too_many_relays",
                               "an event may have at most " + std::to_string(config_.relays.max_per_event) +
                                   " relays, its own and its studio's (relays.max_per_event); remove one first");
  t.id = insert_relay(c.db, owner, c.ids[0], t, c.now);
  if (owner == RelayOwner::event) t.event_id = c.ids[0];
  else t.studio_id = c.ids[0];
  audit_relay(c, owner, "added", t);
  tx.commit();
  relays_changed(owner, c.ids[0]);
  return HttpResponse::json(201, relay_json(t));
}

HttpResponse Api::patch_relay(Call& c, RelayOwner owner) {
  store::Transaction tx(c.db);
  int64_t studio_id = 0;
  if (auto r = relay_owner(c, owner, studio_id)) return *r;
  auto found = find_relay(c.db, owner, c.ids[0], c.ids[1]);
  if (!found) return no_relay(c.ids[1]);
  RelayTarget t = *found;
  if (auto r = apply_relay_fields(c.body, false, studio_id, t)) return *r;
  auto st = c.db.prepare("UPDATE relays SET name = ?, url = ?, rendition = ?, enabled = ?, updated_at = ? WHERE id = ?");
  st.bind(1, t.name).bind(2, t.url).bind(3, t.rendition).bind(4, t.enabled ? 1 : 0).bind(5, c.now).bind(6, t.id);
  st.run();
  const char* action = t.enabled != found->enabled ? (t.enabled ? "enabled" : "disabled") : "changed";
  audit_relay(c, owner, action, t);
  tx.commit();
  relays_changed(owner, c.ids[0]);
  return HttpResponse::json(200, relay_json(t));
}

HttpResponse Api::delete_relay(Call& c, RelayOwner owner) {
  store::Transaction tx(c.db);
  auto found = find_relay(c.db, owner, c.ids[0], c.ids[1]);
  if (!found) return no_relay(c.ids[1]);
  auto st = c.db.prepare("DELETE FROM relays WHERE id = ?");
  st.bind(1, found->id);
  st.run();
  audit_relay(c, owner, "removed", *found);
  tx.commit();
  relays_changed(owner, c.ids[0]);
  return HttpResponse::json(200, {{"deleted", found->id}});
}

HttpResponse Api::test_relay(Call& c, RelayOwner owner) {
  auto found = find_relay(c.db, owner, c.ids[0], c.ids[1]);
  if (!found) return no_relay(c.ids[1]);
  return run_relay_test(c, found->url, found->id);
}

HttpResponse Api::run_relay_test(Call& c, const std::string& url, int64_t relay_id) {
  if (!relays_)
    return HttpResponse::error(503, "unavailable",
                               "relays are not running on this server, so the connection cannot be tried now");
  std::vector<std::string> holders = {"curator:" + c.who->username};
  if (relay_id > 0) holders.push_back("relay:" + std::to_string(relay_id));
  const std::string refused = relays_->test(
      url,
      [reply = c.reply](bool ok, std::string what) {
        reply(HttpResponse::json(200, {{"ok", ok}, {"what", std::move(what)}}));
      },
      holders);
  if (!refused.empty()) return HttpResponse::refused(429, "test_running", refused, 5);
  core::Logger("relays").info(c.who->username + " tests the connection to " + relay::masked(url));
  return deferred();
}

HttpResponse Api::list_event_relays(Call& c) { return list_relays(c, RelayOwner::event); }
HttpResponse Api::create_event_relay(Call& c) { return create_relay(c, RelayOwner::event); }
HttpResponse Api::patch_event_relay(Call& c) { return patch_relay(c, RelayOwner::event); }
HttpResponse Api::delete_event_relay(Call& c) { return delete_relay(c, RelayOwner::event); }
HttpResponse Api::test_event_relay(Call& c) { return test_relay(c, RelayOwner::event); }
HttpResponse Api::list_studio_relays(Call& c) { return list_relays(c, RelayOwner::studio); }
HttpResponse Api::create_studio_relay(Call& c) { return create_relay(c, RelayOwner::studio); }
HttpResponse Api::patch_studio_relay(Call& c) { return patch_relay(c, RelayOwner::studio); }
HttpResponse Api::delete_studio_relay(Call& c) { return delete_relay(c, RelayOwner::studio); }
HttpResponse Api::test_studio_relay(Call& c) { return test_relay(c, RelayOwner::studio); }

HttpResponse Api::test_relay_url(Call& c) {
  for (auto it = c.body.begin(); it != c.body.end(); ++it)
    if (it.key() != "url") return HttpResponse::error(422, "invalid", "unknown field '" + it.key() + "'", it.key());
  const json& v = c.body.value("url", json());
  if (!v.is_string() || v.get<std::string>().empty())
    return HttpResponse::error(422, "invalid", "url is required: the address to try", "url");
  const std::string url = core::trim(v.get<std::string>());
  if (auto r = check_relay_url(url, relay::Use::push, "url")) return *r;
  return run_relay_test(c, url, 0);
}

// ---- a studio's pulled source ----

std::optional<HttpResponse> Api::check_pull_url(const json& value, int64_t studio_id, store::Db& db,
                                                std::optional<std::string>& change) const {
  if (value.is_null() || (value.is_string() && core::trim(value.get<std::string>()).empty())) {
    if (!stored_pull_url(db, studio_id).empty()) change = std::string();  // stop pulling
    return std::nullopt;
  }
  if (!value.is_string())
    return HttpResponse::error(422, "invalid", "pull_url must be a URL (srt://, rtmp://, an HLS playlist) or null",
                               "pull_url");
  const std::string url = core::trim(value.get<std::string>());
  const std::string stored = stored_pull_url(db, studio_id);
  if (!stored.empty() && url == relay::masked(stored)) return std::nullopt;  // the masked form: unchanged
  if (auto r = check_relay_url(url, relay::Use::pull, "pull_url")) return r;
  change = url;
  return std::nullopt;
}

void Api::set_pull_url(Call& c, int64_t studio_id, const std::string& url) {
  auto st = c.db.prepare("UPDATE studios SET pull_url = ?, updated_at = ? WHERE id = ?");
  if (url.empty()) st.bind_null(1);
  else st.bind(1, url);
  st.bind(2, c.now).bind(3, studio_id);
  st.run();
  core::Logger("relays").info(c.who->username + (url.empty() ? " stopped pulling studio " + std::to_string(studio_id)
                                                              : " set studio " + std::to_string(studio_id) +
                                                                    " to pull " + relay::masked(url)));
}

void add_pull_fields(store::Db& db, const relay::RelayControl* relays, json& studio) {
  const int64_t id = studio["id"].get<int64_t>();
  const std::string url = stored_pull_url(db, id);
  studio["pull_url"] = url.empty() ? json(nullptr) : json(relay::masked(url));
  if (url.empty() || !relays) return;
  if (auto p = relays->pull_status(id))
    studio["pull"] = {{"url", p->url_masked},
                      {"state", p->state},
                      {"last_error", p->last_error},
                      {"bytes_received", p->bytes_received},
                      {"reconnects", p->reconnects},
                      {"variant", p->variant.empty() ? json(nullptr) : json(p->variant)}};
}

// ---- GET /api/events/{id}/live ----

json Api::relays_live_json(store::Db& db, const schedule::Event& e) const {
  std::vector<relay::RelayStatus> status;
  if (relays_) status = relays_->event_status(e.id);
  auto targets = relays_of(db, RelayOwner::event, e.id);
  for (auto& t : relays_of(db, RelayOwner::studio, e.studio_id)) targets.push_back(std::move(t));
  const bool over = e.state == schedule::EventState::ended || e.state == schedule::EventState::archived ||
                    e.state == schedule::EventState::cancelled;
  json out = json::array();
  for (const auto& t : targets) {
    json r = {{"id", t.id},       {"name", t.name},        {"url", relay::masked(t.url)},
              {"rendition", t.rendition}, {"enabled", t.enabled}, {"studio_default", t.studio_id != 0},
              {"state", !t.enabled || over ? "stopped" : "waiting"},
              {"last_error", nullptr}, {"bytes_sent", 0},   {"uptime_s", 0},
              {"reconnects", 0},   {"dropped_units", 0}};
    auto s = std::find_if(status.begin(), status.end(), [&](const relay::RelayStatus& x) { return x.id == t.id; });
    if (s != status.end()) {
      r["state"] = s->state;
      r["last_error"] = s->last_error.empty() ? json(nullptr) : json(s->last_error);
      r["bytes_sent"] = s->bytes_sent;
      r["uptime_s"] = s->uptime_s;
      r["reconnects"] = s->reconnects;
      r["dropped_units"] = s->dropped_units;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sreda::web
