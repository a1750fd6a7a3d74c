#include "server/audience/audience_hub.h"

#include <algorithm>
#include <future>

#include "server/audience/audience_room.h"
#include "server/core/client_address.h"
#include "server/core/clock.h"
#include "server/core/log.h"

namespace sreda::audience {
namespace {

using nlohmann::json;

core::Logger& log() {
  static core::Logger logger("audience");
  return logger;
}

// A room with nobody in it is dropped after this long (unless live); the database has everything it
// holds, and the next join loads it again (after the pending batch: the store queue is in order).
constexpr int64_t kIdleRoomMs = 60'000;
}  // namespace

AudienceHub::AudienceHub(AudienceOptions options, store::Store& store, core::Metrics& metrics, ClockSource clock)
    : options_(std::move(options)), store_(store), metrics_(metrics), clock_(std::move(clock)),
      limiter_(options_.ws.comments_per_window, int64_t{options_.ws.comment_window_s} * 1000,
               int64_t{options_.ws.mute_s} * 1000),
      address_limiter_(options_.ws.comments_per_address_window, int64_t{options_.ws.comment_window_s} * 1000,
                       int64_t{options_.ws.mute_s} * 1000),
      shared_address_limiter_(options_.ws.comments_per_address_window * std::max(1, options_.shared_address_multiplier),
                              int64_t{options_.ws.comment_window_s} * 1000, int64_t{options_.ws.mute_s} * 1000),
      tokens_(options_.viewer_secret) {
  metrics_.describe("sreda_ws_connections_total", "counter", "audience WebSocket connections opened");
  metrics_.describe("sreda_ws_messages_in_total", "counter", "audience messages received, by type");
  // Per frame written: a plain counter read at scrape time (on the web thread), not a labelled series.
  metrics_.gauge("sreda_ws_messages_out_total", "audience frames written to viewers",
                 [this] { return static_cast<double>(frames_out_); });
  metrics_.describe("sreda_ws_refused_total", "counter", "audience handshakes, messages and connections refused, by reason");
  metrics_.describe("sreda_ws_culled_total", "counter", "viewers dropped because they fell too far behind");
  metrics_.describe("sreda_audience_comments_total", "counter", "comments accepted, by outcome (shown or held)");
  metrics_.gauge("sreda_ws_connections", "audience WebSocket connections open",
                 [this] { return static_cast<double>(clients_.size()); });  // scraped on the web thread
  metrics_.describe("sreda_audience_store_retries_total", "counter", "comment batches kept for the next tick: store queue full");
  metrics_.describe("sreda_reports_batches_dropped_total", "counter",
                    "curators' report samples lost because the store queue was full");
  metrics_.describe("sreda_audience_ratings_uncounted_total", "counter",
                    "ratings kept out of the public rating: beyond ws.max_ratings_per_address from one address");
}

AudienceHub::~AudienceHub() = default;

void AudienceHub::start() {
  std::promise<void> done;
  const bool queued = store_.post([this, &done](store::Db& db) {
    next_comment_id_ = max_comment_id(db) + 1;
    for (const auto& b : global_bans(db)) global_bans_.add(b);
    words_ = word_lists(db);
    done.set_value();
  });
  if (queued) done.get_future().wait();
}

void AudienceHub::finish() {
  sample_reports(core::now_ms(), false);
  flush();
  if (!pending_comments_.empty() || !pending_ratings_.empty())
    log().error("could not queue " + std::to_string(pending_comments_.size()) + " comment(s) and " +
                std::to_string(pending_ratings_.size()) + " rating(s) at stop: the store queue is full");
}

void AudienceHub::post(std::function<void(AudienceHub&)> fn) {
  if (!transport_) return;
  transport_->run_on_web_thread([this, fn = std::move(fn)] { fn(*this); });
}

void AudienceHub::attach(WsTransport* transport) { transport_ = transport; }

// ---- connections ----

std::optional<std::string> AudienceHub::admit(const WsHandshake& h) {
  if (!origin_allowed(h.origin, h.host, options_.ws.allowed_origins, options_.public_url)) {
    metrics_.add("sreda_ws_refused_total", {{"reason", "origin"}});
    note_refusal("origin");
    log().info("refused a WebSocket from " + h.peer + ": origin " + h.origin.substr(0, 100) + " is not allowed");
    return "origin";
  }
  return std::nullopt;
}

void AudienceHub::opened(uint64_t conn, const WsHandshake& h) {
  auto c = std::make_unique<Client>();
  c->conn = conn;
  c->address = h.peer;
  // One address rule for the whole server: the web server's limit key (IPv6 by /64), and its shared-address flag.
  c->group = h.address_key.empty() ? core::limit_key(h.peer) : h.address_key;
  c->shared = h.shared_address;
  if (std::string token = viewer_cookie(h.cookie); !token.empty()) c->cookie_viewer = tokens_.verify(token);
  Client& client = *c;
  clients_[conn] = std::move(c);
  metrics_.add("sreda_ws_connections_total", {});
  const int max_connections = cap_for(client, options_.ws.max_connections_per_address);
  if (++per_address_[client.group] > max_connections) {
    refuse(client, "too_many_connections",
           "too many connections from your address (at most " + std::to_string(max_connections) + ")");
    close(client, kClosePolicy, "too many connections from this address", "");
  }
}

void AudienceHub::closed(uint64_t conn) {
  auto it = clients_.find(conn);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (auto a = per_address_.find(c.group); a != per_address_.end() && --a->second <= 0) per_address_.erase(a);
  if (c.joined && c.playback.playing) {
    auto t = tallies_.try_emplace(c.event_id, options_.archive_play_ms).first;
    t->second.stop(c.playback, core::now_ms());
  }
  if (c.event_id) {
    if (auto r = rooms_.find(c.event_id); r != rooms_.end()) {
      Room& room = *r->second;
      if (room.members.erase(conn)) room.viewers_dirty = true;
      std::erase(room.waiting, conn);
    }
  }
  clients_.erase(it);
}

void AudienceHub::refused_frame(uint64_t conn, const std::string& reason) {
  metrics_.add("sreda_ws_refused_total", {{"reason", reason}});
  note_refusal(reason);
  (void)conn;
}

void AudienceHub::message(uint64_t conn, std::string_view text) {
  auto it = clients_.find(conn);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (c.close_code) return;
  Parsed p = parse_client_message(text);
  if (!p.message) {
    metrics_.add("sreda_ws_messages_in_total", {{"type", "invalid"}});
    refuse(c, p.error.code, p.error.message);
    if (++c.bad_frames >= options_.bad_frames_max) close(c, kClosePolicy, "too many invalid messages", "invalid_flood");
    return;
  }
  const ClientMessage& m = *p.message;
  switch (m.type) {
    case MessageType::ping:
      metrics_.add("sreda_ws_messages_in_total", {{"type", "ping"}});
      send(c, R"({"type":"pong"})");
      return;
    case MessageType::join:
      metrics_.add("sreda_ws_messages_in_total", {{"type", "join"}});
      return join(c, m);
    case MessageType::comment:
      metrics_.add("sreda_ws_messages_in_total", {{"type", "comment"}});
      return comment(c, m);
    case MessageType::rate:
      metrics_.add("sreda_ws_messages_in_total", {{"type", "rate"}});
      return rate(c, m);
    case MessageType::playback:
      metrics_.add("sreda_ws_messages_in_total", {{"type", "playback"}});
      return playback(c, m);
  }
}

WsOut AudienceHub::next(uint64_t conn, WsBatch& batch) {
  WsOut out;
  auto it = clients_.find(conn);
  if (it == clients_.end()) return out;
  Client& c = *it->second;
  c.woken = false;
  Room* room = nullptr;
  if (c.joined) room = rooms_.at(c.event_id).get();
  // Replies to this connection first, then (unless it is closing) whatever of the ring it has not had yet:
  // as many frames as the batch takes, so a viewer who fell a few frames behind catches up in one write.
  while (!c.direct.empty() && batch.add(*c.direct.front())) c.direct.pop_front();
  if (c.direct.empty() && !c.close_code && room && c.cursor < room->next_seq) {
    if (c.cursor < room->first_seq) {
      if (batch.frames() == 0) {
        // Fell behind further than the ring holds: dropped, never buffered without bound.
        metrics_.add("sreda_ws_culled_total", {});
        out.close_code = kClosePolicy;
        out.close_reason = "too slow: fell behind the conversation";
        return out;
      }
    } else {
      while (c.cursor < room->next_seq && batch.add(*room->ring[c.cursor - room->first_seq])) ++c.cursor;
    }
  }
  if (batch.frames() == 0 && c.close_code) {
    out.close_code = c.close_code;
    out.close_reason = c.close_reason;
    return out;
  }
  frames_out_ += batch.frames();
  out.more = !c.direct.empty() || c.close_code || (room && c.cursor < room->next_seq);
  if (out.more) c.woken = true;  // the server asks for the next writable callback itself
  return out;
}

void AudienceHub::wake(Client& c) {
  if (c.woken || !transport_) return;
  c.woken = true;
  transport_->wake(c.conn);
}

void AudienceHub::send(Client& c, std::string frame) {
  if (c.close_code) return;
  if (c.direct.size() >= options_.direct_max) {
    metrics_.add("sreda_ws_culled_total", {});
    c.close_code = kClosePolicy;
    c.close_reason = "too slow: too many replies waiting";
    c.direct.clear();
    wake(c);
    return;
  }
  c.direct.push_back(std::make_shared<const std::string>(std::move(frame)));
  wake(c);
}

void AudienceHub::note_refusal(const std::string& cause) { refusals_.add(cause, core::now_ms()); }

void AudienceHub::refuse(Client& c, const std::string& code, const std::string& message) {
  metrics_.add("sreda_ws_refused_total", {{"reason", code}});
  note_refusal(code);
  send(c, error_frame({code, message}));
}

void AudienceHub::close(Client& c, int code, const std::string& reason, const std::string& metric_reason) {
  if (c.close_code) return;
  if (!metric_reason.empty()) {
    metrics_.add("sreda_ws_refused_total", {{"reason", metric_reason}});
    note_refusal(metric_reason);
  }
  c.close_code = code;
  c.close_reason = reason;
  wake(c);
}

void AudienceHub::broadcast(Room& room, std::string frame) {
  room.ring.push_back(std::make_shared<const std::string>(std::move(frame)));
  ++room.next_seq;
  while (room.ring.size() > static_cast<size_t>(options_.ws.backlog_frames)) {
    room.ring.pop_front();
    ++room.first_seq;
  }
  for (uint64_t id : room.members) wake(*clients_.at(id));
}

int AudienceHub::cap_for(const Client& c, int base) const {
  return c.shared ? base * std::max(1, options_.shared_address_multiplier) : base;
}

bool AudienceHub::banned(const Room* room, const std::string& viewer_id, const std::string& group) const {
  return global_bans_.matches(viewer_id, group) || (room && room->bans.matches(viewer_id, group));
}

// ---- messages ----

void AudienceHub::join(Client& c, const ClientMessage& m) {
  if (c.event_id) return refuse(c, "bad_message", "already joined; open a new connection for another event");
  // Who this is: the token the client kept, else the page's cookie, else a new viewer (with a new token). A
  // plain viewer_id of an older client is not an identity.
  std::optional<std::string> id;
  if (!m.viewer_token.empty()) id = tokens_.verify(m.viewer_token);
  if (!id) id = c.cookie_viewer;
  if (!id) {
    auto issued = tokens_.issue();
    id = issued.id;
    c.fresh_token = std::move(issued.token);
  }
  if (banned(nullptr, *id, c.group)) {
    refuse(c, "banned", "you may not take part in the conversation");
    return close(c, kClosePolicy, "banned", "");
  }
  c.event_id = m.event_id;
  c.viewer_id = *id;
  c.nick = m.nick;
  auto& slot = rooms_[m.event_id];
  if (!slot) {
    slot = std::make_unique<Room>();
    slot->event_id = m.event_id;
    slot->waiting.push_back(c.conn);
    const size_t recent = options_.recent_comments;
    const bool queued = store_.post([this, id = m.event_id, recent](store::Db& db) {
      RoomData data = load_room(db, id, recent);
      post([data = std::move(data)](AudienceHub& hub) mutable { hub.on_room_loaded(std::move(data)); });
    });
    if (!queued) {
      rooms_.erase(m.event_id);
      c.event_id = 0;
      refuse(c, "busy", "the server is busy; try again in a moment");
    }
    return;
  }
  if (!slot->loaded) {
    slot->waiting.push_back(c.conn);
    return;
  }
  finish_join(c, *slot);
}

void AudienceHub::on_room_loaded(RoomData data) {
  auto it = rooms_.find(data.event_id);
  if (it == rooms_.end()) return;
  Room& room = *it->second;
  std::vector<uint64_t> waiting = std::move(room.waiting);
  if (!data.exists) {
    rooms_.erase(it);  // no such event: nothing kept
    for (uint64_t id : waiting) {
      auto c = clients_.find(id);
      if (c == clients_.end()) continue;
      c->second->event_id = 0;
      refuse(*c->second, "not_found", "no event with id " + std::to_string(data.event_id));
    }
    return;
  }
  room.loaded = room.exists = true;
  room.language = data.language;
  room.state = data.state;
  room.recent.assign(data.recent.begin(), data.recent.end());
  room.book = std::make_unique<RatingBook>(options_.ws.max_ratings_per_address);
  for (const auto& r : data.ratings) room.book->load(r.viewer_id, r.stars, r.address, r.counted);
  room.slow_mode_s = data.slow_mode_s;
  for (const auto& b : data.bans) room.bans.add(b);
  if (clock_)
    if (auto live = clock_(room.event_id)) room.state = live->state;
  for (uint64_t id : waiting) {
    auto c = clients_.find(id);
    if (c != clients_.end()) finish_join(*c->second, room);
  }
}

std::string AudienceHub::welcome(const Client& c, const Room& room) const {
  json comments = json::array();
  for (const auto& cm : room.recent) comments.push_back(public_json(cm));
  auto mine = room.book->stars_of(c.viewer_id);
  json w = {{"type", "welcome"},
            {"event_id", room.event_id},
            {"viewer_id", c.viewer_id},
            {"state", schedule::to_string(room.state)},
            {"comments", comments},
            {"rating", rating_json(room.book->summary())},
            {"your_rating", mine ? json(*mine) : json(nullptr)},
            {"viewers", room.members.size()},
            {"slow_mode_s", room.slow_mode_s},
            {"limits",
             {{"comment_max_chars", kCommentMaxChars},
              {"nick_max_chars", kNickMaxChars},
              {"comments_per_window", options_.ws.comments_per_window},
              {"comment_window_s", options_.ws.comment_window_s}}}};
  if (!c.fresh_token.empty()) w["viewer_token"] = c.fresh_token;  // a new identity: the client keeps it
  return w.dump();
}

void AudienceHub::finish_join(Client& c, Room& room) {
  if (banned(&room, c.viewer_id, c.group)) {
    refuse(c, "banned", "you may not take part in this event's conversation");
    return close(c, kClosePolicy, "banned", "");
  }
  c.joined = true;
  room.members.insert(c.conn);
  room.viewers_dirty = true;
  c.cursor = room.next_seq;
  send(c, welcome(c, room));
}

void AudienceHub::comment(Client& c, const ClientMessage& m) {
  if (!c.joined) return refuse(c, "not_joined", "join an event first");
  Room& room = *rooms_.at(c.event_id);
  if (banned(&room, c.viewer_id, c.group)) return refuse(c, "banned", "you may not comment here");
  const int64_t now = core::now_ms();
  auto& recent_of_group = room.group_comments_ms[c.group];
  const int per_address_window = cap_for(c, options_.ws.comments_per_address_window);
  if (room.slow_mode_s > 0) {
    // One comment per interval for each viewer, and ws.comments_per_address_window for one address.
    auto last = room.last_comment_ms.find(c.viewer_id);
    const int64_t wait_ms = slow_mode_wait(
        last == room.last_comment_ms.end() ? std::nullopt : std::optional<int64_t>(last->second), recent_of_group,
        int64_t{room.slow_mode_s} * 1000, per_address_window, now);
    if (wait_ms > 0)
      return refuse(c, "slow_mode", "slow mode: one comment every " + std::to_string(room.slow_mode_s) +
                                        " s; wait " + std::to_string((wait_ms + 999) / 1000) + " s");
  }
  LimitState& group_limit = room.group_limits[c.group];
  const bool group_was_muted = group_limit.muted_until_ms > now;
  const CommentLimiter& address_limiter = c.shared ? shared_address_limiter_ : address_limiter_;
  int64_t wait = address_limiter.wait(group_limit, now);
  if (wait && !group_was_muted && group_limit.muted_until_ms > now)
    log().info("muted address " + c.group + " in event " + std::to_string(room.event_id) + " for " +
               std::to_string(options_.ws.mute_s) + " s: more than " + std::to_string(per_address_window) +
               " comments in " + std::to_string(options_.ws.comment_window_s) + " s from one address");
  if (!wait) wait = limiter_.admit(c.limit, room.viewer_limits[c.viewer_id], now);
  if (wait) return refuse(c, "rate_limited", "too many comments; wait " + std::to_string((wait + 999) / 1000) + " s");
  address_limiter.count(group_limit, now);
  room.last_comment_ms[c.viewer_id] = now;
  recent_of_group.push_back(now);
  while (recent_of_group.size() > static_cast<size_t>(per_address_window)) recent_of_group.pop_front();

  Comment cm;
  cm.id = next_comment_id_++;
  cm.event_id = room.event_id;
  cm.viewer_id = c.viewer_id;
  cm.address = c.address;
  cm.nick = c.nick;
  cm.text = m.text;
  cm.question = m.question;
  cm.at_ms = now;
  if (clock_)
    if (auto live = clock_(room.event_id)) cm.media_ms = live->media_ms;
  auto words = words_.find(room.language);
  if (words != words_.end() && contains_listed_word(cm.text, words->second)) {
    cm.status = "held";
    metrics_.add("sreda_audience_comments_total", {{"outcome", "held"}});
    pending_comments_.push_back(cm);
    send(c, error_frame({"held", "your comment waits for a moderator"}));
    return;
  }
  metrics_.add("sreda_audience_comments_total", {{"outcome", "shown"}});
  if (options_.reports_enabled)
    tallies_.try_emplace(room.event_id, options_.archive_play_ms).first->second.count_comment(cm.question);
  // Acknowledged (broadcast, the writer included) once stored: flush() hands it back after the commit, so a
  // crash right after the acknowledgement loses nothing.
  pending_comments_.push_back(std::move(cm));
}

void AudienceHub::rate(Client& c, const ClientMessage& m) {
  if (!c.joined) return refuse(c, "not_joined", "join an event first");
  Room& room = *rooms_.at(c.event_id);
  if (banned(&room, c.viewer_id, c.group)) return refuse(c, "banned", "you may not rate here");
  const RatingBook::Outcome out =
      room.book->rate(c.viewer_id, c.group, m.stars, c.shared ? std::max(1, options_.shared_address_multiplier) : 1);
  if (out.counted) {
    room.rating_dirty = true;
  } else {
    // Kept for this viewer, left out of the public rating: one log line per event and address.
    metrics_.add("sreda_audience_ratings_uncounted_total", {});
    metrics_.add("sreda_ws_refused_total", {{"reason", "rating_cap"}});
    note_refusal("rating_cap");
    if (out.capped_now)
      log().info("event " + std::to_string(room.event_id) + ": ratings from " + c.group + " beyond " +
                 std::to_string(cap_for(c, options_.ws.max_ratings_per_address)) +
                 " are kept out of the public rating (ws.max_ratings_per_address" +
                 (c.shared ? " × server.shared_address_multiplier)" : ")"));
  }
  if (out.kept)
    pending_ratings_[{room.event_id, c.viewer_id}] =
        Rating{room.event_id, c.viewer_id, m.stars, core::now_s(), c.group, out.counted};
  send(c, json{{"type", "rated"}, {"stars", m.stars}, {"counted", out.counted}}.dump());
}

// ---- periodic ----

void AudienceHub::tick(int64_t now_ms) {
  std::erase_if(rooms_, [&](const auto& entry) {
    Room& room = *entry.second;
    if (!room.loaded || !room.members.empty() || !room.waiting.empty()) {
      room.idle_since_ms = 0;
      return false;
    }
    if (room.idle_since_ms == 0) room.idle_since_ms = now_ms;
    return now_ms - room.idle_since_ms >= kIdleRoomMs && !schedule::on_air(room.state);
  });
  for (auto& [id, room] : rooms_) {
    if (!room->loaded) continue;
    if (clock_) {
      auto state = room->state;
      if (auto live = clock_(id)) state = live->state;
      else if (schedule::on_air(state))
        state = schedule::EventState::ended;
      if (state != room->state) {
        room->state = state;
        broadcast(*room, state_frame(schedule::to_string(state)));
      }
    }
    if ((room->rating_dirty || room->viewers_dirty) && now_ms - room->last_snapshot_ms >= options_.snapshot_interval_ms) {
      room->last_snapshot_ms = now_ms;
      if (room->rating_dirty) broadcast(*room, rating_frame(room->book->summary()));
      if (room->viewers_dirty) {
        const auto n = static_cast<int64_t>(room->members.size());
        broadcast(*room, viewers_frame(n));
        std::lock_guard lock(viewers_mutex_);
        if (n) viewer_counts_[id] = n;
        else viewer_counts_.erase(id);
      }
      room->rating_dirty = room->viewers_dirty = false;
    }
  }
  last_tick_ms_ = now_ms;
  if (last_sample_ms_ == 0) last_sample_ms_ = now_ms;
  if (now_ms - last_sample_ms_ >= options_.report_sample_ms) {
    last_sample_ms_ = now_ms;
    sample_reports(now_ms, true);
  }
  flush();
}

int64_t AudienceHub::viewers(int64_t event_id) const {
  std::lock_guard lock(viewers_mutex_);
  auto it = viewer_counts_.find(event_id);
  return it == viewer_counts_.end() ? 0 : it->second;
}

void AudienceHub::flush() {
  if (pending_comments_.empty() && pending_ratings_.empty()) return;
  std::vector<Rating> ratings;
  ratings.reserve(pending_ratings_.size());
  for (auto& [key, r] : pending_ratings_) ratings.push_back(std::move(r));
  const bool queued = store_.post([this, comments = pending_comments_, ratings](store::Db& db) {
    write_batch(db, comments, ratings);  // committed: now the shown comments are acknowledged
    std::vector<Comment> shown;
    for (const auto& c : comments)
      if (c.status != "held") shown.push_back(c);
    if (!shown.empty())
      post([shown = std::move(shown)](AudienceHub& hub) {
        for (const auto& c : shown) hub.comment_shown(c);
      });
  });
  if (!queued) {
    metrics_.add("sreda_audience_store_retries_total", {});
    return;  // kept; the next tick tries again
  }
  pending_comments_.clear();
  pending_ratings_.clear();
}

}  // namespace sreda::audience
