// An event's state as the server reasons about it, and its text at the edges: the `events.state` column,
// the API's JSON and the WebSocket's `state` frames keep exactly the strings of to_string().
//
//   scheduled → live ⇄ intermission → ended → archived      scheduled → cancelled
//
// The hub moves an event between live, intermission and ended (a studio publishes, drops, comes back within
// the grace, or does not; a curator ends it); the archive turns ended into archived once the recording is
// listed (and back into ended when a curator deletes the recording); the API cancels a scheduled one.
// Pure functions; any thread.
#pragma once

#include <optional>
#include <string_view>

#include "nlohmann/json_fwd.hpp"

namespace sreda::schedule {

enum class EventState { scheduled, live, intermission, ended, archived, cancelled };

// "scheduled", "live", "intermission", "ended", "archived", "cancelled".
const char* to_string(EventState state);
// The state a stored row or a JSON field names; nullopt for any other text.
std::optional<EventState> event_state(std::string_view text);

// In JSON an event's state is its text (to_string), never the enum's number.
void to_json(nlohmann::json& j, EventState state);

// Live or in intermission: the hub holds the event (its studio publishes, or may come back within the grace).
constexpr bool on_air(EventState state) {
  return state == EventState::live || state == EventState::intermission;
}
inline bool on_air(std::optional<EventState> state) {
  return state && on_air(*state);
}

// Whether an event may go from one state to the other (the arrows above). A restart restates an event the
// server left live or in intermission as intermission, so intermission → intermission is one of them.
bool can_change(EventState from, EventState to);

}  // namespace sreda::schedule
