#include "server/package/playlist_writer.h"

#include <cstdio>

#include "server/core/clock.h"

namespace sreda::package {
namespace {

std::string fixed(double v, int decimals) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

}  // namespace

std::string init_uri(int init_id) {
  return init_id == 0 ? "init.mp4" : "init" + std::to_string(init_id) + ".mp4";
}
std::string segment_uri(int64_t msn) {
  return "seg" + std::to_string(msn) + ".m4s";
}
std::string part_uri(int64_t msn, int index) {
  return "part" + std::to_string(msn) + "." + std::to_string(index) + ".m4s";
}

double part_hold_back_s(const MediaPlaylistState& state) {
  return 3.0 * state.part_target_ms / 1000.0;
}
double can_skip_until_s(const MediaPlaylistState& state) {
  return 6.0 * state.target_duration_s;
}

std::string write_media_playlist(const MediaPlaylistState& state, const MediaPlaylistOptions& options) {
  const auto& segs = state.segments;
  std::string out;
  out.reserve(4096);
  out += "#EXTM3U\n#EXT-X-VERSION:9\n";
  out += "#EXT-X-TARGETDURATION:" + std::to_string(state.target_duration_s) + "\n";
  out += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=" + fixed(can_skip_until_s(state), 1) +
         ",PART-HOLD-BACK=" + fixed(part_hold_back_s(state), 3) +
         ",HOLD-BACK=" + fixed(3.0 * state.target_duration_s, 1) + "\n";
  out += "#EXT-X-PART-INF:PART-TARGET=" + fixed(state.part_target_ms / 1000.0, 3) + "\n";
  out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(segs.empty() ? 0 : segs.front().msn) + "\n";
  out += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(state.discontinuity_sequence) + "\n";
  out += "#EXT-X-INDEPENDENT-SEGMENTS\n";

  // Delta update (RFC 8216bis 6.2.5.1): complete segments that start more than CAN-SKIP-UNTIL before
  // the end of the playlist are replaced by one EXT-X-SKIP tag.
  size_t first = 0;
  if (options.skip && !segs.empty()) {
    double total = 0;
    for (const auto& s : segs) total += s.duration_s;
    double start = 0;
    while (first < segs.size() && segs[first].complete && total - start > can_skip_until_s(state)) {
      start += segs[first].duration_s;
      ++first;
    }
    if (first > 0) out += "#EXT-X-SKIP:SKIPPED-SEGMENTS=" + std::to_string(first) + "\n";
  }

  const size_t parts_from = segs.size() > static_cast<size_t>(options.part_segments)
                                ? segs.size() - static_cast<size_t>(options.part_segments)
                                : 0;
  std::string current_map;
  for (size_t i = first; i < segs.size(); ++i) {
    const SegmentInfo& s = segs[i];
    if (s.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    if (std::string map = s.earlier_map.empty() ? init_uri(s.init_id) : s.earlier_map; map != current_map) {
      out += "#EXT-X-MAP:URI=\"" + map + "\"\n";
      current_map = std::move(map);
    }
    out += "#EXT-X-PROGRAM-DATE-TIME:" + core::format_rfc3339_ms(s.pdt_ms) + "\n";
    if (i >= parts_from) {
      for (const PartInfo& p : s.parts) {
        out += "#EXT-X-PART:DURATION=" + fixed(p.duration_s, 5) + ",URI=\"" + part_uri(s.msn, p.index) + "\"";
        if (p.independent) out += ",INDEPENDENT=YES";
        out += "\n";
      }
    }
    if (s.complete) {
      out += "#EXTINF:" + fixed(s.duration_s, 5) + ",\n" + segment_uri(s.msn) + "\n";
    }
  }
  if (state.preload_hint && !state.ended) {
    out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" +
           part_uri(state.preload_hint->msn, state.preload_hint->part) + "\"\n";
  }
  if (state.ended) out += "#EXT-X-ENDLIST\n";
  for (const RenditionReport& r : options.rendition_reports) {
    out += "#EXT-X-RENDITION-REPORT:URI=\"" + r.uri + "\",LAST-MSN=" + std::to_string(r.last_msn);
    if (r.last_part) out += ",LAST-PART=" + std::to_string(*r.last_part);
    out += "\n";
  }
  return out;
}

RenditionReport rendition_report(const MediaPlaylistState& state, std::string uri) {
  RenditionReport r;
  r.uri = std::move(uri);
  if (state.segments.empty()) return r;
  const SegmentInfo& last = state.segments.back();
  r.last_msn = last.msn;
  if (!last.parts.empty()) r.last_part = last.parts.back().index;
  return r;
}

std::string write_master_playlist(const std::vector<VariantInfo>& variants) {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const VariantInfo& v : variants) {
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(v.bandwidth);
    if (v.average_bandwidth > 0) out += ",AVERAGE-BANDWIDTH=" + std::to_string(v.average_bandwidth);
    if (v.width > 0 && v.height > 0)
      out += ",RESOLUTION=" + std::to_string(v.width) + "x" + std::to_string(v.height);
    if (v.frame_rate > 0) out += ",FRAME-RATE=" + fixed(v.frame_rate, 3);
    out += ",CODECS=\"" + v.codecs + "\"\n" + v.uri + "\n";
  }
  return out;
}

}  // namespace sreda::package
