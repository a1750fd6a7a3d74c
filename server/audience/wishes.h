// Residents' wishes for what to show next, and their votes, in SQLite (schema step 10). One vote per viewer id
// (the server-issued identity, identity.h); the votes of one address group (core::limit_key) count on a wish up
// to a cap, as ratings do (rating_book.h): beyond it a vote is kept for its voter but left out of the count, and
// beyond kKeptPerCounted × cap it is not kept at all. Moderated as comments are: the word lists hold a wish,
// bans refuse its writer, a curator hides it. Store thread only (every function takes the store's Db).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/store/db.h"

namespace sreda::audience {

inline constexpr size_t kWishMinChars = 3;
inline constexpr size_t kWishMaxChars = 300;
inline constexpr size_t kWishReplyMaxChars = 500;
inline constexpr int kWishPageSize = 20;
// What one client address (IPv6: its /64) may suggest in 24 h, and how many wishes may wait (shown or held) in
// all: beyond either a suggestion is refused (one log line per burst and sreda_wishes_refused_total). A shared
// address (server.shared_addresses) may suggest server.shared_address_multiplier times as many. The votes of one
// address counted on one wish are capped by ws.max_ratings_per_address, as an event's ratings are.
inline constexpr int kWishesPerAddressPerDay = 5;
inline constexpr int kMaxWaitingWishes = 5000;

struct Wish {
  int64_t id = 0;
  std::string text;
  std::string category;
  std::string viewer_id;
  std::string address;             // the address group it came from (core::limit_key)
  std::string status = "visible";  // visible | hidden | held
  int64_t votes = 0;               // counted votes
  std::string reply;               // a curator's public answer ("" none)
  std::optional<int64_t> event_id; // the event that answers it
  int64_t created_at = 0;
};
// {"id","text","category","votes","reply","event_id","created_at"} — what anyone sees.
nlohmann::json public_json(const Wish& w);
// …plus status, viewer_id and address, for curators.
nlohmann::json curator_json(const Wish& w);

enum class WishSort { top, fresh };
struct WishPage {
  std::vector<Wish> items;
  int64_t total = 0;
};
// Visible wishes (every wish with `include_hidden`), most votes first (then newest) or newest first; page from 1.
WishPage list_wishes(store::Db& db, WishSort sort, int page, int page_size, bool include_hidden);
std::optional<Wish> find_wish(store::Db& db, int64_t id);
// Of the wish's ids, those `viewer_id` voted for.
std::vector<int64_t> voted_by(store::Db& db, const std::string& viewer_id, const std::vector<int64_t>& wish_ids);
// A visible wish that names this event (the most voted), for its page's "you asked for this".
std::optional<Wish> wish_for_event(store::Db& db, int64_t event_id);

// Wishes from one address group since `since` (Unix s), and wishes kept that are not hidden.
int64_t wishes_from(store::Db& db, const std::string& address, int64_t since);
int64_t wishes_waiting(store::Db& db);
Wish insert_wish(store::Db& db, Wish w);

struct VoteOutcome {
  bool fresh = false;       // this viewer had not voted for it before (false: nothing changed)
  bool counted = false;     // the viewer's vote is in the count
  bool capped_now = false;  // the first vote of this group left out of this wish: one log line
  bool kept = true;         // false: too many left out from this group, not stored
  int64_t votes = 0;        // the wish's count afterwards
};
// One transaction. `cap`: counted votes of one address group on one wish.
VoteOutcome vote_wish(store::Db& db, int64_t wish_id, const std::string& viewer_id, const std::string& group, int cap,
                      int64_t now);

void set_wish_status(store::Db& db, int64_t id, const std::string& status, int64_t now);
void set_wish_reply(store::Db& db, int64_t id, const std::string& reply, int64_t now);
void set_wish_event(store::Db& db, int64_t id, std::optional<int64_t> event_id, int64_t now);

}  // namespace sreda::audience
