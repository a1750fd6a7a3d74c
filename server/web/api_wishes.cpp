// Residents' wishes for what to show next: the public list, suggesting and voting (anyone; the viewer identity
// travels as the sreda_viewer cookie, the one the audience socket uses), and the curators' side (ranked list,
// hide/unhide, a public reply, the event that answers a wish). Moderated as comments are: the word lists hold a
// wish, bans refuse its writer. Store thread (Api's handlers).
#include <algorithm>

#include "server/audience/ban_list.h"
#include "server/audience/storage.h"
#include "server/audience/wire.h"
#include "server/audience/wishes.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/core/text.h"
#include "server/schedule/catalog.h"
#include "server/web/api.h"
#include "server/web/http_rules.h"

namespace sreda::web {
namespace {

using nlohmann::json;

core::Logger& log() {
  static core::Logger logger("wishes");
  return logger;
}

HttpResponse no_wish(int64_t id) { return HttpResponse::error(404, "not_found", "no wish with id " + std::to_string(id)); }

// sort=top|new and page=1… of the query; an error answer when either is malformed.
std::optional<HttpResponse> list_query(const HttpRequest& r, audience::WishSort& sort, int& page) {
  const std::string s = r.query_value("sort");
  if (s.empty() || s == "top") sort = audience::WishSort::top;
  else if (s == "new") sort = audience::WishSort::fresh;
  else return HttpResponse::error(400, "bad_query", "sort must be top or new", "sort");
  std::optional<int64_t> p;
  if (auto e = query_number(r, "page", 1, 100000, p)) return e;
  page = static_cast<int>(p.value_or(1));
  return std::nullopt;
}

bool is_category(const std::string& c) {
  const auto& all = schedule::categories();
  return std::find(all.begin(), all.end(), c) != all.end();
}

// Whether a global ban (an event's own bans do not reach wishes) holds this viewer or address group.
bool banned(store::Db& db, const std::string& viewer, const std::string& group) {
  audience::BanList bans;
  for (const auto& b : audience::global_bans(db)) bans.add(b);
  return bans.matches(viewer, group);
}

bool has_listed_word(store::Db& db, const std::string& text) {
  for (const auto& [language, words] : audience::word_lists(db))
    if (audience::contains_listed_word(text, words)) return true;
  return false;
}

}  // namespace

Api::Viewer Api::viewer_of(const HttpRequest& request) const {
  if (auto id = viewer_tokens_.verify(audience::viewer_cookie(request.cookie))) return {*id, ""};
  auto issued = viewer_tokens_.issue();
  return {issued.id, issued.token};
}

HttpResponse Api::with_viewer(HttpResponse r, const Viewer& v) const {
  if (!v.new_token.empty()) r.headers.emplace_back("set-cookie", audience::viewer_set_cookie(v.new_token, secure_cookie_));
  return r;
}

void Api::wish_refused(const char* reason, const std::string& line) {
  if (metrics_) metrics_->counter("sreda_wishes_refused_total", {{"reason", reason}}).fetch_add(1, std::memory_order_relaxed);
  if (wish_log_.first_of_burst(core::steady_ms())) log().warn(line + "; the rest of this burst is counted in "
                                                              "sreda_wishes_refused_total{reason=\"" + reason + "\"}");
}

HttpResponse Api::public_wishes(Call& c) {
  audience::WishSort sort;
  int page;
  if (auto e = list_query(c.request, sort, page)) return *e;
  const auto found = audience::list_wishes(c.db, sort, page, audience::kWishPageSize, false);
  std::vector<int64_t> ids;
  for (const auto& w : found.items) ids.push_back(w.id);
  std::vector<int64_t> mine;
  if (auto id = viewer_tokens_.verify(audience::viewer_cookie(c.request.cookie))) mine = audience::voted_by(c.db, *id, ids);
  json items = json::array();
  for (const auto& w : found.items) {
    items.push_back(audience::public_json(w));
    items.back()["voted"] = std::find(mine.begin(), mine.end(), w.id) != mine.end();
  }
  return HttpResponse::json(200, {{"items", items},
                                  {"sort", sort == audience::WishSort::top ? "top" : "new"},
                                  {"page", page},
                                  {"page_size", audience::kWishPageSize},
                                  {"total", found.total}});
}

HttpResponse Api::suggest_wish(Call& c) {
  std::vector<std::pair<std::string, std::string>> errors;
  for (auto it = c.body.begin(); it != c.body.end(); ++it)
    if (it.key() != "text" && it.key() != "category") errors.emplace_back(it.key(), "unknown field '" + it.key() + "'");
  audience::Wish w;
  if (!c.body.contains("text") || !c.body["text"].is_string()) {
    errors.emplace_back("text", "text is required");
  } else {
    auto cleaned = audience::clean_text(c.body["text"].get<std::string>(), audience::kWishMaxChars, false);
    if (cleaned.error) errors.emplace_back("text", cleaned.error->code == "too_long"
                                                       ? "at most " + std::to_string(audience::kWishMaxChars) + " characters"
                                                       : cleaned.error->message);
    else if (core::utf8_length(cleaned.text) < audience::kWishMinChars)
      errors.emplace_back("text", "at least " + std::to_string(audience::kWishMinChars) + " characters");
    w.text = std::move(cleaned.text);
  }
  if (!c.body.contains("category") || !c.body["category"].is_string() ||
      !is_category(c.body["category"].get<std::string>()))
    errors.emplace_back("category", "category must be one of the programme's categories");
  else
    w.category = c.body["category"].get<std::string>();
  if (!errors.empty()) return field_errors(422, "invalid", errors);

  const Viewer v = viewer_of(c.request);
  w.viewer_id = v.id;
  w.address = core::limit_key(c.request.peer);
  if (banned(c.db, w.viewer_id, w.address))
    return with_viewer(HttpResponse::error(403, "banned", "you may not suggest wishes here"), v);
  const bool shared = addresses_ && addresses_->shared.contains(c.request.peer);
  const int64_t per_day = int64_t{audience::kWishesPerAddressPerDay} * (shared ? addresses_->shared_multiplier : 1);
  if (audience::wishes_from(c.db, w.address, c.now - 24 * 3600) >= per_day) {
    wish_refused("address_cap", "refusing wishes from " + w.address + ": " + std::to_string(per_day) +
                                    " in 24 h");
    return with_viewer(HttpResponse::refused(429, "wish_limit", "Your address has suggested " + std::to_string(per_day) +
                                                                   " wishes today. Please vote for others' or come back tomorrow.",
                                             3600),
                       v);
  }
  if (audience::wishes_waiting(c.db) >= audience::kMaxWaitingWishes) {
    wish_refused("total_cap", "refusing wishes: " + std::to_string(audience::kMaxWaitingWishes) +
                                  " are waiting");
    return with_viewer(HttpResponse::refused(503, "wishes_full", "The wish list is full. Please vote for a wish already there.", 3600), v);
  }
  w.status = has_listed_word(c.db, w.text) ? "held" : "visible";
  w.created_at = c.now;
  w = audience::insert_wish(c.db, std::move(w));
  json out = audience::public_json(w);
  out["status"] = w.status;
  return with_viewer(HttpResponse::json(201, out), v);
}

HttpResponse Api::vote_for_wish(Call& c) {
  auto w = audience::find_wish(c.db, c.ids[0]);
  if (!w || w->status != "visible") return no_wish(c.ids[0]);
  const Viewer v = viewer_of(c.request);
  const std::string group = core::limit_key(c.request.peer);
  if (banned(c.db, v.id, group)) return with_viewer(HttpResponse::error(403, "banned", "you may not vote here"), v);
  const bool shared = addresses_ && addresses_->shared.contains(c.request.peer);
  const int cap = config_.ws.max_ratings_per_address * (shared ? addresses_->shared_multiplier : 1);
  const auto out = audience::vote_wish(c.db, w->id, v.id, group, cap, c.now);
  if (out.fresh && !out.counted) {
    if (metrics_) metrics_->counter("sreda_wishes_refused_total", {{"reason", "vote_cap"}}).fetch_add(1, std::memory_order_relaxed);
    if (out.capped_now)
      log().info("wish " + std::to_string(w->id) + ": votes from " + group + " beyond " + std::to_string(cap) +
                 " are kept out of its count (ws.max_ratings_per_address" +
                 (shared ? " × server.shared_address_multiplier)" : ")"));
  }
  return with_viewer(HttpResponse::json(200, {{"id", w->id}, {"votes", out.votes}, {"voted", true}, {"counted", out.counted}}), v);
}

HttpResponse Api::curator_wishes(Call& c) {
  audience::WishSort sort;
  int page;
  if (auto e = list_query(c.request, sort, page)) return *e;
  const auto found = audience::list_wishes(c.db, sort, page, 100, true);
  json items = json::array();
  for (const auto& w : found.items) items.push_back(audience::curator_json(w));
  return HttpResponse::json(200, {{"items", items},
                                  {"sort", sort == audience::WishSort::top ? "top" : "new"},
                                  {"page", page},
                                  {"page_size", 100},
                                  {"total", found.total}});
}

HttpResponse Api::set_wish_status(Call& c, const std::string& status) {
  auto w = audience::find_wish(c.db, c.ids[0]);
  if (!w) return no_wish(c.ids[0]);
  if (w->status != status) {
    const std::string action = status == "hidden" ? "hide" : "unhide";
    store::Transaction tx(c.db);
    audience::set_wish_status(c.db, w->id, status, c.now);
    audience::log_moderation(c.db, c.now, c.who->username, action, std::nullopt, "wish " + std::to_string(w->id));
    tx.commit();
    log().info(c.who->username + " " + action + "s wish " + std::to_string(w->id));
    w->status = status;
  }
  return HttpResponse::json(200, audience::curator_json(*w));
}

HttpResponse Api::hide_wish(Call& c) { return set_wish_status(c, "hidden"); }
HttpResponse Api::unhide_wish(Call& c) { return set_wish_status(c, "visible"); }

HttpResponse Api::patch_wish(Call& c) {
  auto w = audience::find_wish(c.db, c.ids[0]);
  if (!w) return no_wish(c.ids[0]);
  std::vector<std::pair<std::string, std::string>> errors;
  std::optional<std::string> reply;
  std::optional<std::optional<int64_t>> event;
  for (auto it = c.body.begin(); it != c.body.end(); ++it) {
    if (it.key() == "reply") {
      if (it->is_null()) {
        reply = "";
      } else if (!it->is_string()) {
        errors.emplace_back("reply", "reply must be text or null");
      } else if (auto cleaned = audience::clean_text(it->get<std::string>(), audience::kWishReplyMaxChars, true); cleaned.error) {
        if (cleaned.error->code == "empty") reply = "";
        else errors.emplace_back("reply", cleaned.error->code == "too_long"
                                              ? "at most " + std::to_string(audience::kWishReplyMaxChars) + " characters"
                                              : cleaned.error->message);
      } else {
        reply = cleaned.text;
      }
    } else if (it.key() == "event_id") {
      if (it->is_null()) event = std::optional<int64_t>();
      else if (!it->is_number_integer() || !schedule::find_event(c.db, it->get<int64_t>()))
        errors.emplace_back("event_id", "no such event");
      else event = std::optional<int64_t>(it->get<int64_t>());
    } else {
      errors.emplace_back(it.key(), "unknown field '" + it.key() + "'");
    }
  }
  if (!errors.empty()) return field_errors(422, "invalid", errors);
  const std::string target = "wish " + std::to_string(w->id);
  store::Transaction tx(c.db);
  if (reply && *reply != w->reply) {
    audience::set_wish_reply(c.db, w->id, *reply, c.now);
    audience::log_moderation(c.db, c.now, c.who->username, "wish_reply", std::nullopt, target);
    w->reply = *reply;
  }
  if (event && *event != w->event_id) {
    audience::set_wish_event(c.db, w->id, *event, c.now);
    audience::log_moderation(c.db, c.now, c.who->username, "wish_event", *event, target);
    w->event_id = *event;
  }
  tx.commit();
  return HttpResponse::json(200, audience::curator_json(*w));
}

void add_wish_field(store::Db& db, json& event) {
  if (auto w = audience::wish_for_event(db, event["id"].get<int64_t>()))
    event["wish"] = {{"id", w->id}, {"text", w->text}, {"votes", w->votes}};
}

}  // namespace sreda::web
