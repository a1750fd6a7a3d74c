#include "server/schedule/event_state.h"

#include "nlohmann/json.hpp"

namespace sreda::schedule {
namespace {
constexpr EventState kAll[] = {EventState::scheduled, EventState::live,     EventState::intermission,
                               EventState::ended,     EventState::archived, EventState::cancelled};
}  // namespace

const char* to_string(EventState state) {
  switch (state) {
    case EventState::scheduled:
      return "scheduled";
    case EventState::live:
      return "live";
    case EventState::intermission:
      return "intermission";
    case EventState::ended:
      return "ended";
    case EventState::archived:
      return "archived";
    case EventState::cancelled:
      return "cancelled";
  }
  return "?";
}

std::optional<EventState> event_state(std::string_view text) {
  for (EventState s : kAll)
    if (text == to_string(s)) return s;
  return std::nullopt;
}

void to_json(nlohmann::json& j, EventState state) {
  j = to_string(state);
}

bool can_change(EventState from, EventState to) {
  using S = EventState;
  switch (from) {
    case S::scheduled:
      return to == S::live || to == S::cancelled;
    case S::live:
      return to == S::intermission || to == S::ended;
    case S::intermission:
      return to == S::live || to == S::intermission || to == S::ended;
    case S::ended:
      return to == S::archived;
    case S::archived:
      return to == S::ended;
    case S::cancelled:
      return false;
  }
  return false;
}

}  // namespace sreda::schedule
