// The audience channel's REST side: the comment replay for the archive player, and curator moderation
// (hide/unhide, bans, slow mode, word lists) with every action logged with who did it. Store thread; the
// audience hub hears about each change through post() (web thread).
#include <limits>

#include "server/audience/storage.h"
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
  static core::Logger logger("moderation");
  return logger;
}

HttpResponse no_event(int64_t id) { return HttpResponse::error(404, "not_found", "no event with id " + std::to_string(id)); }

// 422 naming the bad field, in error.fields too (as every validation error of the API).
HttpResponse invalid(const std::string& message, const std::string& field) {
  return field_errors(422, "invalid", {{field, message}});
}

}  // namespace

HttpResponse Api::public_comments(Call& c) {
  if (!schedule::find_event(c.db, c.ids[0])) return no_event(c.ids[0]);
  std::optional<int64_t> from, to, limit;
  constexpr int64_t kMaxMs = int64_t{1} << 50;
  if (auto e = query_number(c.request, "from_ms", 0, kMaxMs, from)) return *e;
  if (auto e = query_number(c.request, "to_ms", 0, kMaxMs, to)) return *e;
  if (auto e = query_number(c.request, "limit", 1, 1000, limit)) return *e;
  const int page = static_cast<int>(limit.value_or(200));
  auto comments = audience::list_comments(c.db, c.ids[0], from, to, page + 1, false);
  json out = json::array();
  for (size_t i = 0; i < comments.size() && static_cast<int>(i) < page; ++i) out.push_back(audience::public_json(comments[i]));
  json body = {{"event_id", c.ids[0]}, {"comments", out}, {"more", static_cast<int>(comments.size()) > page}};
  // The next page starts at the last comment's media time (the client skips ids it already has).
  if (static_cast<int>(comments.size()) > page && comments[page - 1].media_ms)
    body["next_from_ms"] = *comments[page - 1].media_ms;
  auto r = HttpResponse::json(200, body);
  set_caching(r, Caching::short_lived, 2);
  allow_any_origin(r);
  return r;
}

HttpResponse Api::curator_comments(Call& c) {
  if (!schedule::find_event(c.db, c.ids[0])) return no_event(c.ids[0]);
  std::optional<int64_t> limit;
  if (auto e = query_number(c.request, "limit", 1, 5000, limit)) return *e;
  json out = json::array();
  for (const auto& cm : audience::list_comments(c.db, c.ids[0], std::nullopt, std::nullopt,
                                                static_cast<int>(limit.value_or(1000)), true))
    out.push_back(audience::curator_json(cm));
  return HttpResponse::json(200, {{"event_id", c.ids[0]}, {"comments", out}});
}

HttpResponse Api::set_comment_status(Call& c, const std::string& status) {
  auto cm = audience::find_comment(c.db, c.ids[0], c.ids[1]);
  if (!cm) return HttpResponse::error(404, "not_found", "no comment " + std::to_string(c.ids[1]) + " in event " +
                                                            std::to_string(c.ids[0]));
  const std::string action = status == "hidden" ? "hide" : "unhide";
  if (cm->status != status) {
    store::Transaction tx(c.db);
    audience::set_comment_status(c.db, cm->id, status);
    audience::log_moderation(c.db, c.now, c.who->username, action, cm->event_id, "comment " + std::to_string(cm->id));
    tx.commit();
    log().info(c.who->username + " " + action + "s comment " + std::to_string(cm->id) + " of event " +
               std::to_string(cm->event_id));
    cm->status = status;
    if (audience_) {
      if (status == "hidden")
        audience_->post([e = cm->event_id, id = cm->id](audience::AudienceHub& h) { h.comment_hidden(e, id); });
      else
        audience_->post([cm = *cm](audience::AudienceHub& h) { h.comment_shown(cm); });
    }
  }
  return HttpResponse::json(200, audience::curator_json(*cm));
}

HttpResponse Api::hide_comment(Call& c) { return set_comment_status(c, "hidden"); }
HttpResponse Api::unhide_comment(Call& c) { return set_comment_status(c, "visible"); }

HttpResponse Api::answer_comment(Call& c) {
  auto cm = audience::find_comment(c.db, c.ids[0], c.ids[1]);
  if (!cm) return HttpResponse::error(404, "not_found", "no comment " + std::to_string(c.ids[1]) + " in event " +
                                                            std::to_string(c.ids[0]));
  return mark_answered(c, std::move(*cm), c.who->username, &audience::curator_json);
}

HttpResponse Api::mark_answered(Call& c, audience::Comment cm, const std::string& by,
                                json (*view)(const audience::Comment&)) {
  if (!cm.question)
    return HttpResponse::error(409, "not_a_question", "comment " + std::to_string(cm.id) + " is not a question");
  if (cm.answered_at_ms) return HttpResponse::json(200, view(cm));  // answered already: nothing changes
  const int64_t at_ms = core::now_ms();
  store::Transaction tx(c.db);
  audience::mark_answered(c.db, cm.id, at_ms, by);
  audience::log_moderation(c.db, c.now, by, "answered", cm.event_id, "comment " + std::to_string(cm.id));
  tx.commit();
  log().info(by + " marked question " + std::to_string(cm.id) + " of event " + std::to_string(cm.event_id) + " answered");
  cm.answered_at_ms = at_ms;
  cm.answered_by = by;
  if (audience_)
    audience_->post([e = cm.event_id, id = cm.id, at_ms](audience::AudienceHub& h) { h.comment_answered(e, id, at_ms); });
  return HttpResponse::json(200, view(cm));
}

HttpResponse Api::set_slow_mode(Call& c) {
  if (!schedule::find_event(c.db, c.ids[0])) return no_event(c.ids[0]);
  const json& s = c.body.contains("seconds") ? c.body["seconds"] : json();
  if (!s.is_number_integer() || s.get<int64_t>() < 0 || s.get<int64_t>() > 3600)
    return invalid("seconds must be a whole number from 0 (off) to 3600", "seconds");
  const int seconds = static_cast<int>(s.get<int64_t>());
  store::Transaction tx(c.db);
  audience::set_slow_mode(c.db, c.ids[0], seconds);
  audience::log_moderation(c.db, c.now, c.who->username, "slow_mode", c.ids[0], std::to_string(seconds) + " s");
  tx.commit();
  log().info(c.who->username + " set slow mode of event " + std::to_string(c.ids[0]) + " to " + std::to_string(seconds) + " s");
  if (audience_) audience_->post([e = c.ids[0], seconds](audience::AudienceHub& h) { h.slow_mode_set(e, seconds); });
  return HttpResponse::json(200, {{"event_id", c.ids[0]}, {"slow_mode_s", seconds}});
}

HttpResponse Api::get_slow_mode(Call& c) {
  if (!schedule::find_event(c.db, c.ids[0])) return no_event(c.ids[0]);
  return HttpResponse::json(200, {{"event_id", c.ids[0]}, {"slow_mode_s", audience::slow_mode(c.db, c.ids[0])}});
}

HttpResponse Api::list_bans(Call& c) {
  json out = json::array();
  for (const auto& b : audience::list_bans(c.db)) out.push_back(audience::to_json(b));
  return HttpResponse::json(200, {{"bans", out}});
}

HttpResponse Api::create_ban(Call& c) {
  const json& b = c.body;
  for (auto it = b.begin(); it != b.end(); ++it)
    if (it.key() != "event_id" && it.key() != "viewer_id" && it.key() != "address")
      return invalid("unknown field '" + it.key() + "'", it.key());
  audience::Ban ban;
  if (b.contains("event_id") && !b["event_id"].is_null()) {
    if (!b["event_id"].is_number_integer()) return invalid("event_id must be a number", "event_id");
    ban.event_id = b["event_id"].get<int64_t>();
    if (!schedule::find_event(c.db, *ban.event_id)) return no_event(*ban.event_id);
  }
  const bool viewer = b.contains("viewer_id"), address = b.contains("address");
  if (viewer == address)
    return invalid("give exactly one of viewer_id or address", viewer ? "address" : "viewer_id");
  const char* field = viewer ? "viewer_id" : "address";
  if (!b[field].is_string() || b[field].get<std::string>().empty() || b[field].get<std::string>().size() > 64)
    return invalid(std::string(field) + " must be a non-empty string", field);
  ban.kind = viewer ? "viewer" : "address";
  ban.value = b[field].get<std::string>();
  // A viewer id is cheap to replace: the ban holds the address the viewer was last seen at too.
  if (viewer) ban.address = core::limit_key(audience::last_address_of(c.db, ban.value));
  ban.created_by = c.who->username;
  ban.created_at = c.now;
  store::Transaction tx(c.db);
  auto added = audience::insert_ban(c.db, ban);
  if (!added) return HttpResponse::error(409, "exists", "this ban exists already");
  const std::string scope = ban.event_id ? "event " + std::to_string(*ban.event_id) : "every event";
  audience::log_moderation(c.db, c.now, c.who->username, "ban", ban.event_id, ban.kind + " " + ban.value);
  tx.commit();
  log().info(c.who->username + " banned " + ban.kind + " " + ban.value +
             (ban.address.empty() ? "" : " (and address " + ban.address + ")") + " from " + scope);
  if (audience_) audience_->post([b = *added](audience::AudienceHub& h) { h.ban_added(b); });
  return HttpResponse::json(201, audience::to_json(*added));
}

HttpResponse Api::delete_ban(Call& c) {
  store::Transaction tx(c.db);
  auto ban = audience::delete_ban(c.db, c.ids[0]);
  if (!ban) return HttpResponse::error(404, "not_found", "no ban with id " + std::to_string(c.ids[0]));
  audience::log_moderation(c.db, c.now, c.who->username, "unban", ban->event_id, ban->kind + " " + ban->value);
  tx.commit();
  log().info(c.who->username + " lifted the ban of " + ban->kind + " " + ban->value);
  if (audience_) audience_->post([b = *ban](audience::AudienceHub& h) { h.ban_removed(b); });
  return HttpResponse::json(200, {{"deleted", ban->id}});
}

HttpResponse Api::list_words(Call& c) {
  json out = json::object();
  for (const auto& [language, words] : audience::word_lists(c.db)) out[language] = words;
  return HttpResponse::json(200, {{"words", out}});
}

HttpResponse Api::set_words(Call& c) {
  const json& b = c.body;
  if (!b.contains("language") || !b["language"].is_string() || b["language"].get<std::string>().empty() ||
      b["language"].get<std::string>().size() > 16)
    return invalid("language is required (e.g. \"ru\")", "language");
  if (!b.contains("words") || !b["words"].is_array() || b["words"].size() > 5000)
    return invalid("words must be a list of at most 5000 words", "words");
  std::vector<std::string> words;
  for (const auto& w : b["words"]) {
    if (!w.is_string()) return invalid("every word must be a string", "words");
    std::string t = core::trim(w.get<std::string>());
    if (t.empty() || t.size() > 100 || !core::valid_utf8(t))
      return invalid("words must be 1 to 100 bytes of text", "words");
    words.push_back(core::fold_case(t));
  }
  const std::string language = b["language"].get<std::string>();
  store::Transaction tx(c.db);
  audience::replace_word_list(c.db, language, words);
  audience::log_moderation(c.db, c.now, c.who->username, "word_list", std::nullopt,
                           language + ": " + std::to_string(words.size()) + " word(s)");
  tx.commit();
  log().info(c.who->username + " set the " + language + " word list (" + std::to_string(words.size()) + " words)");
  if (audience_) audience_->post([language, words](audience::AudienceHub& h) { h.words_set(language, words); });
  return HttpResponse::json(200, {{"language", language}, {"words", words}});
}

HttpResponse Api::moderation_log(Call& c) {
  std::optional<int64_t> event_id, limit;
  if (auto e = query_number(c.request, "event_id", 1, std::numeric_limits<int64_t>::max(), event_id)) return *e;
  if (auto e = query_number(c.request, "limit", 1, 500, limit)) return *e;
  if (event_id && !schedule::find_event(c.db, *event_id)) return no_event(*event_id);
  return HttpResponse::json(200, {{"log", audience::moderation_log(c.db, static_cast<int>(limit.value_or(500)), event_id)}});
}

}  // namespace sreda::web
