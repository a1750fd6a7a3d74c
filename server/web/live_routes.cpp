#include "server/web/live_routes.h"

#include <charconv>

#include "server/archive/disk.h"
#include "server/core/clock.h"
#include "server/package/playlist_writer.h"
#include "server/web/http_rules.h"

namespace sreda::web {
namespace {

const char* kPlaylistType = "application/vnd.apple.mpegurl";

// Errors carry the CORS header too: a player embedded on another site must see the 404 (hls.js switches
// to another level on a 4xx; without the header it sees status 0).
HttpResponse not_found(const std::string& what) {
  auto r = HttpResponse::error(404, "not_found", what);
  allow_any_origin(r);
  return r;
}
HttpResponse stopped_rendition(const std::string& name) {
  return not_found("rendition '" + name + "' was stopped (the server could not keep up); choose another");
}

// A held request whose part did not come in time: players retry a 5xx (hls.js does not retry a 4xx).
HttpResponse not_yet() {
  auto r = HttpResponse::error(503, "not_yet", "the requested part did not arrive in time; retry");
  allow_any_origin(r);
  return r;
}

HttpResponse too_many_waiting() {
  auto r = HttpResponse::refused(503, "busy", "Too many viewers are waiting for the next part right now. Please try again in a few seconds.", 2);
  allow_any_origin(r);
  return r;
}

HttpResponse bytes_response(const package::BytesPtr& bytes, const char* type) {
  HttpResponse r;
  r.content_type = type;
  r.shared_body = bytes;
  set_caching(r, Caching::immutable);
  allow_any_origin(r);
  return r;
}

// The playlist's bytes are shared (shared_body): the one rendering per part is handed to every viewer
// held for it without a copy each. `blocking`: the answer to a request with _HLS_msn, held or not (an edge
// cache keys on the query and may keep it: it lists the part asked for); else a playlist an edge may keep
// only a second (http_rules.h, Caching::shared_brief).
HttpResponse playlist_response(const std::string& text, bool blocking) {
  HttpResponse r;
  r.content_type = kPlaylistType;
  r.shared_body = std::make_shared<const std::vector<uint8_t>>(text.begin(), text.end());
  if (blocking) set_caching(r, Caching::short_lived, 6);
  else set_caching(r, Caching::shared_brief);
  allow_any_origin(r);
  return r;
}

// The master playlist once a rendition has a part; nullopt before.
std::optional<HttpResponse> master_response(const live::LiveOutput& output) {
  std::vector<package::VariantInfo> variants;
  for (const auto& name : output.rendition_names())
    if (auto p = output.rendition(name)) variants.push_back(p->variant_info());
  if (variants.empty()) return std::nullopt;
  return playlist_response(package::write_master_playlist(variants), false);
}

// Whether a rendition's playlist may be served: once it has a part; a resumed one (an event going on after a
// restart, package::ResumePoint) once a segment of its own is complete: hls.js counts only whole segments and
// reports a playlist of parts alone as empty (levelEmptyError), fatal for a player whose retries the restart
// used up. Ended: always (ENDLIST).
bool playable(const package::CmafPackager& p, const package::ReloadState& state) {
  if (state.ended) return true;
  return p.options().resumed ? state.last_complete_msn >= p.options().first_msn : state.last_part.has_value();
}

bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 15) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && out >= 0;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

bool safe_name(const std::string& s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

void LiveRoutes::handle(HttpRequest request, Reply reply) {
  // GET or HEAD, a path without dot segments: the rules (http_rules.h) answered anything else.
  auto parts = split_path(request.path);  // "live", id, …
  int64_t event_id = 0;
  if (parts.size() < 3 || !parse_int(parts[1], event_id)) return reply(not_found("no such live stream"));
  auto output = outputs_.find(event_id);
  if (!output) return reply(not_found("event " + std::to_string(event_id) + " is not live"));

  if (parts.size() == 3 && parts[2] == "master.m3u8") {
    if (count_players_) playlist_audience_.note(event_id, request.peer);
    if (auto r = master_response(*output)) return reply(std::move(*r));
    if (output->ended()) return reply(not_found("the stream has not started yet"));
    // Live, but no rendition has a part yet: held until one has (notify) or kMasterHoldMs pass (tick).
    Held h{event_id, "", Held::Kind::master, {}, 0, 0, core::steady_ms() + kMasterHoldMs, reply, request.gone};
    std::lock_guard lock(mutex_);
    if (!has_room()) return reply(too_many_waiting());
    if (auto r = try_answer(h, false)) return reply(std::move(*r));
    held_.push_back(std::move(h));
    return;
  }
  if (parts.size() == 3 && parts[2] == "poster.jpg") {
    auto jpeg = output->poster();
    if (!jpeg) return reply(not_found("no poster yet"));
    HttpResponse r;
    r.content_type = "image/jpeg";
    r.shared_body = jpeg;
    set_caching(r, Caching::short_lived, 5);
    allow_any_origin(r);
    return reply(std::move(r));
  }
  if (parts.size() != 4 || !safe_name(parts[2])) return reply(not_found("no such live stream file"));
  const std::string& rendition = parts[2];
  const std::string& file = parts[3];
  auto packager = output->rendition(rendition);
  if (file == "index.m3u8") {
    if (count_players_) playlist_audience_.note(event_id, request.peer);
    if (output->stopped(rendition)) return reply(stopped_rendition(rendition));
    package::ReloadQuery q;
    std::string msn = request.query_value("_HLS_msn"), part = request.query_value("_HLS_part"),
                skip = request.query_value("_HLS_skip");
    if (request.query.count("_HLS_msn")) q.msn = msn;
    if (request.query.count("_HLS_part")) q.part = part;
    if (request.query.count("_HLS_skip")) q.skip = skip;
    // Nothing to play yet (the rendition not made yet, or made but still empty): an event waiting for its
    // studio after a restart, whose players still reload their playlists. Never an empty playlist (hls.js:
    // levelEmptyError) nor a 404 (not retried): held like the master until there is (playable()), then 503.
    const bool waiting = packager ? !playable(*packager, packager->reload_state()) : output->may_appear(rendition);
    if (!packager && !waiting) return reply(not_found("no rendition '" + rendition + "'"));
    package::ReloadDecision decision;
    if (waiting) {
      decision = package::decide_blocking_reload({std::nullopt, std::nullopt, q.skip}, {}, 0);
      if (decision.kind == package::ReloadDecision::Kind::bad_request)
        return reply(HttpResponse::error(400, "bad_request", decision.reason));
      decision.kind = package::ReloadDecision::Kind::hold;  // for the first part (msn -1: any)
      decision.deadline_ms = core::steady_ms() + (q.msn ? kFirstPartBlockingHoldMs : kFirstPartHoldMs);
    } else {
      decision = package::decide_blocking_reload(q, packager->reload_state(), core::steady_ms());
      if (decision.kind == package::ReloadDecision::Kind::bad_request)
        return reply(HttpResponse::error(400, "bad_request", decision.reason));
    }
    Held h{event_id, rendition, Held::Kind::playlist, decision, 0, 0, decision.deadline_ms, reply, request.gone};
    if (decision.kind == package::ReloadDecision::Kind::ready) return reply(answer_now(h));
    std::lock_guard lock(mutex_);
    if (!has_room()) return reply(too_many_waiting());
    // Re-check under the lock: the part may have completed since the decision.
    if (auto r = try_answer(h, false)) return reply(std::move(*r));
    held_.push_back(std::move(h));
    return;
  }
  if (!packager) return reply(not_found("no rendition '" + rendition + "'"));
  int64_t msn = 0, index = 0;
  if (file.rfind("init", 0) == 0 && file.size() >= 8 && file.compare(file.size() - 4, 4, ".mp4") == 0) {
    int64_t id = 0;
    std::string digits = file.substr(4, file.size() - 8);
    if (!digits.empty() && !parse_int(digits, id)) return reply(not_found("no such init segment"));
    auto bytes = packager->init_segment(static_cast<int>(id));
    return reply(bytes ? bytes_response(bytes, "video/mp4") : not_found("no such init segment"));
  }
  if (file.size() > 7 && file.compare(file.size() - 4, 4, ".m4s") == 0) {
    std::string stem = file.substr(0, file.size() - 4);
    if (stem.rfind("seg", 0) == 0 && parse_int(stem.substr(3), msn)) {
      if (auto bytes = packager->segment(msn)) return reply(bytes_response(bytes, "video/iso.segment"));
      // An earlier run's segment listed after a restart (package::PackagerOptions::earlier): read from the
      // recording (the live front answers from memory; a few segments, for a window after a restart).
      if (const std::string path = packager->earlier_file(msn); !path.empty()) {
        if (auto text = archive::read_text_file(path)) {
          HttpResponse r;
          r.body = std::move(*text);
          r.content_type = "video/iso.segment";
          set_caching(r, Caching::immutable);
          allow_any_origin(r);
          return reply(std::move(r));
        }
      }
      return reply(not_found("no such segment"));
    }
    auto dot = stem.find('.');
    if (stem.rfind("part", 0) == 0 && dot != std::string::npos && parse_int(stem.substr(4, dot - 4), msn) &&
        parse_int(stem.substr(dot + 1), index)) {
      if (auto bytes = packager->part(msn, static_cast<int>(index))) return reply(bytes_response(bytes, "video/iso.segment"));
      // A stopped rung's hinted part never comes: 404 at once, so the player switches now (a 4xx is not
      // retried) instead of waiting out the hold.
      if (output->stopped(rendition)) return reply(stopped_rendition(rendition));
      // A hinted part still being produced is answered the moment it completes.
      auto state = packager->playlist_state();
      bool upcoming = state.preload_hint && !state.ended &&
                      (msn > state.preload_hint->msn ||
                       (msn == state.preload_hint->msn && index >= state.preload_hint->part)) &&
                      msn <= state.preload_hint->msn + 1;
      if (!upcoming) return reply(not_found("no such part"));
      Held h{event_id, rendition, Held::Kind::part, {}, msn, static_cast<int>(index),
             core::steady_ms() + package::blocking_timeout_ms(state.target_duration_s), reply, request.gone};
      std::lock_guard lock(mutex_);
      if (!has_room()) return reply(too_many_waiting());
      if (auto r = try_answer(h, false)) return reply(std::move(*r));
      held_.push_back(std::move(h));
      return;
    }
  }
  reply(not_found("no such live stream file"));
}

std::optional<HttpResponse> LiveRoutes::try_answer(const Held& h, bool final, Cache* cache) {
  auto output = outputs_.find(h.event_id);
  if (h.kind == Held::Kind::master) {
    if (!output) return not_found("the stream is gone");
    if (auto r = master_response(*output)) return r;
    if (final || output->ended()) return not_found("the stream has not started yet");
    return std::nullopt;
  }
  auto packager = output ? output->rendition(h.rendition) : nullptr;
  if (!packager) {
    if (h.kind == Held::Kind::playlist && output && output->may_appear(h.rendition))
      return final ? std::optional(not_yet()) : std::nullopt;
    return not_found("the stream is gone");
  }
  if (h.kind == Held::Kind::part) {
    if (auto bytes = packager->part(h.part_msn, h.part_index)) return bytes_response(bytes, "video/iso.segment");
    if (output->stopped(h.rendition)) return stopped_rendition(h.rendition);
    if (final || packager->reload_state().ended) return not_found("no such part");
    return std::nullopt;
  }
  if (output->stopped(h.rendition)) return stopped_rendition(h.rendition);
  Snapshot local;
  Snapshot* snap = &local;
  if (cache) {
    auto [it, fresh] = cache->try_emplace(h.rendition);
    if (fresh) it->second.reload = packager->reload_state();
    snap = &it->second;
  } else {
    local.reload = packager->reload_state();
  }
  const bool hold = h.decision.kind == package::ReloadDecision::Kind::hold;
  if (!playable(*packager, snap->reload)) return final ? std::optional(not_yet()) : std::nullopt;  // never empty
  const bool blocking = h.decision.msn >= 0;  // _HLS_msn given: held, or ready at once
  if (!final && hold && !snap->reload.ended && !package::is_satisfied(h.decision, snap->reload)) return std::nullopt;
  const std::string key = std::string(h.decision.skip ? "skip" : "full") + (blocking ? "/blocking" : "/now");
  if (auto it = snap->rendered.find(key); it != snap->rendered.end()) return it->second;
  package::MediaPlaylistOptions o;
  o.skip = h.decision.skip;
  auto response = playlist_response(package::write_media_playlist(packager->playlist_state(), o), blocking);
  snap->rendered[key] = response;
  return response;
}

HttpResponse LiveRoutes::answer_now(const Held& h) {
  // A non-blocking reload: viewers polling between two parts get the same rendering (one per part).
  auto output = outputs_.find(h.event_id);
  auto packager = output ? output->rendition(h.rendition) : nullptr;
  if (!packager) return *try_answer(h, true);
  const package::ReloadState state = packager->reload_state();
  const std::string key = std::to_string(h.event_id) + "/" + h.rendition + (h.decision.skip ? "/skip" : "/full") +
                          (h.decision.msn >= 0 ? "/blocking" : "/now");
  std::lock_guard lock(mutex_);
  auto& cached = now_cache_[key];
  if (cached.response && cached.msn == state.last_complete_msn && cached.last_part == state.last_part &&
      cached.ended == state.ended)
    return *cached.response;
  if (now_cache_.size() > 256) {  // events come and go: keep the cache small
    now_cache_.clear();
    return *try_answer(h, true);
  }
  cached.response = try_answer(h, true);  // rendered after `state` was taken: at least as new
  cached.msn = state.last_complete_msn;
  cached.last_part = state.last_part;
  cached.ended = state.ended;
  return *cached.response;
}

void LiveRoutes::notify(int64_t event_id) {
  std::vector<std::pair<Reply, HttpResponse>> ready;
  {
    std::lock_guard lock(mutex_);
    Cache cache;  // one state for this whole pass
    // One pass that keeps the still-held ones (erasing each answered one in place was O(held²): 8 % of
    // the server's CPU with 1000 viewers).
    std::vector<Held> still;
    still.reserve(held_.size());
    for (auto& h : held_) {
      if (h.event_id == event_id) {
        if (auto r = try_answer(h, false, &cache)) {
          ready.emplace_back(std::move(h.reply), std::move(*r));
          continue;
        }
      }
      still.push_back(std::move(h));
    }
    held_.swap(still);
  }
  for (auto& [reply, response] : ready) reply(std::move(response));
}

size_t LiveRoutes::drop_gone() {
  const size_t before = held_.size();
  std::erase_if(held_, [](const Held& h) { return h.is_gone(); });
  const size_t dropped = before - held_.size();
  cancelled_.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

bool LiveRoutes::has_room() {
  if (held_.size() < max_held_) return true;
  // Full: sweep out closed connections' requests — at most every 100 ms when the sweep finds none, so a
  // list full of live viewers does not cost a scan per request.
  const int64_t now = core::steady_ms();
  if (now - last_full_sweep_ms_ < 100) return false;
  last_full_sweep_ms_ = now;
  const size_t dropped = drop_gone();
  if (dropped == 0) return false;
  if (full_log_.first_of_burst(now))
    core::log_line(core::LogLevel::warn, "live",
                   "held playlist requests reached live.max_held_requests (" + std::to_string(max_held_) + "): dropped " +
                       std::to_string(dropped) + " of connections that had closed; the rest of this burst is counted "
                       "in sreda_live_held_cancelled_total");
  last_full_sweep_ms_ = 0;
  return held_.size() < max_held_;
}

void LiveRoutes::tick() {
  const int64_t now = core::steady_ms();
  std::vector<std::pair<Reply, Held::Kind>> expired;
  {
    std::lock_guard lock(mutex_);
    std::vector<Held> still;
    still.reserve(held_.size());
    for (auto& h : held_) {
      if (h.is_gone()) cancelled_.fetch_add(1, std::memory_order_relaxed);
      else if (h.deadline_ms <= now) expired.emplace_back(std::move(h.reply), h.kind);
      else still.push_back(std::move(h));
    }
    held_.swap(still);
  }
  // The event is live (an ended one answers at once): players retry a 503, also the master playlist of an event
  // whose studio is still coming back after a restart.
  for (auto& [reply, kind] : expired) reply(not_yet());
}

size_t LiveRoutes::held_count() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

std::string_view LiveRoutes::route_class(std::string_view path) {
  const std::string_view file = path.substr(path.rfind('/') + 1);  // npos + 1: the whole path
  auto ends = [file](std::string_view tail) {
    return file.size() >= tail.size() && file.substr(file.size() - tail.size()) == tail;
  };
  if (ends(".m4s")) {
    if (file.substr(0, 4) == "part") return "/live/part";
    if (file.substr(0, 3) == "seg") return "/live/segment";
  } else if (file == "index.m3u8") {
    return "/live/playlist";
  } else if (file == "master.m3u8") {
    return "/live/master";
  } else if (ends(".mp4") && file.substr(0, 4) == "init") {
    return "/live/init";
  } else if (file == "poster.jpg") {
    return "/live/poster";
  }
  return "/live";
}

}  // namespace sreda::web
