// GET /live/<event_id>/… : LL-HLS playlists and media from memory.
//   master.m3u8 (every rendition with media: source, ladder rungs, audio-only), poster.jpg (the latest
//   poster frame), <rendition>/index.m3u8 (blocking reload: _HLS_msn, _HLS_part, _HLS_skip),
//   <rendition>/init.mp4 | init<N>.mp4, <rendition>/seg<msn>.m4s, <rendition>/part<msn>.<i>.m4s
// Held requests (a playlist or a hinted part that does not exist yet) cost no thread: they wait in a
// bounded list and are answered by notify() when the packager completes a part, or by tick() with 503
// when their deadline passes. A media playlist is never served empty: before its rendition's first part (after a
// restart: its first complete segment, which hls.js needs; an event waiting for its studio, whose players keep
// reloading) it is held the same way. The master playlist of an event that is live but has no part yet (the first
// seconds after a studio starts) is held too, up to kMasterHoldMs, then 503 (players retry it): a player
// that asks the moment the event goes live gets the playlist instead of an error. A held request whose connection closed (HttpRequest::gone) is dropped by
// tick(), and at once when the list is full, so a connect/close loop cannot fill it.
// Threads: handle() on the front's thread only (server/web/live_front.h; a request libwebsockets carries is
// handed to that thread, and other methods than GET/HEAD are answered 405 by the rules without calling it);
// it takes the same lock as notify() (the threads packagers complete parts on) and tick() (control thread).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/live/live_outputs.h"
#include "server/package/blocking_reload.h"
#include "server/web/http.h"
#include "server/web/limits.h"
#include "server/web/playlist_audience.h"

namespace sreda::web {

class LiveRoutes : public RouteHandler {
 public:
  // `max_held`: live.max_held_requests, the held requests at most (more get 503).
  // `count_players`: reports.enabled (note who fetches the playlists for the players estimate).
  explicit LiveRoutes(live::LiveOutputs& outputs, size_t max_held = 20000, bool count_players = true)
      : outputs_(outputs), max_held_(max_held), count_players_(count_players) {}
  void handle(HttpRequest request, Reply reply) override;
  Methods methods() const override { return Methods::read_only; }
  // The route class of a /live path for /metrics (Route::classify): "/live/master", "/live/playlist",
  // "/live/part", "/live/segment", "/live/init", "/live/poster", or "/live" for anything else. By its file
  // name only (no parse of the event or rendition): a few comparisons per request.
  static std::string_view route_class(std::string_view path);
  void notify(int64_t event_id);
  void tick();
  size_t held_count() const;
  uint64_t cancelled_count() const { return cancelled_.load(std::memory_order_relaxed); }
  // Who fetched each event's live playlists (curators' reports: the players estimate).
  PlaylistAudience& playlist_audience() { return playlist_audience_; }

 private:
  struct Held {
    int64_t event_id;
    std::string rendition;
    enum class Kind { playlist, part, master } kind;  // `rendition`'s playlist or hinted part; the master
    package::ReloadDecision decision;
    int64_t part_msn = 0;
    int part_index = 0;
    int64_t deadline_ms;
    Reply reply;
    std::shared_ptr<const std::atomic<bool>> gone;  // the connection closed: drop, never answer
    bool is_gone() const { return gone && gone->load(std::memory_order_relaxed); }
  };
  static constexpr int64_t kMasterHoldMs = 8000;  // a 4 s keyframe interval and a part, with room to spare
  // A media playlist with no part yet (an event waiting for its studio after a restart) waits as long, then 503;
  // a blocking reload less: hls.js gives one up after max(3 × PART-TARGET, 0.8 × TARGETDURATION) (1.6 s for 2 s
  // segments) and counts a timeout like an error (three in a row are fatal), while a 503 before that is retried
  // after a back-off (1 s, then 2 s) in which the studio has time to come back.
  static constexpr int64_t kFirstPartHoldMs = kMasterHoldMs;
  static constexpr int64_t kFirstPartBlockingHoldMs = 1200;
  // Under mutex_: drops held requests whose connection closed; how many.
  size_t drop_gone();
  // Under mutex_: room for one more held request (dropping closed ones first when full).
  bool has_room();
  // The response for a held or fresh request when it can be answered, or nullopt to keep holding. With a
  // cache, requests answered by the same state share one rendered playlist (one render per part, not
  // one per viewer).
  struct Snapshot {
    package::ReloadState reload;                     // taken first…
    std::map<std::string, HttpResponse> rendered;    // …so every playlist rendered after it is at least as new
  };
  using Cache = std::map<std::string, Snapshot>;     // rendition → snapshot
  std::optional<HttpResponse> try_answer(const Held& h, bool final, Cache* cache = nullptr);
  HttpResponse answer_now(const Held& h);  // a reload that is ready now (no hold)
  struct NowCache {
    int64_t msn = -1;
    std::optional<package::PartPosition> last_part;
    bool ended = false;
    std::optional<HttpResponse> response;
  };

  live::LiveOutputs& outputs_;
  const size_t max_held_;
  PlaylistAudience playlist_audience_;
  bool count_players_ = true;
  mutable std::mutex mutex_;
  std::vector<Held> held_;
  std::atomic<uint64_t> cancelled_{0};
  int64_t last_full_sweep_ms_ = 0;  // under mutex_
  BurstLog full_log_;                // under mutex_: one line per burst of sweeps that made room
  std::map<std::string, NowCache> now_cache_;  // "<event>/<rendition>/<full|skip>" → last non-blocking playlist
};

}  // namespace sreda::web
