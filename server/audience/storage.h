// Audience rows in SQLite: comments (stamped with media time), ratings, bans, slow mode, word lists and the
// moderation log. Store thread only (every function takes the store's Db).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/audience/wire.h"
#include "server/schedule/event_state.h"
#include "server/store/db.h"

namespace sreda::audience {

struct Comment {
  int64_t id = 0;
  int64_t event_id = 0;
  std::string viewer_id;
  std::string address;
  std::string nick;
  std::string text;
  int64_t at_ms = 0;
  std::optional<int64_t> media_ms;
  std::string status = "visible";  // visible | hidden | held
  bool question = false;
  std::optional<int64_t> answered_at_ms;  // a question marked answered (Unix ms)
  std::string answered_by;                // a curator's name or "studio <id>"
};
// {"id","nick","text","at","media_ms","question","answered"} — what viewers see (no viewer id, no address).
nlohmann::json public_json(const Comment& c);
// …plus status, viewer_id, address, answered_at and answered_by, for curators.
nlohmann::json curator_json(const Comment& c);

struct Rating {
  int64_t event_id = 0;
  std::string viewer_id;
  int stars = 0;
  int64_t at_s = 0;
  std::string address;  // the address group it came from (core::limit_key)
  bool counted = true;  // part of the public rating (false: beyond ws.max_ratings_per_address of its address)
};

struct Ban {
  int64_t id = 0;
  std::optional<int64_t> event_id;  // nullopt: every event
  std::string kind;                 // "viewer" | "address"
  std::string value;
  std::string address;  // a viewer ban: the address group the viewer was last seen at, banned with it ("" none)
  std::string created_by;
  int64_t created_at = 0;
};
nlohmann::json to_json(const Ban& b);

// Everything a room needs when its first viewer joins.
struct RoomData {
  int64_t event_id = 0;
  bool exists = false;
  std::string language;
  schedule::EventState state = schedule::EventState::scheduled;
  std::vector<Comment> recent;                       // last visible comments, oldest first
  std::vector<Rating> ratings;
  int slow_mode_s = 0;
  std::vector<Ban> bans;                             // this event's
};
RoomData load_room(store::Db& db, int64_t event_id, size_t recent);

// Start-up: the highest comment id (new ids continue from it) and the global bans.
int64_t max_comment_id(store::Db& db);
std::vector<Ban> global_bans(store::Db& db);

// One transaction for a batch (comments of deleted events are skipped).
void write_batch(store::Db& db, const std::vector<Comment>& comments, const std::vector<Rating>& ratings);

std::optional<Comment> find_comment(store::Db& db, int64_t event_id, int64_t comment_id);
std::optional<Comment> find_comment(store::Db& db, int64_t comment_id);  // of any event
void set_comment_status(store::Db& db, int64_t comment_id, const std::string& status);
// Marks a question answered (the first mark stays: idempotent). Returns whether the row changed.
bool mark_answered(store::Db& db, int64_t comment_id, int64_t at_ms, const std::string& by);
// Visible comments of an event ordered by media time (then id). from/to bound media_ms when given (then
// comments without media time are left out).
std::vector<Comment> list_comments(store::Db& db, int64_t event_id, std::optional<int64_t> from_ms,
                                   std::optional<int64_t> to_ms, int limit, bool include_hidden);
// The public rating: counted ratings only.
RatingSummary rating_summary(store::Db& db, int64_t event_id);
// The address a viewer last wrote or rated from ("" when never seen).
std::string last_address_of(store::Db& db, const std::string& viewer_id);
nlohmann::json rating_json(const RatingSummary& r);

std::optional<Ban> insert_ban(store::Db& db, const Ban& ban);  // nullopt: the same ban exists
std::optional<Ban> delete_ban(store::Db& db, int64_t id);
std::vector<Ban> list_bans(store::Db& db);
void set_slow_mode(store::Db& db, int64_t event_id, int seconds);
int slow_mode(store::Db& db, int64_t event_id);  // 0: off (also when never set)
std::map<std::string, std::vector<std::string>> word_lists(store::Db& db);
void replace_word_list(store::Db& db, const std::string& language, const std::vector<std::string>& words);
void log_moderation(store::Db& db, int64_t at, const std::string& curator, const std::string& action,
                    std::optional<int64_t> event_id, const std::string& target);
// Newest first: [{"at","curator","action","event_id","target"}]; only one event's when event_id is given.
nlohmann::json moderation_log(store::Db& db, int limit, std::optional<int64_t> event_id = std::nullopt);

}  // namespace sreda::audience
