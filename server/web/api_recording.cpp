// The curator's recording routes: GET/DELETE /api/events/{id}/recording, GET …/recording.mp4?rendition=
// (default: the best video rendition; an audio-only rendition comes as an .m4a),
// POST …/recording/trim {start_ms, end_ms}; and the recording fields of the public event JSON.
// Store thread (Api's jobs); the MP4 export runs on the exporter's thread and replies from there.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "server/archive/mp4_export.h"
#include "server/archive/recovery.h"
#include "server/core/log.h"
#include "server/web/api.h"
#include "server/web/http_rules.h"

namespace sreda::web {
namespace {

using nlohmann::json;

struct RecordingRow {
  json renditions = json::array();
  int64_t duration_ms = 0;
  int64_t bytes = 0;
  bool repaired = false;
  std::string error;
  std::optional<std::string> poster;
};

std::optional<RecordingRow> find_row(store::Db& db, int64_t event_id) {
  auto st = db.prepare("SELECT renditions, duration_ms, bytes, repaired, error, poster FROM recordings WHERE event_id = ?");
  st.bind(1, event_id);
  if (!st.step()) return std::nullopt;
  RecordingRow r;
  r.renditions = json::parse(st.text(0), nullptr, false);
  r.duration_ms = st.int64(1);
  r.bytes = st.int64(2);
  r.repaired = st.int64(3) != 0;
  r.error = st.text(4);
  if (!st.is_null(5)) r.poster = st.text(5);
  return r;
}

json trim_json(const archive::Trim& t) {
  return {{"start_ms", t.start_ms ? json(*t.start_ms) : json(nullptr)},
          {"end_ms", t.end_ms ? json(*t.end_ms) : json(nullptr)}};
}

// The longest rendition's duration as the public sees it (trim applied), seconds.
double public_duration_s(const archive::RecordingSummary& s, const archive::Trim& trim) {
  double d = 0;
  for (const auto& r : s.renditions) d = std::max(d, archive::playlist_duration_s(archive::trimmed(r.playlist, trim)));
  return d;
}

HttpResponse no_recording(int64_t id) {
  return HttpResponse::error(404, "not_found", "event " + std::to_string(id) + " has no recording");
}

HttpResponse no_archive() { return HttpResponse::error(503, "unavailable", "the archive is not available"); }

}  // namespace

HttpResponse Api::get_recording(Call& c) {
  if (!archive_) return no_archive();
  const int64_t id = c.ids[0];
  const auto row = find_row(c.db, id);
  const auto live = archive_->recording_stats(id);
  const auto summary = archive::describe_recording(archive_->event_dir(id));
  if (!row && !live) return no_recording(id);
  const archive::Trim trim = archive_->trim(id);
  json renditions = json::array();
  if (summary) {
    for (const auto& r : summary->renditions)
      renditions.push_back({{"name", r.name},
                            {"segments", r.playlist.segments.size()},
                            {"duration_s", archive::playlist_duration_s(r.playlist)},
                            {"bytes", r.bytes},
                            {"playlist", "/archive/" + std::to_string(id) + "/" + r.name + "/index.m3u8"}});
  }
  std::string state = "archived";
  std::string error = row ? row->error : "";
  if (live) {
    state = archive::to_string(live->state);
    if (live->state == archive::RecordingState::ended) state = "recording";  // the row follows at once
    if (!live->last_error.empty()) error = live->last_error;
  } else if (!error.empty()) {
    state = "failed";
  }
  json out = {{"event_id", id},
              {"state", state},
              {"renditions", renditions},
              {"duration_s", summary ? summary->duration_s : 0.0},
              {"public_duration_s", summary ? public_duration_s(*summary, trim) : 0.0},
              {"bytes", summary ? summary->bytes : 0},
              {"repaired", row && row->repaired},
              {"error", error.empty() ? json(nullptr) : json(error)},
              {"trim", trim_json(trim)},
              {"poster", row && row->poster ? json(*row->poster) : json(nullptr)},
              {"master", "/archive/" + std::to_string(id) + "/master.m3u8"}};
  return HttpResponse::json(200, out);
}

HttpResponse Api::delete_recording(Call& c) {
  if (!archive_) return no_archive();
  const int64_t id = c.ids[0];
  if (archive_->recording_stats(id))
    return HttpResponse::error(409, "conflict", "the event is being recorded; end it first");
  if (!archive_->remove(c.db, id, "deleted by " + c.who->username)) return no_recording(id);
  return HttpResponse::json(200, {{"deleted", id}});
}

HttpResponse Api::trim_recording(Call& c) {
  if (!archive_) return no_archive();
  const int64_t id = c.ids[0];
  std::vector<std::pair<std::string, std::string>> errors;
  archive::Trim trim;
  for (auto it = c.body.begin(); it != c.body.end(); ++it)
    if (it.key() != "start_ms" && it.key() != "end_ms") errors.emplace_back(it.key(), "unknown field '" + it.key() + "'");
  for (const char* key : {"start_ms", "end_ms"}) {
    if (!c.body.contains(key) || c.body[key].is_null()) continue;
    if (!c.body[key].is_number_integer() || c.body[key].get<int64_t>() < 0) {
      errors.emplace_back(key, std::string(key) + " must be a whole number of milliseconds, 0 or more, or null");
      continue;
    }
    (std::string(key) == "start_ms" ? trim.start_ms : trim.end_ms) = c.body[key].get<int64_t>();
  }
  if (errors.empty() && trim.start_ms && trim.end_ms && *trim.end_ms <= *trim.start_ms)
    errors.emplace_back("end_ms", "end_ms must be after start_ms");
  if (!errors.empty()) return field_errors(422, "invalid", errors);
  const auto summary = archive::describe_recording(archive_->event_dir(id));
  if (!summary || !find_row(c.db, id)) return no_recording(id);
  if (public_duration_s(*summary, trim) <= 0)
    return HttpResponse::error(422, "invalid", "nothing of the recording would be left", "start_ms");
  if (!archive_->set_trim(c.db, id, trim)) return no_recording(id);
  core::Logger("archive").info(c.who->username + " trimmed the recording of event " + std::to_string(id) + " to " +
                               trim_json(trim).dump());
  return get_recording(c);
}

HttpResponse Api::export_recording(Call& c) {
  if (!archive_ || !exporter_) return no_archive();
  namespace fs = std::filesystem;
  const int64_t id = c.ids[0];
  if (archive_->recording_stats(id))
    return HttpResponse::error(409, "conflict", "the event is being recorded; the MP4 is available when it ends");
  const auto summary = archive::describe_recording(archive_->event_dir(id));
  if (!summary) return no_recording(id);
  // The default: `source` when it has video, else the best video rendition, else the audio (rank_renditions).
  const auto ranked = archive::rank_renditions(archive_->event_dir(id), *summary);
  std::string name = c.request.query_value("rendition");
  if (name.empty()) name = ranked.front().rendition->name;
  auto r = std::find_if(ranked.begin(), ranked.end(), [&](const auto& x) { return x.rendition->name == name; });
  if (r == ranked.end())
    return HttpResponse::error(404, "not_found", "the recording has no rendition '" + name + "'", "rendition");
  if (!r->media.video && !r->media.audio)
    return HttpResponse::error(500, "export_failed", "the rendition '" + name + "' has no readable init segment");
  const auto pub = archive::trimmed(r->rendition->playlist, archive_->trim(id));
  if (pub.segments.empty()) return no_recording(id);
  // One init segment per file: a studio that came back with other settings (another picture size, profile or
  // sample rate) split the recording at each codec change into parts; ?part=N (from 1) exports part N, and
  // every answer says which part of how many it is and which stretch of the recording it covers.
  std::vector<std::pair<size_t, size_t>> parts;  // [first, end) segment indexes
  for (size_t i = 0; i < pub.segments.size(); ++i) {
    if (i == 0 || pub.segments[i].init_id != pub.segments[i - 1].init_id) parts.emplace_back(i, i);
    parts.back().second = i + 1;
  }
  int part = 1;
  if (const std::string text = c.request.query_value("part"); !text.empty()) {
    try {
      size_t used = 0;
      part = std::stoi(text, &used);
      if (used != text.size()) part = 0;
    } catch (const std::exception&) {
      part = 0;
    }
    if (part < 1 || part > static_cast<int>(parts.size()))
      return HttpResponse::error(404, "not_found",
                                 "the recording has " + std::to_string(parts.size()) + " part(s); ask for part 1 to " +
                                     std::to_string(parts.size()),
                                 "part");
  }
  double starts_s = 0, total_s = 0;
  for (size_t i = 0; i < pub.segments.size(); ++i) {
    if (i < parts[part - 1].first) starts_s += pub.segments[i].duration_s;
    total_s += pub.segments[i].duration_s;
  }
  const std::string dir = archive_->event_dir(id) + "/" + name;
  archive::ExportJob job;
  job.video = r->media.video;
  job.audio = r->media.audio;
  const auto [first, end] = parts[part - 1];
  job.files = {dir + "/" + package::init_uri(pub.segments[first].init_id)};
  for (size_t i = first; i < end; ++i) {
    job.files.push_back(dir + "/" + package::segment_uri(pub.segments[i].msn));
    job.media_s += pub.segments[i].duration_s;
  }
  const int64_t last = pub.segments[end - 1].msn;
  const int part_count = static_cast<int>(parts.size());
  auto fixed1 = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return std::string(b);
  };
  const std::string covers = fixed1(starts_s) + "-" + fixed1(starts_s + job.media_s) + " of " + fixed1(total_s);
  // Video: an MP4; audio only: an M4A (the same container, the audio brand's name and type).
  const std::string ext = job.video ? ".mp4" : ".m4a";
  const std::string type = job.video ? "video/mp4" : "audio/mp4";
  const std::string exports = archive_->event_dir(id) + "/exports";
  const std::string prefix = name + "-";  // + first-last segment numbers: one file per part and trim
  job.out_path = exports + "/" + prefix + std::to_string(pub.segments[first].msn) + "-" + std::to_string(last) + ext;
  const std::string file_name = "event-" + std::to_string(id) + "-" + name +
                                (part_count > 1 ? "-part" + std::to_string(part) + "-of-" + std::to_string(part_count) : "") + ext;
  auto respond = [name, out = job.out_path, ext, type, file_name, part, part_count, covers](const std::string& error) {
    if (!error.empty()) {
      const bool busy = error.find("busy") != std::string::npos;
      auto resp = HttpResponse::error(busy ? 503 : 500, busy ? "busy" : "export_failed",
                                      "the " + std::string(ext == ".m4a" ? "M4A" : "MP4") + " could not be made: " + error);
      if (busy) resp.headers.emplace_back("retry-after", "60");
      return resp;
    }
    HttpResponse resp;
    resp.file_path = out;
    resp.content_type = type;
    set_caching(resp, Caching::private_revalidate);
    resp.headers.insert(resp.headers.end(),
                   {{"content-disposition", "attachment; filename=\"" + file_name + "\""},
                    {"x-recording-part", std::to_string(part) + " of " + std::to_string(part_count)},
                         {"x-recording-covers-s", covers}});
    return resp;
  };
  std::error_code ec;
  if (fs::is_regular_file(job.out_path, ec)) return respond("");
  fs::create_directories(exports, ec);
  for (const auto& entry : fs::directory_iterator(exports, ec))  // an older trim's export of this rendition
    if (entry.path().filename().string().rfind(prefix, 0) == 0) fs::remove(entry.path(), ec);
  exporter_->export_mp4(std::move(job), [reply = c.reply, respond](const std::string& error) { reply(respond(error)); });
  return deferred();
}

void add_picture_card(store::Db& db, archive::Archive* archive, json& event) {
  if (!archive || !event.contains("id") || !event.value("poster", json(nullptr)).is_null()) return;
  if (auto card = archive->picture_card(db, event["id"].get<int64_t>())) event["poster"] = *card;
}

void add_recording_fields(store::Db& db, archive::Archive* archive, json& event) {
  if (!archive || !event.contains("id")) return;
  const int64_t id = event["id"].get<int64_t>();
  const auto row = find_row(db, id);
  if (!row) return;
  double duration = static_cast<double>(row->duration_ms) / 1000.0;
  const archive::Trim trim = archive->trim(id);
  if (trim.start_ms || trim.end_ms) {
    if (auto s = archive::describe_recording(archive->event_dir(id))) duration = public_duration_s(*s, trim);
  }
  event["recording"] = {{"duration_s", std::round(duration * 1000) / 1000},
                        {"poster", row->poster ? json(*row->poster) : json(nullptr)},
                        {"master", "/archive/" + std::to_string(id) + "/master.m3u8"}};
  event["duration_s"] = event["recording"]["duration_s"];
  event["poster"] = event["recording"]["poster"];
}

}  // namespace sreda::web
