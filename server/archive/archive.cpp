#include "server/archive/archive.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <span>
#include <tuple>

#include "nlohmann/json.hpp"
#include "server/archive/mp4_export.h"
#include "server/archive/picture_card.h"
#include "server/archive/recovery.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/schedule/catalog.h"
#include "server/schedule/event_state.h"

namespace sreda::archive {

namespace {

core::Logger& log() {
  static core::Logger logger("archive");
  return logger;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void mark_archived(store::Db& db, int64_t event_id) {
  db.prepare("UPDATE events SET state = 'archived', updated_at = ? WHERE id = ? AND state = 'ended'")
      .bind(1, core::now_s())
      .bind(2, event_id)
      .run();
}

}  // namespace

EventPlaylist trimmed(const EventPlaylist& playlist, const Trim& trim) {
  if (!trim.start_ms && !trim.end_ms) return playlist;
  const int64_t start = trim.start_ms.value_or(0);
  const int64_t end = trim.end_ms.value_or(std::numeric_limits<int64_t>::max());
  EventPlaylist out = playlist;
  out.segments.clear();
  double at_ms = 0;
  for (const auto& seg : playlist.segments) {
    const double seg_end = at_ms + seg.duration_s * 1000;
    if (seg_end > static_cast<double>(start) && at_ms <= static_cast<double>(end)) out.segments.push_back(seg);
    at_ms = seg_end;
  }
  return out;
}

std::vector<RankedRendition> rank_renditions(const std::string& event_dir, const RecordingSummary& summary) {
  std::vector<RankedRendition> out;
  for (const auto& r : summary.renditions) {
    RankedRendition ranked{&r, {}};
    if (!r.playlist.segments.empty()) {
      const auto init = read_text_file(event_dir + "/" + r.name + "/" + package::init_uri(r.playlist.segments.front().init_id));
      if (init) ranked.media = media_of_init(std::span(reinterpret_cast<const uint8_t*>(init->data()), init->size()));
    }
    out.push_back(ranked);
  }
  auto rank = [](const RankedRendition& r) {
    return std::make_tuple(!r.media.video, r.rendition->name != "source", -r.rendition->bytes);
  };
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  return out;
}

Archive::Archive(ArchiveOptions options, store::Store& store) : options_(std::move(options)), store_(store) {}

Archive::~Archive() {
  std::map<int64_t, std::shared_ptr<Recorder>> recorders;
  {
    std::lock_guard lock(mutex_);
    recorders.swap(recorders_);
  }
  for (auto& [id, r] : recorders) r->stop();
}

std::string Archive::event_dir(int64_t event_id) const { return options_.root + "/" + std::to_string(event_id); }

void Archive::start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.root, ec);
  if (ec) log().error("cannot create the archive folder " + options_.root + ": " + ec.message());
  for (const auto& report : recover(options_.root)) {
    if (!all_digits(report.event_id)) continue;
    const int64_t id = std::stoll(report.event_id);
    store_.post([this, id, error = report.error](store::Db& db) {
      if (!upsert_row(db, id, true, error)) return;
      auto st = db.prepare("SELECT state FROM events WHERE id = ?");
      st.bind(1, id);
      const std::string state = st.step() ? st.text(0) : "";
      if (schedule::event_state(state) == schedule::EventState::ended) {
        mark_archived(db, id);
        log().info("event " + std::to_string(id) + ": repaired recording archived");
      } else if (schedule::on_air(schedule::event_state(state))) {
        log().info("event " + std::to_string(id) + " was " + state +
                   ": its repaired recording continues if the studio comes back, and is archived when it ends");
      }
    });
  }
  // Folders of events that no longer exist (deleted before deletes took their recordings along) are
  // removed: nothing may reach them, and retention would never see them.
  store_.post([this](store::Db& db) {
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(options_.root, ec))
      if (all_digits(entry.path().filename().string()) && entry.is_directory(ec))
        names.push_back(entry.path().filename().string());
    for (const auto& name : names) {
      auto st = db.prepare("SELECT 1 FROM events WHERE id = ?");
      st.bind(1, static_cast<int64_t>(std::stoll(name)));
      if (st.step()) continue;
      std::error_code rm;
      const auto n = std::filesystem::remove_all(options_.root + "/" + name, rm);
      if (rm) log().error("removing the recording of deleted event " + name + ": " + rm.message());
      else log().info("removed the recording of deleted event " + name + " (" + std::to_string(n) + " files)");
    }
  });
  store_.post([this](store::Db& db) {
    auto st = db.prepare("SELECT event_id, trim_start_ms, trim_end_ms FROM recordings");
    std::map<int64_t, Trim> trims;
    while (st.step()) {
      Trim t;
      if (!st.is_null(1)) t.start_ms = st.int64(1);
      if (!st.is_null(2)) t.end_ms = st.int64(2);
      if (t.start_ms || t.end_ms) trims[st.int64(0)] = t;
    }
    std::lock_guard lock(mutex_);
    trims_ = std::move(trims);
  });
  enforce_retention();
}

std::shared_ptr<package::PackagerSink> Archive::sink(int64_t event_id, const std::string& rendition) {
  if (!options_.renditions.empty() &&
      std::find(options_.renditions.begin(), options_.renditions.end(), rendition) == options_.renditions.end())
    return nullptr;
  std::lock_guard lock(mutex_);
  auto& recorder = recorders_[event_id];
  if (!recorder) {
    RecorderOptions o;
    o.root = options_.root;
    o.event_id = std::to_string(event_id);
    o.max_loss_ms = options_.max_loss_ms;
    o.reserve_bytes = 1 << 20;  // closing the playlists of a few hours (two copies: tmp + old) on a full disk
    recorder = std::make_shared<Recorder>(std::move(o));
    recorder->start();
  }
  return recorder;
}

void Archive::configured(int64_t event_id, const std::string& rendition, const package::VariantInfo& variant) {
  std::lock_guard lock(mutex_);
  auto it = recorders_.find(event_id);
  if (it != recorders_.end()) it->second->set_variant(rendition, variant);
}

void Archive::ended(int64_t event_id) {
  std::shared_ptr<Recorder> recorder;
  {
    std::lock_guard lock(mutex_);
    auto it = recorders_.find(event_id);
    if (it != recorders_.end()) {
      recorder = std::move(it->second);
      recorders_.erase(it);
    }
  }
  auto finish = [this, recorder, event_id](store::Db& db) {
    std::string error;
    if (recorder) {
      recorder->stop();  // the queue is written: VOD playlists
      const RecordingStats s = recorder->stats();
      if (s.state == RecordingState::failed) error = s.last_error;
      std::lock_guard lock(mutex_);
      finished_bytes_written_ += s.bytes_written;
      finished_failures_ += s.state == RecordingState::failed;
    }
    // A recording stopped by a disk error may have failed to close its playlists too: close them now.
    if (auto s = describe_recording(event_dir(event_id)); s && !s->closed) (void)recover_event(event_dir(event_id));
    if (!upsert_row(db, event_id, false, error)) return;
    mark_archived(db, event_id);
    log().info("event " + std::to_string(event_id) + " archived");
    enforce_retention();  // a new recording may take the archive over archive.max_bytes
  };
  if (!store_.post(finish)) {
    log().error("event " + std::to_string(event_id) + ": the store is full; the recording stays on disk and is "
                "archived at the next start");
    if (recorder) recorder->stop();
  }
}

std::optional<package::ResumePoint> Archive::resume_point(int64_t event_id) {
  const std::string dir = event_dir(event_id);
  auto summary = describe_recording(dir);
  if (!summary) return std::nullopt;
  // The rendition recorded furthest (all of them number their segments alike; one added late has fewer).
  const RecordingSummary::Rendition* furthest = nullptr;
  for (const auto& r : summary->renditions)
    if (!r.playlist.segments.empty() &&
        (!furthest || r.playlist.segments.back().msn > furthest->playlist.segments.back().msn))
      furthest = &r;
  if (!furthest) return std::nullopt;
  const auto& segments = furthest->playlist.segments;
  package::ResumePoint point;
  point.next_msn = segments.back().msn + 1;
  for (const auto& seg : segments) point.discontinuity_sequence += seg.discontinuity;
  for (const auto& r : summary->renditions) {
    const auto& segs = r.playlist.segments;
    if (segs.empty() || segs.back().msn != segments.back().msn) continue;  // numbered on from next_msn: no gap
    const size_t from = segs.size() - std::min(segs.size(), package::ResumePoint::kResumeTail);
    auto& tail = point.tails[r.name];
    for (size_t i = from; i < segs.size(); ++i) {
      package::SegmentInfo info;
      info.msn = segs[i].msn;
      info.duration_s = segs[i].duration_s;
      info.pdt_ms = segs[i].pdt_ms;
      info.discontinuity = segs[i].discontinuity;
      info.init_id = segs[i].init_id;
      info.earlier_file = dir + "/" + r.name + "/" + package::segment_uri(info.msn);
      std::error_code ec;  // the size for the variant's bandwidth; 0 if unreadable
      const auto size = std::filesystem::file_size(info.earlier_file, ec);
      info.bytes = ec ? 0 : static_cast<int64_t>(size);
      info.complete = true;
      tail.push_back(info);
    }
  }
  // Where the media ends: the last segment's own decode times (its file is whole after start()'s repair); failing
  // that, the sum of the durations, which falls short of the real end by the gaps before each reconnect.
  double total_s = 0;
  for (const auto& seg : segments) total_s += seg.duration_s;
  point.media_end_us = static_cast<int64_t>(total_s * 1e6);
  const std::string rdir = dir + "/" + furthest->name + "/";
  const auto init = read_text_file(rdir + package::init_uri(segments.back().init_id));
  const auto last = read_text_file(rdir + package::segment_uri(segments.back().msn));
  if (init && last) {
    const auto tracks = parse_init_tracks(std::span(reinterpret_cast<const uint8_t*>(init->data()), init->size()));
    const auto scan = scan_fragments(std::span(reinterpret_cast<const uint8_t*>(last->data()), last->size()), tracks);
    if (scan.first_decode_time && scan.timescale > 0) {
      const uint64_t end = (*scan.first_decode_time + scan.decode_duration) * 1'000'000 / scan.timescale;
      point.media_end_us = std::max(point.media_end_us, static_cast<int64_t>(end));
    }
  }
  return point;
}

bool Archive::upsert_row(store::Db& db, int64_t event_id, bool repaired, const std::string& error) {
  auto summary = describe_recording(event_dir(event_id));
  if (!summary) return false;
  nlohmann::json names = nlohmann::json::array();
  for (const auto& r : summary->renditions) names.push_back(r.name);
  const int64_t now = core::now_s();
  const std::optional<std::string> poster = make_poster(db, event_id, *summary);
  auto st = db.prepare(
        "INSERT INTO recordings (event_id, renditions, duration_ms, bytes, repaired, error, created_at, updated_at, "
        "poster) SELECT id, ?, ?, ?, ?, ?, ?, ?, ? FROM events WHERE id = ? "
        "ON CONFLICT (event_id) DO UPDATE SET renditions = excluded.renditions, duration_ms = excluded.duration_ms, "
        "bytes = excluded.bytes, repaired = MAX(repaired, excluded.repaired), "
        "error = CASE WHEN excluded.error != '' THEN excluded.error ELSE error END, updated_at = excluded.updated_at, "
        "poster = COALESCE(excluded.poster, poster)");
  st.bind(1, names.dump())
      .bind(2, static_cast<int64_t>(std::llround(summary->duration_s * 1000)))
      .bind(3, summary->bytes)
      .bind(4, repaired ? 1 : 0)
      .bind(5, error)
      .bind(6, now)
      .bind(7, now)
      .bind(9, event_id);
  if (poster) st.bind(8, *poster);
  else st.bind_null(8);
  st.run();
  return db.changes() > 0;
}

std::optional<std::string> Archive::make_poster(store::Db& db, int64_t event_id, const RecordingSummary& summary) {
  // The first picture of the segment at a tenth of the recording (past the usual empty stage at the
  // start), from the best rendition with video; with no video, the event's picture card. Made once: a
  // URL under /archive/, or nullopt.
  const std::string path = event_dir(event_id) + "/poster.jpg";
  const std::string url = "/archive/" + std::to_string(event_id) + "/poster.jpg";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return url;
  bool video = false;
  for (const auto& ranked : rank_renditions(event_dir(event_id), summary)) {
    if (!ranked.media.video) continue;
    video = true;
    const auto& r = *ranked.rendition;
    const auto& segs = r.playlist.segments;
    const auto& seg = segs[segs.size() / 10];
    const std::string dir = event_dir(event_id) + "/" + r.name + "/";
    const std::string error =
        snapshot_jpeg(dir + package::init_uri(seg.init_id), dir + package::segment_uri(seg.msn), path);
    if (error.empty()) return url;
    log().warn("event " + std::to_string(event_id) + ": no poster from " + r.name + ": " + error);
  }
  if (!write_card(db, event_id, path)) return std::nullopt;
  log().info("event " + std::to_string(event_id) + ": " + (video ? "no picture from the recording" : "no video") +
             ", its poster is a picture card");
  return url;
}

std::optional<std::string> Archive::picture_card(store::Db& db, int64_t event_id) {
  const std::string path = event_dir(event_id) + "/card.jpg";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::filesystem::create_directories(event_dir(event_id), ec);
    if (!write_card(db, event_id, path)) return std::nullopt;
  }
  return "/archive/" + std::to_string(event_id) + "/card.jpg";
}

bool Archive::write_card(store::Db& db, int64_t event_id, const std::string& path) {
  const auto event = schedule::find_event(db, event_id);
  if (!event) return false;
  const std::string error =
      make_picture_card({event->title, event->studio_name, event->category, event->starts_at}, path);
  if (!error.empty()) log().warn("event " + std::to_string(event_id) + ": no picture card: " + error);
  return error.empty();
}

std::optional<RecordingStats> Archive::recording_stats(int64_t event_id) const {
  std::lock_guard lock(mutex_);
  auto it = recorders_.find(event_id);
  if (it == recorders_.end()) return std::nullopt;
  return it->second->stats();
}

Trim Archive::trim(int64_t event_id) const {
  std::lock_guard lock(mutex_);
  auto it = trims_.find(event_id);
  return it == trims_.end() ? Trim{} : it->second;
}

bool Archive::set_trim(store::Db& db, int64_t event_id, const Trim& trim) {
  db.prepare("UPDATE recordings SET trim_start_ms = ?, trim_end_ms = ?, updated_at = ? WHERE event_id = ?")
      .bind(1, trim.start_ms)
      .bind(2, trim.end_ms)
      .bind(3, core::now_s())
      .bind(4, event_id)
      .run();
  if (db.changes() == 0) return false;
  std::lock_guard lock(mutex_);
  if (trim.start_ms || trim.end_ms) trims_[event_id] = trim;
  else trims_.erase(event_id);
  return true;
}

bool Archive::remove(store::Db& db, int64_t event_id, const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    if (recorders_.count(event_id)) return false;  // still recording
    trims_.erase(event_id);
  }
  std::error_code ec;
  const std::string dir = event_dir(event_id);
  const bool had_files = std::filesystem::exists(dir, ec);
  const auto removed = std::filesystem::remove_all(dir, ec);
  if (ec) log().error("deleting " + dir + ": " + ec.message());
  db.prepare("DELETE FROM recordings WHERE event_id = ?").bind(1, event_id).run();
  const bool had_row = db.changes() > 0;
  db.prepare("UPDATE events SET state = 'ended', updated_at = ? WHERE id = ? AND state = 'archived'")
      .bind(1, core::now_s())
      .bind(2, event_id)
      .run();
  if (!had_files && !had_row) return false;
  deletions_++;
  log().info("deleted the recording of event " + std::to_string(event_id) + " (" + why + "): " +
             std::to_string(removed) + " files");
  return true;
}

void Archive::enforce_retention() {
  if (options_.max_bytes <= 0 && options_.keep_days <= 0) return;
  store_.post([this](store::Db& db) {
    struct Row {
      int64_t id, bytes, created_at;
    };
    std::vector<Row> rows;
    int64_t total = 0;
    auto st = db.prepare("SELECT event_id, bytes, created_at FROM recordings ORDER BY created_at, event_id");
    while (st.step()) {
      rows.push_back({st.int64(0), st.int64(1), st.int64(2)});
      total += rows.back().bytes;
    }
    const int64_t now = core::now_s();
    for (const auto& row : rows) {
      const bool old = options_.keep_days > 0 && row.created_at < now - int64_t{options_.keep_days} * 86400;
      const bool over = options_.max_bytes > 0 && total > options_.max_bytes;
      if (!old && !over) continue;
      const std::string why = old ? "older than archive.keep_days = " + std::to_string(options_.keep_days)
                                  : "the archive holds " + std::to_string(total) + " bytes, more than archive.max_bytes = " +
                                        std::to_string(options_.max_bytes);
      if (remove(db, row.id, "retention: " + why)) total -= row.bytes;
    }
  });
}

int64_t Archive::recording_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<int64_t>(recorders_.size());
}

int64_t Archive::failed_count() const {
  std::lock_guard lock(mutex_);
  int64_t n = finished_failures_;
  for (const auto& [id, r] : recorders_) n += r->stats().state == RecordingState::failed;
  return n;
}

int64_t Archive::bytes_written() const {
  std::lock_guard lock(mutex_);
  int64_t n = finished_bytes_written_;
  for (const auto& [id, r] : recorders_) n += r->stats().bytes_written;
  return n;
}

}  // namespace sreda::archive
