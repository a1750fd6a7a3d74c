#include "server/audience/storage.h"

#include <algorithm>

#include "server/core/clock.h"
#include "server/core/text.h"

namespace sreda::audience {
namespace {

using nlohmann::json;
constexpr const char* kCommentColumns = "id, event_id, viewer_id, address, nick, text, at_ms, media_ms, status, question, answered_at, answered_by";

Comment read_comment(store::Stmt& st) {
  Comment c;
  c.id = st.int64(0);
  c.event_id = st.int64(1);
  c.viewer_id = st.text(2);
  c.address = st.text(3);
  c.nick = st.text(4);
  c.text = st.text(5);
  c.at_ms = st.int64(6);
  if (!st.is_null(7)) c.media_ms = st.int64(7);
  c.status = st.text(8);
  c.question = st.int64(9) != 0;
  if (!st.is_null(10)) c.answered_at_ms = st.int64(10);
  if (!st.is_null(11)) c.answered_by = st.text(11);
  return c;
}

Ban read_ban(store::Stmt& st) {
  Ban b;
  b.id = st.int64(0);
  if (!st.is_null(1)) b.event_id = st.int64(1);
  b.kind = st.text(2);
  b.value = st.text(3);
  b.created_by = st.text(4);
  b.created_at = st.int64(5);
  b.address = st.text(6);
  return b;
}

constexpr const char* kBanColumns = "id, event_id, kind, value, created_by, created_at, address";

}  // namespace

json public_json(const Comment& c) {
  return {{"id", c.id},
          {"nick", c.nick},
          {"text", c.text},
          {"at", core::format_rfc3339_ms(c.at_ms)},
          {"media_ms", c.media_ms ? json(*c.media_ms) : json(nullptr)},
          {"question", c.question},
          {"answered", c.answered_at_ms.has_value()}};
}

json curator_json(const Comment& c) {
  json j = public_json(c);
  j["event_id"] = c.event_id;
  j["status"] = c.status;
  j["viewer_id"] = c.viewer_id;
  j["address"] = c.address;
  j["answered_at"] = c.answered_at_ms ? json(core::format_rfc3339_ms(*c.answered_at_ms)) : json(nullptr);
  j["answered_by"] = c.answered_at_ms ? json(c.answered_by) : json(nullptr);
  return j;
}

json to_json(const Ban& b) {
  json j = {{"id", b.id},
            {"event_id", b.event_id ? json(*b.event_id) : json(nullptr)},
            {b.kind == "viewer" ? "viewer_id" : "address", b.value},
            {"created_by", b.created_by},
            {"created_at", core::format_rfc3339(b.created_at)}};
  if (b.kind == "viewer") j["address"] = b.address.empty() ? json(nullptr) : json(b.address);
  return j;
}

RoomData load_room(store::Db& db, int64_t event_id, size_t recent) {
  RoomData r;
  r.event_id = event_id;
  {
    auto st = db.prepare("SELECT language, state FROM events WHERE id = ?");
    st.bind(1, event_id);
    if (!st.step()) return r;
    r.exists = true;
    r.language = st.text(0);
    r.state = schedule::event_state(st.text(1)).value_or(schedule::EventState::scheduled);
  }
  {
    auto st = db.prepare(std::string("SELECT ") + kCommentColumns +
                         " FROM comments WHERE event_id = ? AND status = 'visible' ORDER BY id DESC LIMIT ?");
    st.bind(1, event_id).bind(2, static_cast<int64_t>(recent));
    while (st.step()) r.recent.push_back(read_comment(st));
    std::reverse(r.recent.begin(), r.recent.end());
  }
  {
    auto st = db.prepare("SELECT viewer_id, stars, address, counted, updated_at FROM ratings WHERE event_id = ?");
    st.bind(1, event_id);
    while (st.step())
      r.ratings.push_back(Rating{event_id, st.text(0), static_cast<int>(st.int64(1)), st.int64(4), st.text(2), st.int64(3) != 0});
  }
  r.slow_mode_s = slow_mode(db, event_id);
  {
    auto st = db.prepare(std::string("SELECT ") + kBanColumns + " FROM audience_bans WHERE event_id = ?");
    st.bind(1, event_id);
    while (st.step()) r.bans.push_back(read_ban(st));
  }
  return r;
}

int64_t max_comment_id(store::Db& db) {
  auto st = db.prepare("SELECT IFNULL(MAX(id), 0) FROM comments");
  st.step();
  return st.int64(0);
}

std::vector<Ban> global_bans(store::Db& db) {
  std::vector<Ban> out;
  auto st = db.prepare(std::string("SELECT ") + kBanColumns + " FROM audience_bans WHERE event_id IS NULL");
  while (st.step()) out.push_back(read_ban(st));
  return out;
}

void write_batch(store::Db& db, const std::vector<Comment>& comments, const std::vector<Rating>& ratings) {
  store::Transaction tx(db);
  if (!comments.empty()) {
    auto st = db.prepare(
        "INSERT OR IGNORE INTO comments (id, event_id, viewer_id, address, nick, text, at_ms, media_ms, status, question) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM events WHERE id = ?)");
    for (const auto& c : comments) {
      st.bind(1, c.id).bind(2, c.event_id).bind(3, c.viewer_id).bind(4, c.address).bind(5, c.nick).bind(6, c.text);
      st.bind(7, c.at_ms).bind(8, c.media_ms).bind(9, c.status).bind(10, int64_t{c.question}).bind(11, c.event_id);
      st.run();
      st.reset();
    }
  }
  if (!ratings.empty()) {
    auto st = db.prepare(
        "INSERT INTO ratings (event_id, viewer_id, stars, updated_at, address, counted) SELECT ?, ?, ?, ?, ?, ? "
        "WHERE EXISTS (SELECT 1 FROM events WHERE id = ?) "
        "ON CONFLICT (event_id, viewer_id) DO UPDATE SET stars = excluded.stars, updated_at = excluded.updated_at");
    for (const auto& r : ratings) {
      st.bind(1, r.event_id).bind(2, r.viewer_id).bind(3, r.stars).bind(4, r.at_s).bind(5, r.address);
      st.bind(6, int64_t{r.counted}).bind(7, r.event_id);
      st.run();
      st.reset();
    }
  }
  tx.commit();
}

std::optional<Comment> find_comment(store::Db& db, int64_t event_id, int64_t comment_id) {
  auto st = db.prepare(std::string("SELECT ") + kCommentColumns + " FROM comments WHERE id = ? AND event_id = ?");
  st.bind(1, comment_id).bind(2, event_id);
  if (!st.step()) return std::nullopt;
  return read_comment(st);
}

std::optional<Comment> find_comment(store::Db& db, int64_t comment_id) {
  auto st = db.prepare(std::string("SELECT ") + kCommentColumns + " FROM comments WHERE id = ?");
  st.bind(1, comment_id);
  if (!st.step()) return std::nullopt;
  return read_comment(st);
}

void set_comment_status(store::Db& db, int64_t comment_id, const std::string& status) {
  auto st = db.prepare("UPDATE comments SET status = ? WHERE id = ?");
  st.bind(1, status).bind(2, comment_id);
  st.run();
}

bool mark_answered(store::Db& db, int64_t comment_id, int64_t at_ms, const std::string& by) {
  auto st = db.prepare("UPDATE comments SET answered_at = ?, answered_by = ? "
                       "WHERE id = ? AND question = 1 AND answered_at IS NULL");
  st.bind(1, at_ms).bind(2, by).bind(3, comment_id);
  st.run();
  return db.changes() > 0;
}

std::vector<Comment> list_comments(store::Db& db, int64_t event_id, std::optional<int64_t> from_ms,
                                   std::optional<int64_t> to_ms, int limit, bool include_hidden) {
  std::string sql = std::string("SELECT ") + kCommentColumns + " FROM comments WHERE event_id = :event";
  if (!include_hidden) sql += " AND status = 'visible'";
  if (from_ms) sql += " AND media_ms >= :from";
  if (to_ms) sql += " AND media_ms < :to";
  sql += include_hidden ? " ORDER BY id LIMIT :limit" : " ORDER BY media_ms IS NULL, media_ms, id LIMIT :limit";
  auto st = db.prepare(sql);
  st.bind(st.param_index(":event"), event_id);
  if (from_ms) st.bind(st.param_index(":from"), *from_ms);
  if (to_ms) st.bind(st.param_index(":to"), *to_ms);
  st.bind(st.param_index(":limit"), limit);
  std::vector<Comment> out;
  while (st.step()) out.push_back(read_comment(st));
  return out;
}

RatingSummary rating_summary(store::Db& db, int64_t event_id) {
  RatingSummary r;
  auto st = db.prepare("SELECT stars, COUNT(*) FROM ratings WHERE event_id = ? AND counted = 1 GROUP BY stars");
  st.bind(1, event_id);
  while (st.step()) {
    int64_t stars = st.int64(0);
    if (stars >= 1 && stars <= 5) r.histogram[static_cast<size_t>(stars - 1)] = st.int64(1);
  }
  return r;
}

std::string last_address_of(store::Db& db, const std::string& viewer_id) {
  auto st = db.prepare(
      "SELECT address FROM (SELECT address, at_ms AS t FROM comments WHERE viewer_id = ?1 AND address != '' "
      "UNION ALL SELECT address, updated_at * 1000 AS t FROM ratings WHERE viewer_id = ?1 AND address != '') "
      "ORDER BY t DESC LIMIT 1");
  st.bind(1, viewer_id);
  return st.step() ? st.text(0) : std::string();
}

json rating_json(const RatingSummary& r) {
  return {{"average", r.average()}, {"count", r.count()}, {"histogram", r.histogram}};
}

std::optional<Ban> insert_ban(store::Db& db, const Ban& ban) {
  auto st = db.prepare(
      "INSERT OR IGNORE INTO audience_bans (event_id, kind, value, created_by, created_at, address) VALUES (?, ?, ?, ?, ?, ?)");
  st.bind(1, ban.event_id).bind(2, ban.kind).bind(3, ban.value).bind(4, ban.created_by).bind(5, ban.created_at);
  st.bind(6, ban.address);
  st.run();
  if (db.changes() == 0) return std::nullopt;
  Ban b = ban;
  b.id = db.last_insert_id();
  return b;
}

std::optional<Ban> delete_ban(store::Db& db, int64_t id) {
  auto st = db.prepare(std::string("SELECT ") + kBanColumns + " FROM audience_bans WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  Ban b = read_ban(st);
  auto del = db.prepare("DELETE FROM audience_bans WHERE id = ?");
  del.bind(1, id);
  del.run();
  return b;
}

std::vector<Ban> list_bans(store::Db& db) {
  std::vector<Ban> out;
  auto st = db.prepare(std::string("SELECT ") + kBanColumns + " FROM audience_bans ORDER BY id");
  while (st.step()) out.push_back(read_ban(st));
  return out;
}

int slow_mode(store::Db& db, int64_t event_id) {
  auto st = db.prepare("SELECT slow_mode_s FROM audience_settings WHERE event_id = ?");
  st.bind(1, event_id);
  return st.step() ? static_cast<int>(st.int64(0)) : 0;
}

void set_slow_mode(store::Db& db, int64_t event_id, int seconds) {
  auto st = db.prepare(
      "INSERT INTO audience_settings (event_id, slow_mode_s) VALUES (?, ?) "
      "ON CONFLICT (event_id) DO UPDATE SET slow_mode_s = excluded.slow_mode_s");
  st.bind(1, event_id).bind(2, seconds);
  st.run();
}

std::map<std::string, std::vector<std::string>> word_lists(store::Db& db) {
  std::map<std::string, std::vector<std::string>> out;
  auto st = db.prepare("SELECT language, word FROM audience_words ORDER BY language, word");
  while (st.step()) out[st.text(0)].push_back(st.text(1));
  return out;
}

void replace_word_list(store::Db& db, const std::string& language, const std::vector<std::string>& words) {
  auto del = db.prepare("DELETE FROM audience_words WHERE language = ?");
  del.bind(1, language);
  del.run();
  auto st = db.prepare("INSERT OR IGNORE INTO audience_words (language, word) VALUES (?, ?)");
  for (const auto& w : words) {
    st.bind(1, language).bind(2, core::fold_case(w));
    st.run();
    st.reset();
  }
}

void log_moderation(store::Db& db, int64_t at, const std::string& curator, const std::string& action,
                    std::optional<int64_t> event_id, const std::string& target) {
  auto st = db.prepare("INSERT INTO moderation_log (at, curator, action, event_id, target) VALUES (?, ?, ?, ?, ?)");
  st.bind(1, at).bind(2, curator).bind(3, action).bind(4, event_id).bind(5, target);
  st.run();
}

json moderation_log(store::Db& db, int limit, std::optional<int64_t> event_id) {
  json out = json::array();
  auto st = db.prepare(
      "SELECT at, curator, action, event_id, target FROM moderation_log WHERE (?1 IS NULL OR event_id = ?1) "
      "ORDER BY id DESC LIMIT ?2");
  st.bind(1, event_id).bind(2, limit);
  while (st.step())
    out.push_back({{"at", core::format_rfc3339(st.int64(0))},
                   {"curator", st.text(1)},
                   {"action", st.text(2)},
                   {"event_id", st.is_null(3) ? json(nullptr) : json(st.int64(3))},
                   {"target", st.text(4)}});
  return out;
}

}  // namespace sreda::audience
