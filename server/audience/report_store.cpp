#include "server/audience/report_store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "server/audience/storage.h"
#include "server/core/clock.h"

namespace sreda::audience {
namespace {

using nlohmann::json;

// The report row, created (with the event's title, category and studio) the first time something is written
// for the event. False when the event is gone and has no row.
bool ensure_row(store::Db& db, int64_t event_id, std::optional<int64_t> held_at_s) {
  auto st = db.prepare(
      "INSERT INTO event_reports (event_id, title, category, studio_id, studio_name, held_at) "
      "SELECT e.id, e.title, e.category, e.studio_id, IFNULL(s.name, ''), IFNULL(?2, e.starts_at) "
      "FROM events e LEFT JOIN studios s ON s.id = e.studio_id WHERE e.id = ?1 "
      "ON CONFLICT(event_id) DO UPDATE SET title = excluded.title, category = excluded.category, "
      "studio_id = excluded.studio_id, studio_name = excluded.studio_name");
  st.bind(1, event_id).bind(2, held_at_s);
  st.run();
  auto check = db.prepare("SELECT 1 FROM event_reports WHERE event_id = ?");
  check.bind(1, event_id);
  return check.step();
}

void add_watched(store::Db& db, int64_t event_id, const char* mode, const std::map<std::string, int64_t>& ms) {
  for (const auto& [rendition, value] : ms) {
    auto st = db.prepare(
        "INSERT INTO report_watched (event_id, mode, rendition, ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(event_id, mode, rendition) DO UPDATE SET ms = ms + excluded.ms");
    st.bind(1, event_id).bind(2, mode).bind(3, rendition).bind(4, value);
    st.run();
  }
}

int64_t scalar(store::Db& db, const std::string& sql, int64_t event_id) {
  auto st = db.prepare(sql);
  st.bind(1, event_id);
  return st.step() && !st.is_null(0) ? st.int64(0) : 0;
}

json minutes_by_rendition(store::Db& db, int64_t event_id, const char* mode) {
  json out = json::object();
  auto st = db.prepare("SELECT rendition, ms FROM report_watched WHERE event_id = ? AND mode = ? ORDER BY rendition");
  st.bind(1, event_id).bind(2, mode);
  while (st.step()) out[st.text(0)] = minutes_of(st.int64(1));
  return out;
}

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The figures of one event in the season report.
struct SeasonEvent {
  int64_t id = 0;
  std::string title, category, studio_name;
  int64_t studio_id = 0, held_at = 0, peak = 0, unique = 0, live_ms = 0, archive_ms = 0, archive_plays = 0;
  int64_t rating_count = 0, rating_sum = 0;
};

struct Group {
  std::string key, label;
  std::vector<const SeasonEvent*> events;
};

json group_json(store::Db& db, const Group& g) {
  int64_t total = 0, live = 0, archive = 0, plays = 0, rc = 0, rs = 0;
  std::string ids;
  for (const SeasonEvent* e : g.events) {
    total += e->unique;
    live += e->live_ms;
    archive += e->archive_ms;
    plays += e->archive_plays;
    rc += e->rating_count;
    rs += e->rating_sum;
    ids += (ids.empty() ? "" : ",") + std::to_string(e->id);
  }
  int64_t unique = 0;
  if (!ids.empty()) {
    auto st = db.prepare("SELECT COUNT(DISTINCT viewer_id) FROM report_viewers WHERE event_id IN (" + ids + ")");
    if (st.step()) unique = st.int64(0);
  }
  std::vector<const SeasonEvent*> top = g.events;
  std::stable_sort(top.begin(), top.end(), [](auto* a, auto* b) { return a->unique > b->unique; });
  if (top.size() > 5) top.resize(5);
  json top_json = json::array();
  for (const SeasonEvent* e : top)
    top_json.push_back({{"event_id", e->id}, {"title", e->title}, {"unique_viewers", e->unique},
                        {"peak_viewers", e->peak}, {"minutes_live", minutes_of(e->live_ms)}});
  const double average = rc ? std::round(static_cast<double>(rs) * 100.0 / static_cast<double>(rc)) / 100.0 : 0.0;
  return {{"key", g.key},
          {"label", g.label},
          {"events", static_cast<int64_t>(g.events.size())},
          {"viewers_unique", unique},
          {"viewers_total", total},
          {"minutes_live", minutes_of(live)},
          {"minutes_archive", minutes_of(archive)},
          {"archive_plays", plays},
          {"rating", {{"average", average}, {"count", rc}}},
          {"top_events", top_json}};
}

}  // namespace

double minutes_of(int64_t ms) { return std::round(static_cast<double>(ms) / 600.0) / 100.0; }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string local_month(int64_t epoch_s) {
  std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  return buf;
}

std::optional<int64_t> local_day_start(const std::string& date) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (date.size() != 10 || std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return std::nullopt;
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1) || tm.tm_mday != d) return std::nullopt;  // 31 February
  return static_cast<int64_t>(t);
}

void write_report_batch(store::Db& db, const ReportBatch& batch) {
  store::Transaction tx(db);
  for (const ReportDelta& d : batch.events) {
    if (d.empty()) continue;
    std::optional<int64_t> held_at;
    if (d.sample) held_at = d.sample->at_ms / 1000;
    if (!ensure_row(db, d.event_id, held_at)) continue;  // the event was deleted meanwhile
    if (const auto& s = d.sample) {
      json renditions = s->renditions;
      auto st = db.prepare(
          "INSERT INTO report_samples (event_id, at_ms, state, viewers, renditions, players_estimate, comments, "
          "questions, bitrate_kbps, reconnects, dropped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      st.bind(1, d.event_id).bind(2, s->at_ms).bind(3, s->state).bind(4, s->viewers).bind(5, renditions.dump());
      st.bind(6, s->players_estimate >= 0 ? std::optional<int64_t>(s->players_estimate) : std::nullopt);
      st.bind(7, s->comments).bind(8, s->questions).bind(9, s->bitrate_kbps).bind(10, s->reconnects).bind(11, s->dropped);
      st.run();
      auto peak = db.prepare(
          "UPDATE event_reports SET peak_at = CASE WHEN ?2 > peak_viewers THEN ?3 ELSE peak_at END, "
          "peak_viewers = MAX(peak_viewers, ?2), peak_estimate = MAX(peak_estimate, ?4) WHERE event_id = ?1");
      peak.bind(1, d.event_id).bind(2, s->viewers).bind(3, s->at_ms).bind(4, std::max<int64_t>(0, s->players_estimate));
      peak.run();
    }
    add_watched(db, d.event_id, "live", d.live_ms);
    add_watched(db, d.event_id, "archive", d.archive_ms);
    if (d.archive_starts || d.archive_plays) {
      auto st = db.prepare(
          "UPDATE event_reports SET archive_starts = archive_starts + ?2, archive_plays = archive_plays + ?3 "
          "WHERE event_id = ?1");
      st.bind(1, d.event_id).bind(2, d.archive_starts).bind(3, d.archive_plays);
      st.run();
    }
    for (const auto& viewer : d.new_viewers) {
      auto st = db.prepare("INSERT OR IGNORE INTO report_viewers (event_id, viewer_id) VALUES (?, ?)");
      st.bind(1, d.event_id).bind(2, viewer);
      st.run();
    }
  }
  tx.commit();
}

void keep_report(store::Db& db, int64_t event_id, int64_t now_s) {
  auto st = db.prepare(
      "UPDATE event_reports SET deleted_at = ?2, "
      "comments = (SELECT COUNT(*) FROM comments WHERE event_id = ?1), "
      "questions = (SELECT COUNT(*) FROM comments WHERE event_id = ?1 AND question = 1), "
      "answered = (SELECT COUNT(*) FROM comments WHERE event_id = ?1 AND question = 1 AND answered_at IS NOT NULL), "
      "rating_count = (SELECT COUNT(*) FROM ratings WHERE event_id = ?1 AND counted = 1), "
      "rating_sum = (SELECT IFNULL(SUM(stars), 0) FROM ratings WHERE event_id = ?1 AND counted = 1) "
      "WHERE event_id = ?1");
  st.bind(1, event_id).bind(2, now_s);
  st.run();
}

std::optional<json> event_report(store::Db& db, int64_t event_id) {
  auto ev = db.prepare("SELECT title, category, studio_id, state, starts_at FROM events WHERE id = ?");
  ev.bind(1, event_id);
  if (!ev.step()) return std::nullopt;
  json r = {{"event_id", event_id}, {"title", ev.text(0)}, {"category", ev.text(1)}, {"studio_id", ev.int64(2)},
            {"state", ev.text(3)}};
  int64_t held_at = ev.int64(4), peak = 0, estimate = 0, starts = 0, plays = 0;
  std::optional<int64_t> peak_at;
  auto row = db.prepare(
      "SELECT held_at, peak_viewers, peak_at, peak_estimate, archive_starts, archive_plays FROM event_reports "
      "WHERE event_id = ?");
  row.bind(1, event_id);
  if (row.step()) {
    held_at = row.int64(0);
    peak = row.int64(1);
    if (!row.is_null(2)) peak_at = row.int64(2);
    estimate = row.int64(3);
    starts = row.int64(4);
    plays = row.int64(5);
  }
  r["held_at"] = core::format_rfc3339(held_at);
  r["peak_viewers"] = peak;
  r["peak_at"] = peak_at ? json(core::format_rfc3339_ms(*peak_at)) : json(nullptr);
  r["unique_viewers"] = scalar(db, "SELECT COUNT(*) FROM report_viewers WHERE event_id = ?", event_id);
  r["minutes_live"] = minutes_of(
      scalar(db, "SELECT IFNULL(SUM(ms), 0) FROM report_watched WHERE event_id = ? AND mode = 'live'", event_id));
  r["minutes_archive"] = minutes_of(
      scalar(db, "SELECT IFNULL(SUM(ms), 0) FROM report_watched WHERE event_id = ? AND mode = 'archive'", event_id));
  r["archive_starts"] = starts;
  r["archive_plays"] = plays;
  r["comments"] = scalar(db, "SELECT COUNT(*) FROM comments WHERE event_id = ?", event_id);
  r["questions"] = scalar(db, "SELECT COUNT(*) FROM comments WHERE event_id = ? AND question = 1", event_id);
  r["answered"] = scalar(
      db, "SELECT COUNT(*) FROM comments WHERE event_id = ? AND question = 1 AND answered_at IS NOT NULL", event_id);
  r["rating"] = rating_json(rating_summary(db, event_id));
  r["renditions"] = minutes_by_rendition(db, event_id, "live");
  r["renditions_archive"] = minutes_by_rendition(db, event_id, "archive");
  r["players_estimate"] = {
      {"peak", estimate},
      {"note", "an estimate: the most distinct client addresses that fetched this event's live playlists within "
               "one sample (watch pages included; behind a caching edge, the edge counts once)"}};
  json timeline = json::array();
  auto st = db.prepare(
      "SELECT at_ms, state, viewers, renditions, players_estimate, comments, questions, bitrate_kbps, reconnects, "
      "dropped FROM report_samples WHERE event_id = ? ORDER BY at_ms");
  st.bind(1, event_id);
  while (st.step()) {
    json renditions = json::parse(st.text(3), nullptr, false);
    if (!renditions.is_object()) renditions = json::object();
    timeline.push_back({{"at", core::format_rfc3339_ms(st.int64(0))},
                        {"state", st.text(1)},
                        {"viewers", st.int64(2)},
                        {"renditions", renditions},
                        {"players_estimate", st.is_null(4) ? json(nullptr) : json(st.int64(4))},
                        {"comments", st.int64(5)},
                        {"questions", st.int64(6)},
                        {"bitrate_kbps", st.int64(7)},
                        {"reconnect", st.int64(8) > 0},
                        {"reconnects", st.int64(8)},
                        {"dropped", st.int64(9)}});
  }
  r["timeline"] = std::move(timeline);
  return r;
}

json headline_figures(store::Db& db, int64_t event_id) {
  const int64_t peak = scalar(db, "SELECT IFNULL(MAX(peak_viewers), 0) FROM event_reports WHERE event_id = ?", event_id);
  const int64_t unique = scalar(db, "SELECT COUNT(*) FROM report_viewers WHERE event_id = ?", event_id);
  const bool few = unique < kFewViewers;
  return {{"peak_viewers", few || peak < kFewViewers ? json(nullptr) : json(peak)},
          {"unique_viewers", few ? json(nullptr) : json(unique)},
          {"few_viewers", few},
          {"minutes_watched", std::round(minutes_of(scalar(db, "SELECT IFNULL(SUM(ms), 0) FROM report_watched "
                                                               "WHERE event_id = ?", event_id)))},
          {"questions", scalar(db, "SELECT COUNT(*) FROM comments WHERE event_id = ? AND question = 1", event_id)},
          {"answered", scalar(db, "SELECT COUNT(*) FROM comments WHERE event_id = ? AND question = 1 AND "
                                  "answered_at IS NOT NULL", event_id)}};
}

std::string event_report_csv(const json& report) {
  std::ostringstream out;
  out << "at,state,viewers,players_estimate,comments,questions,bitrate_kbps,reconnects,dropped\r\n";
  for (const auto& s : report.at("timeline")) {
    out << s.at("at").get<std::string>() << ',' << s.at("state").get<std::string>() << ','
        << s.at("viewers").get<int64_t>() << ','
        << (s.at("players_estimate").is_null() ? std::string() : std::to_string(s.at("players_estimate").get<int64_t>()))
        << ',' << s.at("comments").get<int64_t>() << ',' << s.at("questions").get<int64_t>() << ','
        << s.at("bitrate_kbps").get<int64_t>() << ',' << s.at("reconnects").get<int64_t>() << ','
        << s.at("dropped").get<int64_t>() << "\r\n";
  }
  return out.str();
}

json season_report(store::Db& db, int64_t from_s, int64_t to_s, const std::string& group) {
  std::vector<SeasonEvent> events;
  auto st = db.prepare(
      "SELECT r.event_id, IFNULL(e.title, r.title), IFNULL(e.category, r.category), IFNULL(e.studio_id, r.studio_id), "
      "IFNULL(s.name, r.studio_name), r.held_at, r.peak_viewers, r.archive_plays, "
      "(SELECT COUNT(*) FROM report_viewers v WHERE v.event_id = r.event_id), "
      "(SELECT IFNULL(SUM(ms), 0) FROM report_watched w WHERE w.event_id = r.event_id AND w.mode = 'live'), "
      "(SELECT IFNULL(SUM(ms), 0) FROM report_watched w WHERE w.event_id = r.event_id AND w.mode = 'archive'), "
      "CASE WHEN e.id IS NULL THEN IFNULL(r.rating_count, 0) ELSE "
      "  (SELECT COUNT(*) FROM ratings g WHERE g.event_id = r.event_id AND g.counted = 1) END, "
      "CASE WHEN e.id IS NULL THEN IFNULL(r.rating_sum, 0) ELSE "
      "  (SELECT IFNULL(SUM(stars), 0) FROM ratings g WHERE g.event_id = r.event_id AND g.counted = 1) END "
      "FROM event_reports r LEFT JOIN events e ON e.id = r.event_id "
      "LEFT JOIN studios s ON s.id = IFNULL(e.studio_id, r.studio_id) "
      "WHERE r.held_at >= ? AND r.held_at < ? ORDER BY r.held_at, r.event_id");
  st.bind(1, from_s).bind(2, to_s);
  while (st.step()) {
    SeasonEvent e;
    e.id = st.int64(0);
    e.title = st.text(1);
    e.category = st.text(2);
    e.studio_id = st.int64(3);
    e.studio_name = st.text(4);
    e.held_at = st.int64(5);
    e.peak = st.int64(6);
    e.archive_plays = st.int64(7);
    e.unique = st.int64(8);
    e.live_ms = st.int64(9);
    e.archive_ms = st.int64(10);
    e.rating_count = st.int64(11);
    e.rating_sum = st.int64(12);
    events.push_back(std::move(e));
  }
  std::map<std::string, Group> groups;
  Group all{"total", "total", {}};
  for (const SeasonEvent& e : events) {
    std::string key, label;
    if (group == "studio") {
      key = std::to_string(e.studio_id);
      label = e.studio_name;
    } else if (group == "month") {
      key = label = local_month(e.held_at);
    } else {
      key = label = e.category;
    }
    Group& g = groups[key];
    g.key = key;
    g.label = label;
    g.events.push_back(&e);
    all.events.push_back(&e);
  }
  json out_groups = json::array();
  for (const auto& [key, g] : groups) out_groups.push_back(group_json(db, g));
  return {{"from", core::format_rfc3339(from_s)},
          {"to", core::format_rfc3339(to_s)},
          {"group", group},
          {"groups", out_groups},
          {"totals", group_json(db, all)}};
}

std::string season_report_csv(const json& report) {
  std::ostringstream out;
  out << "group,key,label,events,viewers_unique,viewers_total,minutes_live,minutes_archive,archive_plays,"
         "rating_average,rating_count\r\n";
  auto row = [&](const json& g) {
    out << csv_field(report.at("group").get<std::string>()) << ',' << csv_field(g.at("key").get<std::string>()) << ','
        << csv_field(g.at("label").get<std::string>()) << ',' << g.at("events").get<int64_t>() << ','
        << g.at("viewers_unique").get<int64_t>() << ',' << g.at("viewers_total").get<int64_t>() << ','
        << number_text(g.at("minutes_live").get<double>()) << ',' << number_text(g.at("minutes_archive").get<double>())
        << ',' << g.at("archive_plays").get<int64_t>() << ','
        << number_text(g.at("rating").at("average").get<double>()) << ',' << g.at("rating").at("count").get<int64_t>()
        << "\r\n";
  };
  for (const auto& g : report.at("groups")) row(g);
  row(report.at("totals"));
  return out.str();
}

}  // namespace sreda::audience
