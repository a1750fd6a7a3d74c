#include "server/archive/recording_writer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "server/archive/fragment_scan.h"
#include "server/core/clock.h"

namespace sreda::archive {

namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

}  // namespace

const char* to_string(RecordingState state) {
  switch (state) {
    case RecordingState::recording:
      return "recording";
    case RecordingState::ended:
      return "ended";
    case RecordingState::failed:
      return "failed";
  }
  return "?";
}

RecordingWriter::RecordingWriter(RecorderOptions options)
    : options_(std::move(options)),
      disk_(options_.disk ? *options_.disk : posix_disk()),
      event_dir_(options_.root + "/" + options_.event_id),
      log_("archive event=" + options_.event_id) {
  if (!valid_name(options_.event_id)) {
    state_ = RecordingState::failed;
    last_error_ = "invalid event id for a folder name: \"" + options_.event_id + "\"";
    log_.error("recording not started: " + last_error_);
  }
}

RecordingWriter::~RecordingWriter() = default;

int64_t RecordingWriter::now_ms() const { return options_.steady_ms ? options_.steady_ms() : core::steady_ms(); }

RecordingWriter::Rendition* RecordingWriter::rendition(std::string_view name) {
  if (state_ == RecordingState::failed) return nullptr;
  if (auto it = renditions_.find(name); it != renditions_.end()) return &it->second;
  if (!valid_name(name)) {
    failed("rendition name", std::string(name), std::make_error_code(std::errc::invalid_argument));
    return nullptr;
  }
  Rendition r;
  r.name = std::string(name);
  r.dir = event_dir_ + "/" + r.name;
  if (auto ec = disk_.make_directories(r.dir)) {
    failed("create folder", r.dir, ec);
    return nullptr;
  }
  if (options_.reserve_bytes > 0 && !reserve_held_) {
    UniqueFd fd;
    const std::vector<uint8_t> zeros(static_cast<size_t>(options_.reserve_bytes), 0);
    if (auto ec = disk_.open_for_write(event_dir_ + "/.reserve", false, fd); !ec) ec = disk_.write_all(fd.get(), zeros);
    reserve_held_ = true;  // even when short: whatever it holds is freed on failure
  }
  if (state_ == RecordingState::ended) state_ = RecordingState::recording;  // a late rendition
  log_.info("recording rendition " + r.name + " in " + r.dir);
  resume(r);
  return &renditions_.emplace(r.name, std::move(r)).first->second;
}

void RecordingWriter::resume(Rendition& r) {
  auto text = read_text_file(r.dir + "/index.m3u8");
  if (!text) return;
  auto playlist = parse_event_playlist(*text);
  if (!playlist || playlist->segments.empty()) return;
  r.playlist.segments = std::move(playlist->segments);
  r.resume_msn = r.playlist.segments.back().msn + 1;
  r.resumed = true;
  std::error_code ec;
  for (auto& seg : r.playlist.segments) {
    r.init_offset = std::max(r.init_offset, seg.init_id + 1);
    const auto size = std::filesystem::file_size(r.dir + "/" + package::segment_uri(seg.msn), ec);
    seg.bytes = ec ? 0 : static_cast<int64_t>(size);
    r.bytes += seg.bytes;
    if (seg.duration_s > 0)
      r.peak_bps = std::max(r.peak_bps, static_cast<int64_t>(std::llround(seg.bytes * 8 / seg.duration_s)));
  }
  log_.info("rendition " + r.name + " continues its recording after " + std::to_string(r.playlist.segments.size()) +
            " segments");
}

int64_t RecordingWriter::recorded_msn(Rendition& r, int64_t packager_msn) {
  if (r.resume_msn) {
    r.msn_offset = std::max<int64_t>(0, *r.resume_msn - packager_msn);
    r.resume_msn.reset();
  }
  return packager_msn + r.msn_offset;
}

std::string RecordingWriter::partial_path(const Rendition& r, int64_t msn) const {
  return r.dir + "/" + package::segment_uri(msn) + ".partial";
}

void RecordingWriter::drop_partial(Rendition& r) {
  if (r.partial_msn < 0) return;
  r.partial.reset();
  (void)disk_.remove(partial_path(r, r.partial_msn));
  r.partial_msn = -1;
  r.partial_bytes = 0;
  r.next_index = 0;
  r.partial_broken = false;
  r.unsynced_since_ms.reset();
}

void RecordingWriter::on_init(std::string_view name, int init_id, const package::Bytes& bytes) {
  Rendition* r = rendition(name);
  if (!r) return;
  const std::string path = r->dir + "/" + package::init_uri(init_id + r->init_offset);
  if (auto ec = write_file_atomically(disk_, path, bytes)) return failed("write", path, ec);
  bytes_written_ += static_cast<int64_t>(bytes.size());
  r->bytes += static_cast<int64_t>(bytes.size());
  r->codecs = codecs_of_init(bytes);
}

void RecordingWriter::on_part(std::string_view name, int64_t packager_msn, int index, const package::Bytes& bytes) {
  Rendition* r = rendition(name);
  if (!r) return;
  const int64_t msn = recorded_msn(*r, packager_msn);
  if (r->partial_msn != msn) {
    drop_partial(*r);  // a segment that never completed (cannot happen with the packager's order)
    r->partial_msn = msn;
    if (index != 0) {
      r->partial_broken = true;  // joined mid-segment: the whole segment is written at on_segment
      return;
    }
    const std::string path = partial_path(*r, msn);
    if (auto ec = disk_.open_for_write(path, false, r->partial)) return failed("open", path, ec);
  }
  if (r->partial_broken) return;
  if (index != r->next_index) {
    r->partial_broken = true;
    r->partial.reset();
    (void)disk_.remove(partial_path(*r, msn));
    return;
  }
  const std::string path = partial_path(*r, msn);
  if (auto ec = disk_.write_all(r->partial.get(), bytes)) return failed("append", path, ec);
  bytes_written_ += static_cast<int64_t>(bytes.size());
  r->partial_bytes += static_cast<int64_t>(bytes.size());
  ++r->next_index;
  const int64_t now = now_ms();
  if (!r->unsynced_since_ms) r->unsynced_since_ms = now;
  if (now - *r->unsynced_since_ms >= options_.max_loss_ms) {
    if (auto ec = disk_.sync(r->partial.get())) return failed("fsync", path, ec);
    ++syncs_;
    r->unsynced_since_ms.reset();
  }
}

void RecordingWriter::on_segment(std::string_view name, const package::SegmentInfo& packager_info,
                                 const package::SegmentParts& parts) {
  Rendition* r = rendition(name);
  if (!r) return;
  package::SegmentInfo info = packager_info;
  info.msn = recorded_msn(*r, info.msn);
  info.init_id += r->init_offset;
  info.discontinuity = info.discontinuity || r->resumed;
  r->resumed = false;
  const std::string path = r->dir + "/" + package::segment_uri(info.msn);
  const bool whole_partial = r->partial_msn == info.msn && !r->partial_broken && r->partial.valid() &&
                             r->partial_bytes == static_cast<int64_t>(package::total_size(parts));
  if (whole_partial) {
    const std::string partial = partial_path(*r, info.msn);
    if (auto ec = disk_.sync(r->partial.get())) return failed("fsync", partial, ec);
    ++syncs_;
    r->partial.reset();
    if (auto ec = disk_.rename(partial, path)) return failed("rename", partial, ec);
    r->partial_msn = -1;
    r->partial_bytes = 0;
    r->next_index = 0;
    r->unsynced_since_ms.reset();
  } else {
    drop_partial(*r);
    const package::Bytes bytes = package::concat(parts);  // the writer thread; only when parts were missed
    if (auto ec = write_file_atomically(disk_, path, bytes)) return failed("write", path, ec);
    bytes_written_ += static_cast<int64_t>(bytes.size());
  }
  const int64_t size = static_cast<int64_t>(package::total_size(parts));
  r->playlist.segments.push_back(
      RecordedSegment{info.msn, info.duration_s, info.pdt_ms, info.discontinuity, info.init_id, size});
  r->bytes += size;
  if (info.duration_s > 0) {
    r->peak_bps = std::max(r->peak_bps, static_cast<int64_t>(std::llround(size * 8 / info.duration_s)));
  }
  if (!write_playlist(*r)) return;
  if (r->playlist.segments.size() == 1) (void)write_master();  // lists the new rendition
}

void RecordingWriter::on_end(std::string_view name) {
  Rendition* r = rendition(name);
  if (!r) return;
  drop_partial(*r);  // the packager completed every segment before on_end
  r->playlist.ended = true;
  if (!write_playlist(*r)) return;
  if (!write_master()) return;
  const bool all = std::all_of(renditions_.begin(), renditions_.end(),
                               [](const auto& kv) { return kv.second.playlist.ended; });
  if (all) {
    state_ = RecordingState::ended;
    release_reserve();
    const auto s = stats();
    log_.info("recording ended: " + std::to_string(s.renditions.size()) + " rendition(s), " +
              std::to_string(s.segments) + " segments, " + std::to_string(s.duration_s) + " s, " +
              std::to_string(s.bytes) + " bytes");
  }
}

void RecordingWriter::set_variant(std::string_view name, const package::VariantInfo& variant) {
  if (Rendition* r = rendition(name)) r->variant = variant;
}

void RecordingWriter::fail(const std::string& reason) {
  if (state_ == RecordingState::failed) return;
  failed(reason, "", {});
}

bool RecordingWriter::write_playlist(Rendition& r) {
  const std::string path = r.dir + "/index.m3u8";
  if (auto ec = write_file_atomically(disk_, path, write_event_playlist(r.playlist))) {
    failed("write", path, ec);
    return false;
  }
  return true;
}

bool RecordingWriter::write_master() {
  std::vector<package::VariantInfo> variants;
  // A rendition that stopped early (a rung the overload policy dropped mid-event) stays on disk (it can be
  // exported) but is not offered to players: one that picks it would see the recording end there.
  double longest = 0;
  for (const auto& [name, r] : renditions_) longest = std::max(longest, playlist_duration_s(r.playlist));
  const double cut_short = longest - std::max(3.0, longest * 0.05);
  for (const auto& [name, r] : renditions_) {
    if (r.playlist.segments.empty()) continue;
    if (playlist_duration_s(r.playlist) < cut_short) continue;
    package::VariantInfo v = r.variant.value_or(package::VariantInfo{});
    v.uri = name + "/index.m3u8";
    if (v.codecs.empty()) v.codecs = r.codecs;
    const double duration = playlist_duration_s(r.playlist);
    int64_t media_bytes = 0;
    for (const auto& s : r.playlist.segments) media_bytes += s.bytes;
    v.bandwidth = std::max<int64_t>(r.peak_bps, 1);
    v.average_bandwidth = duration > 0 ? static_cast<int64_t>(std::llround(media_bytes * 8 / duration)) : 0;
    variants.push_back(std::move(v));
  }
  if (variants.empty()) return true;
  const std::string path = event_dir_ + "/master.m3u8";
  if (auto ec = write_file_atomically(disk_, path, package::write_master_playlist(variants))) {
    failed("write", path, ec);
    return false;
  }
  master_written_ = true;
  return true;
}

void RecordingWriter::failed(const std::string& what, const std::string& path, std::error_code ec) {
  if (state_ == RecordingState::failed) return;
  state_ = RecordingState::failed;
  last_error_ = what;
  if (!path.empty()) last_error_ += " " + path;
  if (ec) last_error_ += ": " + ec.message() + " (" + std::to_string(ec.value()) + ")";
  log_.error("recording stopped: " + last_error_);
  // Keep what was recorded playable: drop the segments in progress (frees space), close the playlists
  // over the complete segments. Best effort: recover() at the next start does it otherwise.
  release_reserve();
  int closed = 0;
  for (auto& [name, r] : renditions_) {
    drop_partial(r);
    if (r.playlist.ended || r.playlist.segments.empty()) continue;
    r.playlist.ended = true;
    if (!write_file_atomically(disk_, r.dir + "/index.m3u8", write_event_playlist(r.playlist))) ++closed;
  }
  if (closed > 0) {
    // write_master() must not recurse into failed(): state_ is already failed, so it only logs.
    (void)write_master();
    log_.info("closed " + std::to_string(closed) + " playlist(s) over the complete segments");
  }
}

void RecordingWriter::release_reserve() {
  if (!reserve_held_) return;
  reserve_held_ = false;
  (void)disk_.remove(event_dir_ + "/.reserve");
}

RecordingStats RecordingWriter::stats() const {
  RecordingStats s;
  s.state = state_;
  s.bytes_written = bytes_written_;
  s.syncs = syncs_;
  s.last_error = last_error_;
  for (const auto& [name, r] : renditions_) {
    RenditionStats rs{name, static_cast<int64_t>(r.playlist.segments.size()), playlist_duration_s(r.playlist),
                      r.bytes, r.playlist.ended};
    s.bytes += rs.bytes;
    s.segments += rs.segments;
    s.duration_s = std::max(s.duration_s, rs.duration_s);
    s.renditions.push_back(std::move(rs));
  }
  return s;
}

}  // namespace sreda::archive
