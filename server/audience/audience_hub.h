// The audience hub: one room per event with its subscribers, a ring of frames fanned out to them, the last
// comments, the rating histogram and the viewer count. Implements the WebSocket handler of the web server.
//
// Threads: everything runs on the web thread (WsHandler calls, tick, and tasks posted with post()), except
// start() and finish() which the app calls while the web thread is not running, and viewers() (any thread,
// under its own mutex: the public programme reads the counts on the store thread). Comments and ratings reach
// SQLite through the store thread in one batched transaction per tick; a comment is acknowledged (broadcast
// with its final id, to its writer too) once that transaction has committed, so a crash (kill -9) loses no
// acknowledged comment; a graceful stop writes every pending one (finish()).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/audience/ban_list.h"
#include "server/audience/identity.h"
#include "server/audience/limiter.h"
#include "server/audience/refusal_tally.h"
#include "server/audience/report_tally.h"
#include "server/audience/storage.h"
#include "server/audience/wire.h"
#include "server/audience/ws_seam.h"
#include "server/config/config.h"
#include "server/core/metrics.h"
#include "server/schedule/event_state.h"
#include "server/store/store.h"

namespace sreda::audience {

// An event's live state and media clock as the event hub knows it; nullopt when it is not live.
struct LiveClock {
  schedule::EventState state = schedule::EventState::live;  // live | intermission
  std::optional<int64_t> media_ms;
};
using ClockSource = std::function<std::optional<LiveClock>(int64_t event_id)>;

// Curators' reports (report_tally.h): the stream's health of every event on air, from the event hub (totals
// since the event went live; the sampler keeps the differences), and the origin's estimate of players: event id
// → distinct client addresses that fetched its live playlists since the last call (the call starts a new window).
struct StreamHealth {
  int64_t event_id = 0;
  schedule::EventState state = schedule::EventState::live;
  int64_t bitrate_kbps = 0;
  int64_t reconnects = 0;
  int64_t dropped = 0;
};
struct ReportSources {
  std::function<std::vector<StreamHealth>()> health;
  std::function<std::unordered_map<int64_t, int64_t>()> players;
};

struct AudienceOptions {
  config::WsConfig ws;
  std::string public_url;
  size_t recent_comments = 50;   // in the welcome
  int64_t snapshot_interval_ms = 500;  // rating/viewers snapshots at most twice a second per event
  size_t direct_max = 64;        // frames queued for one connection only (welcome, errors)
  int bad_frames_max = 20;       // refused messages before the connection is closed
  std::string viewer_secret;     // signs viewer tokens (load_or_create_viewer_secret); empty: a random one
  // server.shared_address_multiplier: for a connection from one of server.shared_addresses (the handshake's
  // shared_address) the per-address caps (ws.max_connections_per_address, ws.max_ratings_per_address,
  // ws.comments_per_address_window) are this many times larger.
  int shared_address_multiplier = 1;
  bool reports_enabled = true;        // reports.enabled: false ignores `playback` and takes no samples
  int64_t report_sample_ms = 10'000;  // reports.sample_s: one timeline sample per event on air this often
  int64_t archive_play_ms = 60'000;   // reports.archive_play_s: archive watching that counts as a play
  int playback_per_window = 10;       // playback messages per connection per 10 s; more are refused (rate_limited)
};

class AudienceHub : public WsHandler {
 public:
  AudienceHub(AudienceOptions options, store::Store& store, core::Metrics& metrics, ClockSource clock);
  ~AudienceHub() override;

  // App, before the web thread starts (blocks on one store job): the next comment id and global bans.
  void start();
  // App, after the web thread stopped: queues every pending comment and rating (and the reports' figures) for
  // the store.
  void finish();
  // App, before the web thread starts: where the reports' samples read the stream's health and the players estimate.
  void set_report_sources(ReportSources sources) { report_sources_ = std::move(sources); }
  // Any thread: runs fn on the web thread.
  void post(std::function<void(AudienceHub&)> fn);
  // Web thread: hands the pending comments and ratings to the store now (tick() does it every tick); the shown
  // comments are broadcast (acknowledged) once the store has committed them.
  void flush();

  // -- moderation (web thread, through post) --
  void comment_hidden(int64_t event_id, int64_t comment_id);
  void comment_shown(const Comment& c);
  // A question was marked answered (stored already): every viewer hears `comment_answered`.
  void comment_answered(int64_t event_id, int64_t comment_id, int64_t at_ms);
  // Web thread: queues the comments and ratings waiting for the next tick now, so that a store job posted
  // after this call finds them (the store queue is in order). False when the store queue is full.
  bool flush_now();
  void ban_added(const Ban& b);
  void ban_removed(const Ban& b);
  void slow_mode_set(int64_t event_id, int seconds);
  void words_set(const std::string& language, std::vector<std::string> folded_words);

  // Any thread: how many viewers are in the event's room (as last broadcast to them; 0 when none).
  int64_t viewers(int64_t event_id) const;
  // Any thread: refusals by cause over the last minutes (the desk's live monitor).
  const RefusalTally& refusals() const { return refusals_; }

  // -- WsHandler (web thread) --
  void attach(WsTransport* transport) override;
  std::optional<std::string> admit(const WsHandshake& handshake) override;
  void opened(uint64_t conn, const WsHandshake& handshake) override;
  void message(uint64_t conn, std::string_view text) override;
  void refused_frame(uint64_t conn, const std::string& reason) override;
  void closed(uint64_t conn) override;
  WsOut next(uint64_t conn, WsBatch& batch) override;
  void tick(int64_t now_ms) override;

  struct Client;
  struct Room;

 private:
  void join(Client& c, const ClientMessage& m);
  void finish_join(Client& c, Room& room);
  void comment(Client& c, const ClientMessage& m);
  void rate(Client& c, const ClientMessage& m);
  void playback(Client& c, const ClientMessage& m);
  // Reports: every reports.sample_s, what was watched since the last sample (and, with `timeline`, one sample per
  // event on air) handed to the store in one batch.
  void sample_reports(int64_t now_ms, bool timeline);
  void on_room_loaded(RoomData data);
  void send(Client& c, std::string frame);
  void refuse(Client& c, const std::string& code, const std::string& message);
  void close(Client& c, int code, const std::string& reason, const std::string& metric_reason);
  void broadcast(Room& room, std::string frame);
  void wake(Client& c);
  bool banned(const Room* room, const std::string& viewer_id, const std::string& group) const;
  void note_refusal(const std::string& cause);
  // A per-address cap for this client's address group: `base`, × shared_address_multiplier for a shared address.
  int cap_for(const Client& c, int base) const;
  std::string welcome(const Client& c, const Room& room) const;

  AudienceOptions options_;
  store::Store& store_;
  core::Metrics& metrics_;
  ClockSource clock_;
  CommentLimiter limiter_;
  CommentLimiter address_limiter_;  // every viewer of one address group together
  CommentLimiter shared_address_limiter_;  // the same for a shared address (× shared_address_multiplier)
  ViewerTokens tokens_;
  RefusalTally refusals_;
  WsTransport* transport_ = nullptr;

  std::unordered_map<uint64_t, std::unique_ptr<Client>> clients_;
  std::unordered_map<int64_t, std::unique_ptr<Room>> rooms_;
  std::unordered_map<std::string, int> per_address_;  // address group → connections
  BanList global_bans_;
  std::map<std::string, std::vector<std::string>> words_;  // language → folded words (rooms keep a copy)
  int64_t next_comment_id_ = 1;
  int64_t last_tick_ms_ = 0;
  uint64_t frames_out_ = 0;
  // Waiting for the store thread.
  std::vector<Comment> pending_comments_;
  std::map<std::pair<int64_t, std::string>, Rating> pending_ratings_;
  // Curators' reports: per event, what was watched and said since the last sample (report_tally.h).
  ReportSources report_sources_;
  std::unordered_map<int64_t, EventTally> tallies_;
  std::unordered_map<int64_t, std::pair<int64_t, int64_t>> health_seen_;  // event → (reconnects, dropped) totals
  int64_t last_sample_ms_ = 0;
  // The viewer counts for other threads (the public programme): event id → viewers, none when 0.
  mutable std::mutex viewers_mutex_;
  std::unordered_map<int64_t, int64_t> viewer_counts_;
};

}  // namespace sreda::audience
