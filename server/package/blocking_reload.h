// Blocking playlist reload rules (RFC 8216bis 6.2.5.2) as a pure function; any thread.
//
// The web layer parses the query into raw strings, asks decide_blocking_reload(), and then either
// answers now, holds the request (no thread, no polling: the packager's update callback wakes it when a
// part completes; re-run is_satisfied() then) until the deadline, or answers 400. A request still held
// at its deadline (3 × target duration after it arrived) is answered 503.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/package/playlist_writer.h"

namespace sreda::package {

// Raw query values; nullopt when the parameter is absent.
struct ReloadQuery {
  std::optional<std::string_view> msn;   // _HLS_msn
  std::optional<std::string_view> part;  // _HLS_part
  std::optional<std::string_view> skip;  // _HLS_skip ("YES" or "v2")
};

// What the playlist holds right now.
struct ReloadState {
  int64_t last_complete_msn = -1;         // last complete segment, -1 when none
  std::optional<PartPosition> last_part;  // last complete part, if any
  int target_duration_s = 2;
  bool ended = false;
};

struct ReloadDecision {
  enum class Kind { ready, hold, bad_request };
  Kind kind = Kind::ready;
  bool skip = false;  // send a delta update (_HLS_skip=YES|v2)
  int64_t msn = -1;   // hold: wait for this segment / part
  std::optional<int> part;
  int64_t deadline_ms = 0;  // hold: answer 503 if still held at this time
  std::string reason;       // bad_request: why
};

// now_ms: any monotonic clock in ms (the deadline is in the same clock).
ReloadDecision decide_blocking_reload(const ReloadQuery& query, const ReloadState& state, int64_t now_ms);

// Whether a held request (decision.kind == hold) can now be answered.
bool is_satisfied(const ReloadDecision& held, const ReloadState& state);

// The longest a request may be held: 3 × target duration (then 503).
int64_t blocking_timeout_ms(int target_duration_s);

}  // namespace sreda::package
