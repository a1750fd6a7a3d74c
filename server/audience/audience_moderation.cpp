// The audience hub's moderation side (web thread, through post()): hidden, shown and answered comments, bans,
// slow mode and word lists, as the curators' REST handlers report them.
#include "server/audience/audience_room.h"

#include <algorithm>

namespace sreda::audience {

using nlohmann::json;

void AudienceHub::comment_hidden(int64_t event_id, int64_t comment_id) {
  auto it = rooms_.find(event_id);
  if (it == rooms_.end() || !it->second->loaded) return;
  Room& room = *it->second;
  std::erase_if(room.recent, [&](const Comment& c) { return c.id == comment_id; });
  broadcast(room, removed_frame(comment_id));
}

void AudienceHub::comment_shown(const Comment& c) {
  auto it = rooms_.find(c.event_id);
  if (it == rooms_.end() || !it->second->loaded) return;
  Room& room = *it->second;
  auto pos = std::find_if(room.recent.begin(), room.recent.end(), [&](const Comment& o) { return o.id >= c.id; });
  if (pos == room.recent.end() || pos->id != c.id) room.recent.insert(pos, c);
  while (room.recent.size() > options_.recent_comments) room.recent.pop_front();
  json frame = public_json(c);
  frame["type"] = "comment";
  broadcast(room, frame.dump());
}

void AudienceHub::comment_answered(int64_t event_id, int64_t comment_id, int64_t at_ms) {
  auto it = rooms_.find(event_id);
  if (it == rooms_.end() || !it->second->loaded) return;
  Room& room = *it->second;
  for (auto& c : room.recent)
    if (c.id == comment_id) c.answered_at_ms = at_ms;
  broadcast(room, answered_frame(comment_id));
}

bool AudienceHub::flush_now() {
  flush();
  return pending_comments_.empty() && pending_ratings_.empty();
}

void AudienceHub::ban_added(const Ban& b) {
  Room* only = nullptr;
  if (b.event_id) {
    auto it = rooms_.find(*b.event_id);
    if (it == rooms_.end()) return;  // loaded with the room when someone joins
    only = it->second.get();
  }
  BanList& bans = only ? only->bans : global_bans_;
  bans.add(b);
  // A banned viewer connected now: the addresses it is connected from are banned with it (as is the one the
  // database knew, when the curator's request found one).
  if (b.kind == "viewer")
    for (auto& [id, c] : clients_)
      if (c->viewer_id == b.value && (!only || c->event_id == only->event_id)) bans.hold_address(b, c->group);
  for (auto& [id, c] : clients_) {
    if (!c->event_id || (only && c->event_id != only->event_id)) continue;
    if (!banned(only, c->viewer_id, c->group)) continue;
    refuse(*c, "banned", "a moderator has removed you from the conversation");
    close(*c, kClosePolicy, "banned", "");
  }
}

void AudienceHub::ban_removed(const Ban& b) {
  if (!b.event_id) return global_bans_.remove(b);
  if (auto it = rooms_.find(*b.event_id); it != rooms_.end()) it->second->bans.remove(b);
}

void AudienceHub::slow_mode_set(int64_t event_id, int seconds) {
  auto it = rooms_.find(event_id);
  if (it == rooms_.end() || !it->second->loaded) return;
  it->second->slow_mode_s = seconds;
  broadcast(*it->second, json{{"type", "slow_mode"}, {"seconds", seconds}}.dump());
}

void AudienceHub::words_set(const std::string& language, std::vector<std::string> folded_words) {
  words_[language] = std::move(folded_words);
}

}  // namespace sreda::audience
