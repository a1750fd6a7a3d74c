// Curators' reports in SQLite (schema step 9): the audience hub's batches written, the per-event report and
// the season report read, and both as CSV. Store thread only (every function taking a Db), but the CSV and
// time-zone helpers, which are pure.
//
// A deleted event's report row stays (its comment and rating figures copied in first: keep_report()), so the
// season totals keep it; its own report answers 404 with the event. Addresses are never stored here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nlohmann/json.hpp"
#include "server/audience/report_tally.h"
#include "server/store/db.h"

namespace sreda::audience {

// One transaction: samples, milliseconds watched, archive plays, viewers seen, peaks.
void write_report_batch(store::Db& db, const ReportBatch& batch);

// Before an event is deleted: its comments, questions, answered questions and rating copied into its report
// row (when it has one), which outlives it.
void keep_report(store::Db& db, int64_t event_id, int64_t now_s);

// GET /api/events/{id}/report: nullopt when there is no such event (a deleted event's report is only in the
// season totals). An event that never went on air has a report of zeros.
std::optional<nlohmann::json> event_report(store::Db& db, int64_t event_id);
// The artist's view after the event (a public place): {peak_viewers, unique_viewers (each null when fewer than
// kFewViewers, with few_viewers true), minutes_watched (live and archive), questions, answered}.
nlohmann::json headline_figures(store::Db& db, int64_t event_id);
// The report's timeline as CSV (one row per sample; RFC 4180 quoting).
std::string event_report_csv(const nlohmann::json& report);

// GET /api/reports: events held in [from_s, to_s) grouped by "category", "studio" or "month" (in the process's
// local time zone: server.time_zone), with totals.
nlohmann::json season_report(store::Db& db, int64_t from_s, int64_t to_s, const std::string& group);
// One row per group and a last "total" row.
std::string season_report_csv(const nlohmann::json& report);

// "YYYY-MM" of a Unix time in the local time zone (server.time_zone).
std::string local_month(int64_t epoch_s);
// Local midnight at the start of "YYYY-MM-DD" as Unix seconds; nullopt when not such a date.
std::optional<int64_t> local_day_start(const std::string& date);
// A CSV field, quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& s);
// Milliseconds as minutes with two decimals.
double minutes_of(int64_t ms);

}  // namespace sreda::audience
