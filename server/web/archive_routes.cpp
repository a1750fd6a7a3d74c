#include "server/web/archive_routes.h"

#include <algorithm>
#include <filesystem>

#include "server/archive/disk.h"
#include "server/archive/event_playlist.h"
#include "server/web/http_rules.h"

namespace sreda::web {
namespace {

const char* kPlaylistType = "application/vnd.apple.mpegurl";

bool digits(std::string_view s, size_t min_len) {
  return s.size() >= min_len && s.size() <= 15 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool rendition_name(const std::string& s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
         });
}

// init.mp4, init<N>.mp4 → "video/mp4"; seg<N>.m4s → "video/iso.segment"; else null.
const char* media_type(std::string_view f) {
  if (f.size() >= 8 && f.substr(0, 4) == "init" && f.substr(f.size() - 4) == ".mp4" && (f.size() == 8 || digits(f.substr(4, f.size() - 8), 1)))
    return "video/mp4";
  if (f.size() > 7 && f.substr(0, 3) == "seg" && f.substr(f.size() - 4) == ".m4s" && digits(f.substr(3, f.size() - 7), 1))
    return "video/iso.segment";
  return nullptr;
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

HttpResponse not_found() { return HttpResponse::error(404, "not_found", "no such recording file"); }

HttpResponse playlist(std::string text, bool ended) {
  HttpResponse r;
  r.content_type = kPlaylistType;
  r.body = std::move(text);
  // A closed playlist changes only when a curator trims it: edges may keep it a minute.
  if (ended) set_caching(r, Caching::short_lived, 60);
  else set_caching(r, Caching::revalidate);
  allow_any_origin(r);
  return r;
}

}  // namespace

bool ArchiveRoutes::is_public(int64_t event_id, const std::string& rendition, int64_t msn) {
  const archive::Trim trim = archive_.trim(event_id);
  if (!trim.start_ms && !trim.end_ms) return true;
  const auto key = std::make_pair(event_id, rendition);
  auto it = windows_.find(key);
  if (it == windows_.end() || it->second.trim.start_ms != trim.start_ms || it->second.trim.end_ms != trim.end_ms) {
    if (windows_.size() >= 4096) windows_.clear();  // a bounded cache: recomputed on demand
    Window w{trim, 0, -1};
    auto text = archive::read_text_file(archive_.event_dir(event_id) + "/" + rendition + "/index.m3u8");
    if (auto parsed = text ? archive::parse_event_playlist(*text) : std::nullopt) {
      const auto pub = archive::trimmed(*parsed, trim);
      if (!pub.segments.empty()) w = {trim, pub.segments.front().msn, pub.segments.back().msn};
    }
    it = windows_.insert_or_assign(key, w).first;
  }
  return msn >= it->second.first && msn <= it->second.last;
}

void ArchiveRoutes::handle(HttpRequest request, Reply reply) {
  // GET or HEAD, a path without dot segments, NULs or backslashes: the rules (http_rules.h) answered the rest.
  const auto parts = split(request.path);  // "archive", id, …
  if (parts.size() < 3 || parts[0] != "archive" || !digits(parts[1], 1)) return reply(not_found());
  const std::string dir = archive_.event_dir(std::stoll(parts[1]));

  if (parts.size() == 3 && (parts[2] == "poster.jpg" || parts[2] == "card.jpg")) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(dir + "/" + parts[2], ec)) return reply(not_found());
    HttpResponse r;
    r.file_path = dir + "/" + parts[2];
    r.content_type = "image/jpeg";
    set_caching(r, Caching::short_lived, 86400);
    allow_any_origin(r);
    return reply(std::move(r));
  }
  if (parts.size() == 3 && parts[2] == "master.m3u8") {
    auto text = archive::read_text_file(dir + "/master.m3u8");
    if (!text) return reply(HttpResponse::error(404, "not_found", "no recording of this event"));
    return reply(playlist(std::move(*text), true));
  }
  if (parts.size() != 4 || !rendition_name(parts[2])) return reply(not_found());
  const std::string rdir = dir + "/" + parts[2];
  if (parts[3] == "index.m3u8") {
    auto text = archive::read_text_file(rdir + "/index.m3u8");
    auto parsed = text ? archive::parse_event_playlist(*text) : std::nullopt;
    if (!parsed) return reply(not_found());
    auto pub = archive::trimmed(*parsed, archive_.trim(std::stoll(parts[1])));
    return reply(playlist(archive::write_event_playlist(pub), pub.ended));
  }
  const char* type = media_type(parts[3]);
  std::error_code ec;
  const std::string file = rdir + "/" + parts[3];
  if (!type || !std::filesystem::is_regular_file(file, ec)) return reply(not_found());
  if (parts[3].rfind("seg", 0) == 0 &&
      !is_public(std::stoll(parts[1]), parts[2], std::stoll(parts[3].substr(3, parts[3].size() - 7))))
    return reply(HttpResponse::error(404, "not_found", "this part of the recording is not public"));
  HttpResponse r;
  r.file_path = file;
  r.content_type = type;
  set_caching(r, Caching::immutable);
  allow_any_origin(r);
  reply(std::move(r));
}

}  // namespace sreda::web
