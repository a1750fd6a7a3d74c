// The audience hub's per-connection and per-event state (private to audience_hub*.cpp). Web thread only.
#pragma once

#include "server/audience/audience_hub.h"
#include "server/audience/rating_book.h"

namespace sreda::audience {

// WebSocket close codes (RFC 6455 7.4.1).
inline constexpr int kClosePolicy = 1008;

struct AudienceHub::Client {
  uint64_t conn = 0;
  std::string address;
  std::string group;     // the handshake's address_key (core::limit_key): what per-address rules count by
  bool shared = false;   // one of server.shared_addresses: per-address caps × shared_address_multiplier
  std::optional<std::string> cookie_viewer;  // the viewer id of a valid sreda_viewer cookie on the upgrade
  int64_t event_id = 0;  // 0: not joined (or waiting for its room)
  bool joined = false;
  std::string viewer_id;     // issued by the server (never the client's plain viewer_id)
  std::string fresh_token;   // set when this join got a new identity: sent in the welcome
  std::string nick;
  uint64_t cursor = 0;  // next ring frame of the room to send
  std::deque<std::shared_ptr<const std::string>> direct;
  int close_code = 0;
  std::string close_reason;
  bool woken = false;
  LimitState limit;
  int bad_frames = 0;
  Playback playback;               // what the watch page last said it plays (reports)
  int64_t playback_window_ms = 0;  // playback messages in the current 10 s window (rate bound)
  int playback_count = 0;
};

struct AudienceHub::Room {
  int64_t event_id = 0;
  bool loaded = false;
  bool exists = false;
  std::string language;
  schedule::EventState state = schedule::EventState::scheduled;
  std::vector<uint64_t> waiting;  // clients whose join waits for the load
  std::unordered_set<uint64_t> members;
  std::deque<std::shared_ptr<const std::string>> ring;
  uint64_t first_seq = 0;  // sequence number of ring.front()
  uint64_t next_seq = 0;
  std::deque<Comment> recent;  // visible, oldest first
  std::unique_ptr<RatingBook> book;
  bool rating_dirty = false, viewers_dirty = false;
  int64_t last_snapshot_ms = 0;
  int slow_mode_s = 0;
  std::unordered_map<std::string, int64_t> last_comment_ms;  // viewer id → when (slow mode)
  std::unordered_map<std::string, std::deque<int64_t>> group_comments_ms;  // address group → recent (slow mode)
  std::unordered_map<std::string, LimitState> viewer_limits, group_limits;
  BanList bans;
  int64_t idle_since_ms = 0;  // no viewer since (0: someone is there)
};

}  // namespace sreda::audience
