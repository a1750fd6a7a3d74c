#include "server/schedule/catalog.h"

#include "server/core/random.h"
#include "server/core/text.h"

namespace sreda::schedule {
namespace {

constexpr const char* kStudioColumns = "id, name, stream_key, created_at, updated_at, IFNULL(srt_passphrase, '')";
constexpr const char* kEventColumns =
    "e.id, e.title, e.description, e.category, e.language, e.studio_id, s.name, e.starts_at, e.ends_at, e.state, "
    "e.created_at, e.updated_at, e.realtime";

Studio read_studio(const store::Stmt& st) {
  Studio s;
  s.id = st.int64(0);
  s.name = st.text(1);
  s.stream_key = st.text(2);
  s.created_at = st.int64(3);
  s.updated_at = st.int64(4);
  s.srt_passphrase = st.text(5);
  return s;
}

Event read_event(const store::Stmt& st) {
  Event e;
  e.id = st.int64(0);
  e.title = st.text(1);
  e.description = st.text(2);
  e.category = st.text(3);
  e.language = st.text(4);
  e.studio_id = st.int64(5);
  e.studio_name = st.text(6);
  e.starts_at = st.int64(7);
  e.ends_at = st.int64(8);
  e.state = event_state(st.text(9)).value_or(EventState::scheduled);  // the column's CHECK allows no other
  e.created_at = st.int64(10);
  e.updated_at = st.int64(11);
  e.realtime = st.int64(12) != 0;
  return e;
}

std::string search_text(const Event& e) { return core::fold_case(e.title + "\n" + e.description); }

std::optional<Studio> one_studio(store::Db& db, const std::string& where, const std::string& value) {
  auto st = db.prepare(std::string("SELECT ") + kStudioColumns + " FROM studios WHERE " + where);
  st.bind(1, value);
  if (!st.step()) return std::nullopt;
  return read_studio(st);
}

}  // namespace

std::vector<Studio> list_studios(store::Db& db) {
  auto st = db.prepare(std::string("SELECT ") + kStudioColumns + " FROM studios ORDER BY name_key");
  std::vector<Studio> out;
  while (st.step()) out.push_back(read_studio(st));
  return out;
}

std::optional<Studio> find_studio(store::Db& db, int64_t id) {
  auto st = db.prepare(std::string("SELECT ") + kStudioColumns + " FROM studios WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_studio(st);
}

std::optional<Studio> find_studio_by_name(store::Db& db, const std::string& name) {
  return one_studio(db, "name_key = ?", core::fold_case(name));
}

std::optional<Studio> find_studio_by_key(store::Db& db, const std::string& key) {
  return one_studio(db, "stream_key = ?", key);
}

std::string new_stream_key() {
  // 192 bits, 32 URL-safe characters. Never starting with '-' or '_': studios paste keys into command lines
  // (ffmpeg, scripts/publish-test), where a leading dash reads as an option.
  for (;;) {
    std::string key = core::random_token(24);
    if (key[0] != '-' && key[0] != '_') return key;
  }
}

Studio create_studio(store::Db& db, const std::string& name, int64_t now) {
  Studio s;
  s.name = name;
  s.stream_key = new_stream_key();
  s.created_at = s.updated_at = now;
  auto st = db.prepare(
      "INSERT INTO studios (name, name_key, stream_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
  st.bind(1, s.name).bind(2, core::fold_case(name)).bind(3, s.stream_key).bind(4, now).bind(5, now).run();
  s.id = db.last_insert_id();
  return s;
}

void rename_studio(store::Db& db, int64_t id, const std::string& name, int64_t now) {
  db.prepare("UPDATE studios SET name = ?, name_key = ?, updated_at = ? WHERE id = ?")
      .bind(1, name)
      .bind(2, core::fold_case(name))
      .bind(3, now)
      .bind(4, id)
      .run();
}

void set_studio_passphrase(store::Db& db, int64_t id, const std::string& passphrase, int64_t now) {
  auto st = db.prepare("UPDATE studios SET srt_passphrase = ?, updated_at = ? WHERE id = ?");
  if (passphrase.empty()) st.bind_null(1);
  else st.bind(1, passphrase);
  st.bind(2, now).bind(3, id).run();
}

std::string rotate_studio_key(store::Db& db, int64_t id, int64_t now) {
  std::string key = new_stream_key();
  db.prepare("UPDATE studios SET stream_key = ?, updated_at = ? WHERE id = ?").bind(1, key).bind(2, now).bind(3, id)
      .run();
  return key;
}

int64_t count_studio_events(store::Db& db, int64_t studio_id) {
  auto st = db.prepare("SELECT COUNT(*) FROM events WHERE studio_id = ?");
  st.bind(1, studio_id).step();
  return st.int64(0);
}

void delete_studio(store::Db& db, int64_t id) { db.prepare("DELETE FROM studios WHERE id = ?").bind(1, id).run(); }

std::optional<Event> find_event(store::Db& db, int64_t id) {
  auto st = db.prepare(std::string("SELECT ") + kEventColumns +
                       " FROM events e JOIN studios s ON s.id = e.studio_id WHERE e.id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_event(st);
}

std::optional<Event> find_overlap(store::Db& db, int64_t studio_id, int64_t starts_at, int64_t ends_at,
                                  int64_t except_id) {
  auto st = db.prepare(std::string("SELECT ") + kEventColumns +
                       " FROM events e JOIN studios s ON s.id = e.studio_id WHERE e.studio_id = ? AND e.id != ? "
                       "AND e.state != 'cancelled' AND e.starts_at < ? AND ? < e.ends_at ORDER BY e.starts_at "
                       "LIMIT 1");
  st.bind(1, studio_id).bind(2, except_id).bind(3, ends_at).bind(4, starts_at);
  if (!st.step()) return std::nullopt;
  return read_event(st);
}

Event insert_event(store::Db& db, Event e, int64_t now) {
  e.created_at = e.updated_at = now;
  auto st = db.prepare(
      "INSERT INTO events (title, description, category, language, studio_id, starts_at, ends_at, state, "
      "search_text, created_at, updated_at, realtime) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, e.title).bind(2, e.description).bind(3, e.category).bind(4, e.language).bind(5, e.studio_id);
  st.bind(6, e.starts_at)
      .bind(7, e.ends_at)
      .bind(8, to_string(e.state))
      .bind(9, search_text(e))
      .bind(10, now)
      .bind(11, now)
      .bind(12, int64_t{e.realtime});
  st.run();
  e.id = db.last_insert_id();
  return e;
}

void update_event(store::Db& db, const Event& e, int64_t now) {
  auto st = db.prepare(
      "UPDATE events SET title = ?, description = ?, category = ?, language = ?, studio_id = ?, starts_at = ?, "
      "ends_at = ?, search_text = ?, updated_at = ?, realtime = ? WHERE id = ?");
  st.bind(1, e.title).bind(2, e.description).bind(3, e.category).bind(4, e.language).bind(5, e.studio_id);
  st.bind(6, e.starts_at).bind(7, e.ends_at).bind(8, search_text(e)).bind(9, now).bind(10, int64_t{e.realtime});
  st.bind(11, e.id);
  st.run();
}

void set_event_state(store::Db& db, int64_t id, EventState state, int64_t now) {
  db.prepare("UPDATE events SET state = ?, updated_at = ? WHERE id = ?")
      .bind(1, to_string(state))
      .bind(2, now)
      .bind(3, id)
      .run();
}

void delete_event(store::Db& db, int64_t id) { db.prepare("DELETE FROM events WHERE id = ?").bind(1, id).run(); }

std::optional<Event> find_current_event(store::Db& db, int64_t studio_id, int64_t now) {
  auto st = db.prepare(std::string("SELECT ") + kEventColumns +
                       " FROM events e JOIN studios s ON s.id = e.studio_id WHERE e.studio_id = ? AND e.state IN "
                       "('scheduled', 'live', 'intermission') AND e.starts_at - 1800 <= ? AND ? <= e.ends_at + 3600 "
                       "ORDER BY e.state = 'scheduled', e.starts_at LIMIT 1");
  st.bind(1, studio_id).bind(2, now).bind(3, now);
  if (!st.step()) return std::nullopt;
  return read_event(st);
}

Event create_adhoc_event(store::Db& db, const Studio& studio, int64_t now) {
  Event e;
  e.title = studio.name;
  e.category = "other";
  e.studio_id = studio.id;
  e.studio_name = studio.name;
  e.starts_at = now;
  e.ends_at = now + 4 * 3600;
  auto next = db.prepare("SELECT MIN(starts_at) FROM events WHERE studio_id = ? AND state != 'cancelled' AND starts_at > ?");
  next.bind(1, studio.id).bind(2, now);
  if (next.step() && !next.is_null(0) && next.int64(0) < e.ends_at) e.ends_at = std::max(now + 60, next.int64(0));
  return insert_event(db, e, now);
}

std::vector<Event> find_unfinished_events(store::Db& db) {
  auto st = db.prepare(std::string("SELECT ") + kEventColumns +
                       " FROM events e JOIN studios s ON s.id = e.studio_id WHERE e.state IN ('live', 'intermission')");
  std::vector<Event> out;
  while (st.step()) out.push_back(read_event(st));
  return out;
}

EventPage query_events(store::Db& db, const EventQuery& q, int64_t now) {
  std::string where = "1";
  std::string order = "e.starts_at ASC, e.id ASC";
  if (q.when == "live") {
    where = "e.state IN ('live', 'intermission')";
  } else if (q.when == "upcoming") {
    where = "e.state = 'scheduled' AND e.ends_at > :now";
  } else if (q.when == "archive") {
    where = "e.state IN ('ended', 'archived')";
    order = "e.starts_at DESC, e.id DESC";
  } else if (q.when == "calendar") {
    // What a subscribed calendar should know: coming, live, and cancelled ones still ahead.
    where = "e.ends_at > :now - 86400 AND e.state IN ('scheduled', 'live', 'intermission', 'cancelled')";
  }
  if (!q.category.empty()) where += " AND e.category = :category";
  if (!q.q.empty()) where += " AND instr(e.search_text, :q) > 0";
  if (q.studio_id) where += " AND e.studio_id = :studio";
  auto bind_all = [&](store::Stmt& st) {
    if (int i = st.param_index(":now")) st.bind(i, now);
    if (int i = st.param_index(":category")) st.bind(i, q.category);
    if (int i = st.param_index(":q")) st.bind(i, core::fold_case(q.q));
    if (int i = st.param_index(":studio")) st.bind(i, q.studio_id);
  };
  EventPage page;
  {
    auto st = db.prepare("SELECT COUNT(*) FROM events e WHERE " + where);
    bind_all(st);
    st.step();
    page.total = st.int64(0);
  }
  auto st = db.prepare(std::string("SELECT ") + kEventColumns +
                       " FROM events e JOIN studios s ON s.id = e.studio_id WHERE " + where + " ORDER BY " + order +
                       " LIMIT :limit OFFSET :offset");
  bind_all(st);
  st.bind(st.param_index(":limit"), q.page_size);
  st.bind(st.param_index(":offset"), static_cast<int64_t>(q.page - 1) * q.page_size);
  while (st.step()) page.events.push_back(read_event(st));
  return page;
}

}  // namespace sreda::schedule
