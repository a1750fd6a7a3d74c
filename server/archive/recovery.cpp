#include "server/archive/recovery.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>

#include "server/archive/event_playlist.h"
#include "server/archive/fragment_scan.h"
#include "server/core/log.h"
#include "server/package/playlist_writer.h"

namespace sreda::archive {

namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string read_text(const fs::path& path) { return read_text_file(path.string()).value_or(""); }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int64_t size_of(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

// What a rendition folder holds besides its playlist.
struct Folder {
  std::map<int, fs::path> inits;       // init id → file
  std::map<int64_t, fs::path> segments;  // msn → seg<msn>.m4s
  std::map<int64_t, fs::path> partials;  // msn → seg<msn>.m4s.partial
  std::vector<fs::path> temps;           // *.tmp
};

Folder list_folder(const fs::path& dir) {
  Folder f;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto ends = [&](std::string_view suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends(".tmp")) {
      f.temps.push_back(entry.path());
    } else if (name.rfind("init", 0) == 0 && ends(".mp4")) {
      const std::string digits = name.substr(4, name.size() - 8);
      if (digits.empty()) f.inits[0] = entry.path();
      else if (all_digits(digits)) f.inits[std::stoi(digits)] = entry.path();
    } else if (name.rfind("seg", 0) == 0 && ends(".m4s.partial")) {
      const std::string digits = name.substr(3, name.size() - 15);
      if (all_digits(digits)) f.partials[std::stoll(digits)] = entry.path();
    } else if (name.rfind("seg", 0) == 0 && ends(".m4s")) {
      const std::string digits = name.substr(3, name.size() - 7);
      if (all_digits(digits)) f.segments[std::stoll(digits)] = entry.path();
    }
  }
  return f;
}

struct RenditionResult {
  EventPlaylist playlist;
  int64_t bytes = 0;
};

class EventRepair {
 public:
  EventRepair(Disk& disk, RecoveryReport& report) : disk_(disk), report_(report) {}

  // Returns nullopt when the rendition folder is not a recording.
  std::optional<RenditionResult> rendition(const fs::path& dir, bool& changed);

 private:
  void note(const std::string& rendition, const std::string& what) {
    report_.repairs.push_back(rendition + ": " + what);
  }
  bool append_segment(const std::string& name, const fs::path& dir, const Folder& folder, EventPlaylist& playlist,
                      int64_t msn, const fs::path& file, bool partial);

  Disk& disk_;
  RecoveryReport& report_;
};

std::optional<RenditionResult> EventRepair::rendition(const fs::path& dir, bool& changed) {
  const std::string name = dir.filename().string();
  const fs::path index = dir / "index.m3u8";
  std::error_code ec;
  const bool has_index = fs::exists(index, ec);
  Folder folder = list_folder(dir);
  if (!has_index && folder.inits.empty() && folder.partials.empty() && folder.segments.empty()) {
    return std::nullopt;
  }
  RenditionResult result;
  if (has_index) {
    auto parsed = parse_event_playlist(read_text(index));
    if (parsed) result.playlist = std::move(*parsed);
  }
  if (!result.playlist.ended) {
    changed = true;
    for (const auto& t : folder.temps) {
      (void)disk_.remove(t.string());
      note(name, "removed torn " + t.filename().string());
    }
    const int64_t last = result.playlist.segments.empty() ? -1 : result.playlist.segments.back().msn;
    // Whole segments renamed after the playlist was last written, then the partial (the newest).
    std::map<int64_t, std::pair<fs::path, bool>> pending;
    for (const auto& [msn, path] : folder.segments)
      if (msn > last) pending[msn] = {path, false};
    for (const auto& [msn, path] : folder.partials) {
      if (msn > last && !pending.count(msn)) {
        pending[msn] = {path, true};
      } else {
        (void)disk_.remove(path.string());
        note(name, "removed stale " + path.filename().string());
      }
    }
    for (const auto& [msn, entry] : pending) {
      if (!append_segment(name, dir, folder, result.playlist, msn, entry.first, entry.second)) break;
    }
    result.playlist.ended = true;
    if (auto werr = write_file_atomically(disk_, index.string(), write_event_playlist(result.playlist))) {
      if (report_.error.empty()) report_.error = "write " + index.string() + ": " + werr.message();
    } else {
      note(name, "closed playlist (" + std::to_string(result.playlist.segments.size()) + " segments)");
    }
  } else {
    for (const auto& t : folder.temps) (void)disk_.remove(t.string());
    for (const auto& [msn, path] : folder.partials) (void)disk_.remove(path.string());
  }
  for (const auto& [id, path] : folder.inits) result.bytes += size_of(path);
  for (const auto& s : result.playlist.segments) result.bytes += size_of(dir / package::segment_uri(s.msn));
  return result;
}

bool EventRepair::append_segment(const std::string& name, const fs::path& dir, const Folder& folder,
                                 EventPlaylist& playlist, int64_t msn, const fs::path& file, bool partial) {
  // The init in force: the newest one written (the packager writes it before the parts that use it).
  if (folder.inits.empty()) {
    (void)disk_.remove(file.string());
    note(name, "removed " + file.filename().string() + " (no init segment)");
    return false;
  }
  const auto& [init_id, init_path] = *folder.inits.rbegin();
  const auto tracks = parse_init_tracks(read_bytes(init_path));
  const auto bytes = read_bytes(file);
  const FragmentScan scan = scan_fragments(bytes, tracks);
  if (scan.fragments == 0 || scan.duration_s <= 0) {
    (void)disk_.remove(file.string());
    note(name, "removed " + file.filename().string() + " (no complete fragment, " + std::to_string(bytes.size()) +
                   " bytes)");
    return false;
  }
  const fs::path final_path = dir / package::segment_uri(msn);
  if (partial) {
    const int64_t cut = static_cast<int64_t>(bytes.size()) - scan.complete_bytes;
    if (cut > 0) {
      if (auto ec = disk_.truncate(file.string(), scan.complete_bytes)) {
        report_.error = "truncate " + file.string() + ": " + ec.message();
        return false;
      }
    }
    UniqueFd fd;
    if (!disk_.open_for_write(file.string(), true, fd)) (void)disk_.sync(fd.get());
    if (auto ec = disk_.rename(file.string(), final_path.string())) {
      report_.error = "rename " + file.string() + ": " + ec.message();
      return false;
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "kept %d complete fragment(s) of %s as %s (%.3f s), cut %lld torn bytes",
                  scan.fragments, file.filename().c_str(), final_path.filename().c_str(), scan.duration_s,
                  static_cast<long long>(cut));
    note(name, buf);
  } else {
    note(name, "listed " + final_path.filename().string() + " (complete, missing from the playlist)");
  }
  RecordedSegment seg;
  seg.msn = msn;
  seg.duration_s = scan.duration_s;
  seg.init_id = init_id;
  seg.bytes = scan.complete_bytes;
  if (!playlist.segments.empty()) {
    const RecordedSegment& prev = playlist.segments.back();
    const auto prev_scan = scan_fragments(read_bytes(dir / package::segment_uri(prev.msn)), tracks);
    seg.pdt_ms = prev.pdt_ms + std::llround(prev.duration_s * 1000);
    bool gap = false;
    if (prev_scan.first_decode_time && scan.first_decode_time && scan.timescale > 0) {
      const double since_prev =
          static_cast<double>(*scan.first_decode_time) - static_cast<double>(*prev_scan.first_decode_time);
      seg.pdt_ms = prev.pdt_ms + std::llround(since_prev * 1000 / scan.timescale);
      const double prev_end = static_cast<double>(*prev_scan.first_decode_time + prev_scan.decode_duration);
      gap = std::abs(static_cast<double>(*scan.first_decode_time) - prev_end) > 0.1 * scan.timescale;
    }
    seg.discontinuity = gap || prev.init_id != init_id;
  } else {
    struct stat st {};
    const fs::path& stat_path = partial ? final_path : file;
    seg.pdt_ms = ::stat(stat_path.c_str(), &st) == 0
                     ? static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 - std::llround(scan.duration_s * 1000)
                     : 0;
  }
  playlist.segments.push_back(seg);
  return true;
}

bool master_lists(const std::string& master, const std::vector<std::string>& renditions) {
  for (const auto& r : renditions)
    if (master.find("\n" + r + "/index.m3u8") == std::string::npos) return false;
  return !master.empty();
}

}  // namespace

std::optional<RecordingSummary> describe_recording(const std::string& event_dir) {
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(event_dir, ec))
    if (entry.is_directory(ec)) dirs.push_back(entry.path());
  if (ec) return std::nullopt;
  std::sort(dirs.begin(), dirs.end());
  RecordingSummary summary;
  for (const auto& dir : dirs) {
    auto playlist = parse_event_playlist(read_text(dir / "index.m3u8"));
    if (!playlist || playlist->segments.empty()) continue;
    RecordingSummary::Rendition r{dir.filename().string(), std::move(*playlist), 0};
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("init", 0) == 0 || name.rfind("seg", 0) == 0) r.bytes += size_of(entry.path());
    }
    summary.closed = summary.closed && r.playlist.ended;
    summary.duration_s = std::max(summary.duration_s, playlist_duration_s(r.playlist));
    summary.bytes += r.bytes;
    summary.renditions.push_back(std::move(r));
  }
  if (summary.renditions.empty()) return std::nullopt;
  return summary;
}

std::vector<RecoveryReport> recover(const std::string& root, Disk* disk_in) {
  std::vector<RecoveryReport> reports;
  std::error_code ec;
  std::vector<fs::path> events;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory(ec)) events.push_back(entry.path());
  std::sort(events.begin(), events.end());
  for (const auto& event_dir : events)
    if (auto report = recover_event(event_dir.string(), disk_in)) reports.push_back(std::move(*report));
  return reports;
}

std::optional<RecoveryReport> recover_event(const std::string& event_dir_text, Disk* disk_in) {
  Disk& disk = disk_in ? *disk_in : posix_disk();
  const core::Logger log("archive recover");
  std::error_code ec;
  const fs::path event_dir(event_dir_text);
  {
    RecoveryReport report;
    report.event_id = event_dir.filename().string();
    try {
      std::vector<fs::path> dirs;
      for (const auto& entry : fs::directory_iterator(event_dir, ec))
        if (entry.is_directory(ec)) dirs.push_back(entry.path());
      std::sort(dirs.begin(), dirs.end());
      (void)disk.remove((event_dir / ".reserve").string());  // room to close the playlists on a full disk
      EventRepair repair(disk, report);
      bool changed = false;
      std::vector<std::pair<std::string, RenditionResult>> results;
      for (const auto& dir : dirs) {
        auto r = repair.rendition(dir, changed);
        if (r) results.emplace_back(dir.filename().string(), std::move(*r));
      }
      std::vector<package::VariantInfo> variants;
      for (const auto& [name, r] : results) {
        report.bytes += r.bytes;
        const double duration = playlist_duration_s(r.playlist);
        report.duration_s = std::max(report.duration_s, duration);
        if (r.playlist.segments.empty()) continue;
        report.renditions.push_back(name);
        package::VariantInfo v;
        v.uri = name + "/index.m3u8";
        const int init_id = r.playlist.segments.back().init_id;
        v.codecs = codecs_of_init(read_bytes(event_dir / name / package::init_uri(init_id)));
        int64_t media = 0;
        for (const auto& s : r.playlist.segments) {
          const int64_t size = size_of(event_dir / name / package::segment_uri(s.msn));
          media += size;
          if (s.duration_s > 0) v.bandwidth = std::max<int64_t>(v.bandwidth, std::llround(size * 8 / s.duration_s));
        }
        v.average_bandwidth = duration > 0 ? std::llround(media * 8 / duration) : 0;
        v.bandwidth = std::max<int64_t>(v.bandwidth, 1);
        variants.push_back(v);
      }
      const fs::path master = event_dir / "master.m3u8";
      if (!variants.empty() && (changed || !fs::exists(master, ec)) &&
          !master_lists(read_text(master), report.renditions)) {
        if (auto werr = write_file_atomically(disk, master.string(), package::write_master_playlist(variants))) {
          if (report.error.empty()) report.error = "write " + master.string() + ": " + werr.message();
        } else {
          report.repairs.push_back("wrote master.m3u8 (" + std::to_string(variants.size()) + " renditions)");
        }
      }
      if (!changed && report.repairs.empty()) return std::nullopt;
    } catch (const std::exception& e) {
      report.error = std::string("unexpected error: ") + e.what();
    }
    std::string summary = "event " + report.event_id + ": " + std::to_string(report.renditions.size()) +
                          " rendition(s), " + std::to_string(report.duration_s) + " s, " +
                          std::to_string(report.bytes) + " bytes";
    for (const auto& r : report.repairs) summary += "; " + r;
    if (report.error.empty()) {
      log.info("repaired " + summary);
    } else {
      log.error("could not fully repair " + summary + ": " + report.error);
    }
    return report;
  }
}

}  // namespace sreda::archive
