#include "server/package/blocking_reload.h"

#include <charconv>

namespace sreda::package {
namespace {

// A decimal-integer (RFC 8216bis 4.2) without sign or spaces, at most 18 digits.
std::optional<int64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.front() == '-') return std::nullopt;
  return value;
}

ReloadDecision bad(std::string reason) {
  ReloadDecision d;
  d.kind = ReloadDecision::Kind::bad_request;
  d.reason = std::move(reason);
  return d;
}

}  // namespace

int64_t blocking_timeout_ms(int target_duration_s) {
  return 3 * static_cast<int64_t>(target_duration_s) * 1000;
}

bool is_satisfied(const ReloadDecision& held, const ReloadState& state) {
  if (state.ended) return true;
  if (held.part) {
    // "a Partial Segment with a Part Index of N or later in the Segment with MSN M or later"
    if (state.last_complete_msn >= held.msn) return true;
    return state.last_part && *state.last_part >= PartPosition{held.msn, *held.part};
  }
  return state.last_complete_msn >= held.msn;
}

ReloadDecision decide_blocking_reload(const ReloadQuery& query, const ReloadState& state, int64_t now_ms) {
  ReloadDecision d;
  if (query.skip) {
    if (*query.skip != "YES" && *query.skip != "v2") return bad("_HLS_skip must be YES or v2");
    d.skip = true;
  }
  if (query.part && !query.msn) return bad("_HLS_part without _HLS_msn");
  if (!query.msn) return d;  // a plain (or delta) reload: answer now
  const auto msn = parse_decimal(*query.msn);
  if (!msn) return bad("_HLS_msn is not a decimal integer");
  std::optional<int64_t> part;
  if (query.part) {
    part = parse_decimal(*query.part);
    if (!part || *part > 1'000'000) return bad("_HLS_part is not a decimal integer");
  }
  if (*msn > state.last_complete_msn + 2) return bad("_HLS_msn is more than two segments ahead");
  d.msn = *msn;
  if (part) d.part = static_cast<int>(*part);
  if (is_satisfied(d, state)) {
    d.kind = ReloadDecision::Kind::ready;
    return d;
  }
  d.kind = ReloadDecision::Kind::hold;
  d.deadline_ms = now_ms + blocking_timeout_ms(state.target_duration_s);
  return d;
}

}  // namespace sreda::package
