#include "server/archive/event_playlist.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "server/core/clock.h"
#include "server/package/playlist_writer.h"

namespace sreda::archive {

namespace {

std::string fixed5(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.5f", v);
  return buf;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "init.mp4" → 0, "init7.mp4" → 7.
std::optional<int> parse_init_uri(std::string_view uri) {
  if (!starts_with(uri, "init") || uri.size() < 8 || uri.substr(uri.size() - 4) != ".mp4") return std::nullopt;
  const std::string_view digits = uri.substr(4, uri.size() - 8);
  if (digits.empty()) return 0;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::atoi(std::string(digits).c_str());
}

// "seg12.m4s" → 12.
std::optional<int64_t> parse_segment_uri(std::string_view uri) {
  if (!starts_with(uri, "seg") || uri.size() < 8 || uri.substr(uri.size() - 4) != ".m4s") return std::nullopt;
  const std::string_view digits = uri.substr(3, uri.size() - 7);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::atoll(std::string(digits).c_str());
}

}  // namespace

std::optional<int64_t> parse_pdt_ms(std::string_view text) {
  // Whole seconds from the RFC 3339 parser, milliseconds from the fraction.
  const auto seconds = core::parse_rfc3339(text);
  if (!seconds) return std::nullopt;
  int64_t ms = 0;
  const auto dot = text.find('.');
  if (dot != std::string_view::npos) {
    int scale = 100;
    for (size_t i = dot + 1; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      ms += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  return *seconds * 1000 + ms;
}

double playlist_duration_s(const EventPlaylist& playlist) {
  double total = 0;
  for (const auto& s : playlist.segments) total += s.duration_s;
  return total;
}

std::string write_event_playlist(const EventPlaylist& playlist) {
  int target = std::max(1, playlist.min_target_duration_s);
  for (const auto& s : playlist.segments) target = std::max(target, static_cast<int>(std::lround(s.duration_s)));
  std::string out = "#EXTM3U\n#EXT-X-VERSION:7\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(target) + "\n";
  out += "#EXT-X-MEDIA-SEQUENCE:" +
         std::to_string(playlist.segments.empty() ? 0 : playlist.segments.front().msn) + "\n";
  out += std::string("#EXT-X-PLAYLIST-TYPE:") + (playlist.ended ? "VOD" : "EVENT") + "\n";
  out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  int init_id = -1;
  for (const auto& s : playlist.segments) {
    if (s.discontinuity && init_id >= 0) out += "#EXT-X-DISCONTINUITY\n";
    if (s.init_id != init_id) {
      out += "#EXT-X-MAP:URI=\"" + package::init_uri(s.init_id) + "\"\n";
      init_id = s.init_id;
    }
    out += "#EXT-X-PROGRAM-DATE-TIME:" + core::format_rfc3339_ms(s.pdt_ms) + "\n";
    out += "#EXTINF:" + fixed5(s.duration_s) + ",\n" + package::segment_uri(s.msn) + "\n";
  }
  if (playlist.ended) out += "#EXT-X-ENDLIST\n";
  return out;
}

std::optional<EventPlaylist> parse_event_playlist(std::string_view text) {
  if (!starts_with(text, "#EXTM3U")) return std::nullopt;
  EventPlaylist out;
  RecordedSegment next;
  int init_id = 0;
  bool have_extinf = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (starts_with(line, "#EXT-X-TARGETDURATION:")) {
      out.min_target_duration_s = std::atoi(std::string(line.substr(22)).c_str());
    } else if (line == "#EXT-X-ENDLIST") {
      out.ended = true;
    } else if (line == "#EXT-X-DISCONTINUITY") {
      next.discontinuity = true;
    } else if (starts_with(line, "#EXT-X-MAP:URI=\"")) {
      const std::string_view rest = line.substr(16);
      const auto id = parse_init_uri(rest.substr(0, rest.find('"')));
      if (id) init_id = *id;
    } else if (starts_with(line, "#EXT-X-PROGRAM-DATE-TIME:")) {
      next.pdt_ms = parse_pdt_ms(line.substr(25)).value_or(0);
    } else if (starts_with(line, "#EXTINF:")) {
      next.duration_s = std::strtod(std::string(line.substr(8)).c_str(), nullptr);
      have_extinf = true;
    } else if (line[0] != '#') {
      const auto msn = parse_segment_uri(line);
      if (msn && have_extinf) {
        next.msn = *msn;
        next.init_id = init_id;
        out.segments.push_back(next);
      }
      next = RecordedSegment{};
      have_extinf = false;
    }
  }
  return out;
}

}  // namespace sreda::archive
