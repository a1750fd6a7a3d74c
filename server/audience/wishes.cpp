#include "server/audience/wishes.h"

#include "server/audience/rating_book.h"
#include "server/core/clock.h"

namespace sreda::audience {
namespace {

using nlohmann::json;
constexpr const char* kColumns = "id, text, category, viewer_id, address, status, votes, reply, event_id, created_at";

Wish read_wish(store::Stmt& st) {
  Wish w;
  w.id = st.int64(0);
  w.text = st.text(1);
  w.category = st.text(2);
  w.viewer_id = st.text(3);
  w.address = st.text(4);
  w.status = st.text(5);
  w.votes = st.int64(6);
  w.reply = st.text(7);
  if (!st.is_null(8)) w.event_id = st.int64(8);
  w.created_at = st.int64(9);
  return w;
}

}  // namespace

json public_json(const Wish& w) {
  return {{"id", w.id},
          {"text", w.text},
          {"category", w.category},
          {"votes", w.votes},
          {"reply", w.reply.empty() ? json(nullptr) : json(w.reply)},
          {"event_id", w.event_id ? json(*w.event_id) : json(nullptr)},
          {"created_at", core::format_rfc3339(w.created_at)}};
}

json curator_json(const Wish& w) {
  json j = public_json(w);
  j["status"] = w.status;
  j["viewer_id"] = w.viewer_id;
  j["address"] = w.address;
  return j;
}

WishPage list_wishes(store::Db& db, WishSort sort, int page, int page_size, bool include_hidden) {
  WishPage out;
  const std::string where = include_hidden ? "" : " WHERE status = 'visible'";
  {
    auto st = db.prepare("SELECT COUNT(*) FROM wishes" + where);
    st.step();
    out.total = st.int64(0);
  }
  auto st = db.prepare(std::string("SELECT ") + kColumns + " FROM wishes" + where +
                       (sort == WishSort::top ? " ORDER BY votes DESC, id DESC" : " ORDER BY id DESC") +
                       " LIMIT ?1 OFFSET ?2");
  st.bind(1, page_size).bind(2, int64_t{page - 1} * page_size);
  while (st.step()) out.items.push_back(read_wish(st));
  return out;
}

std::optional<Wish> find_wish(store::Db& db, int64_t id) {
  auto st = db.prepare(std::string("SELECT ") + kColumns + " FROM wishes WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_wish(st);
}

std::vector<int64_t> voted_by(store::Db& db, const std::string& viewer_id, const std::vector<int64_t>& wish_ids) {
  std::vector<int64_t> out;
  auto st = db.prepare("SELECT 1 FROM wish_votes WHERE wish_id = ? AND viewer_id = ?");
  for (int64_t id : wish_ids) {
    st.reset();
    st.bind(1, id).bind(2, viewer_id);
    if (st.step()) out.push_back(id);
  }
  return out;
}

std::optional<Wish> wish_for_event(store::Db& db, int64_t event_id) {
  auto st = db.prepare(std::string("SELECT ") + kColumns +
                       " FROM wishes WHERE event_id = ? AND status = 'visible' ORDER BY votes DESC, id LIMIT 1");
  st.bind(1, event_id);
  if (!st.step()) return std::nullopt;
  return read_wish(st);
}

int64_t wishes_from(store::Db& db, const std::string& address, int64_t since) {
  auto st = db.prepare("SELECT COUNT(*) FROM wishes WHERE address = ? AND created_at >= ?");
  st.bind(1, address).bind(2, since);
  st.step();
  return st.int64(0);
}

int64_t wishes_waiting(store::Db& db) {
  auto st = db.prepare("SELECT COUNT(*) FROM wishes WHERE status != 'hidden'");
  st.step();
  return st.int64(0);
}

Wish insert_wish(store::Db& db, Wish w) {
  auto st = db.prepare(
      "INSERT INTO wishes (text, category, viewer_id, address, status, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?6)");
  st.bind(1, w.text).bind(2, w.category).bind(3, w.viewer_id).bind(4, w.address).bind(5, w.status).bind(6, w.created_at);
  st.run();
  w.id = db.last_insert_id();
  return w;
}

VoteOutcome vote_wish(store::Db& db, int64_t wish_id, const std::string& viewer_id, const std::string& group, int cap,
                      int64_t now) {
  store::Transaction tx(db);
  VoteOutcome out;
  auto mine = db.prepare("SELECT counted FROM wish_votes WHERE wish_id = ? AND viewer_id = ?");
  mine.bind(1, wish_id).bind(2, viewer_id);
  if (mine.step()) {
    out.counted = mine.int64(0) != 0;
  } else {
    auto of_group = db.prepare("SELECT counted, COUNT(*) FROM wish_votes WHERE wish_id = ? AND address = ? GROUP BY counted");
    of_group.bind(1, wish_id).bind(2, group);
    int64_t counted = 0, left_out = 0;
    while (of_group.step()) (of_group.int64(0) ? counted : left_out) = of_group.int64(1);
    out.fresh = true;
    out.counted = counted < cap;
    out.capped_now = !out.counted && left_out == 0;
    out.kept = out.counted || left_out < int64_t{RatingBook::kKeptPerCounted} * cap;
    if (out.kept) {
      auto ins = db.prepare("INSERT INTO wish_votes (wish_id, viewer_id, address, counted, at) VALUES (?, ?, ?, ?, ?)");
      ins.bind(1, wish_id).bind(2, viewer_id).bind(3, group).bind(4, int64_t{out.counted}).bind(5, now);
      ins.run();
    }
    if (out.counted) {
      auto up = db.prepare("UPDATE wishes SET votes = votes + 1 WHERE id = ?");
      up.bind(1, wish_id);
      up.run();
    }
  }
  auto count = db.prepare("SELECT votes FROM wishes WHERE id = ?");
  count.bind(1, wish_id);
  if (count.step()) out.votes = count.int64(0);
  tx.commit();
  return out;
}

void set_wish_status(store::Db& db, int64_t id, const std::string& status, int64_t now) {
  auto st = db.prepare("UPDATE wishes SET status = ?, updated_at = ? WHERE id = ?");
  st.bind(1, status).bind(2, now).bind(3, id);
  st.run();
}

void set_wish_reply(store::Db& db, int64_t id, const std::string& reply, int64_t now) {
  auto st = db.prepare("UPDATE wishes SET reply = ?, updated_at = ? WHERE id = ?");
  st.bind(1, reply).bind(2, now).bind(3, id);
  st.run();
}

void set_wish_event(store::Db& db, int64_t id, std::optional<int64_t> event_id, int64_t now) {
  auto st = db.prepare("UPDATE wishes SET event_id = ?, updated_at = ? WHERE id = ?");
  st.bind(1, event_id).bind(2, now).bind(3, id);
  st.run();
}

}  // namespace sreda::audience
