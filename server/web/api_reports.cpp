// Curators' reports (issue 22): GET /api/events/{id}/report(.csv) and GET /api/reports(.csv). The figures are
// collected by the audience hub (server/audience/report_tally.h) and stored by report_store.h; these routes only
// read them (store thread, one short read each).
#include "server/audience/report_store.h"
#include "server/core/clock.h"
#include "server/web/api.h"

namespace sreda::web {
namespace {

using nlohmann::json;

HttpResponse csv(std::string body, const std::string& filename) {
  auto r = HttpResponse::text(200, "text/csv; charset=utf-8", std::move(body));
  r.headers.emplace_back("content-disposition", "attachment; filename=\"" + filename + "\"");
  return r;
}

// The season report's query: from and to (YYYY-MM-DD, both days included, in server.time_zone; default: the
// last 365 days up to today) and group (category | studio | month; default category). An error response or
// nullopt.
struct SeasonQuery {
  int64_t from_s = 0, to_s = 0;
  std::string group = "category";
};
std::optional<HttpResponse> parse_season(const HttpRequest& request, int64_t now_s, SeasonQuery& q) {
  const std::string from = request.query_value("from"), to = request.query_value("to");
  q.group = request.query_value("group");
  if (q.group.empty()) q.group = "category";
  if (q.group != "category" && q.group != "studio" && q.group != "month")
    return HttpResponse::error(400, "bad_request", "group must be category, studio or month", "group");
  if (to.empty()) {
    q.to_s = now_s + 1;
  } else {
    auto day = audience::local_day_start(to);
    if (!day) return HttpResponse::error(400, "bad_request", "to must be a date, YYYY-MM-DD", "to");
    q.to_s = *day + 36 * 3600;  // the next local midnight, whatever the day's length (daylight saving)
    std::time_t t = static_cast<std::time_t>(q.to_s);
    std::tm tm{};
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    q.to_s = static_cast<int64_t>(std::mktime(&tm));
  }
  if (from.empty()) {
    q.from_s = q.to_s - 365 * 86400;
  } else {
    auto day = audience::local_day_start(from);
    if (!day) return HttpResponse::error(400, "bad_request", "from must be a date, YYYY-MM-DD", "from");
    q.from_s = *day;
  }
  if (q.from_s >= q.to_s) return HttpResponse::error(400, "bad_request", "from must be before to", "from");
  return std::nullopt;
}

}  // namespace

HttpResponse Api::event_report(Call& c) {
  auto r = audience::event_report(c.db, c.ids[0]);
  if (!r) return HttpResponse::error(404, "not_found", "no event with id " + std::to_string(c.ids[0]));
  (*r)["collecting"] = config_.reports.enabled;
  return HttpResponse::json(200, *r);
}

HttpResponse Api::event_report_csv(Call& c) {
  auto r = audience::event_report(c.db, c.ids[0]);
  if (!r) return HttpResponse::error(404, "not_found", "no event with id " + std::to_string(c.ids[0]));
  return csv(audience::event_report_csv(*r), "event-" + std::to_string(c.ids[0]) + "-report.csv");
}

HttpResponse Api::season_report(Call& c) {
  SeasonQuery q;
  if (auto error = parse_season(c.request, c.now, q)) return std::move(*error);
  json r = audience::season_report(c.db, q.from_s, q.to_s, q.group);
  r["time_zone"] = config_.server.time_zone.empty() ? "local" : config_.server.time_zone;
  r["collecting"] = config_.reports.enabled;
  return HttpResponse::json(200, r);
}

HttpResponse Api::season_report_csv(Call& c) {
  SeasonQuery q;
  if (auto error = parse_season(c.request, c.now, q)) return std::move(*error);
  return csv(audience::season_report_csv(audience::season_report(c.db, q.from_s, q.to_s, q.group)),
             "report-by-" + q.group + ".csv");
}

}  // namespace sreda::web
