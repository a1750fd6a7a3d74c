// Wall-clock time and RFC 3339 text. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sreda::core {

// Milliseconds / seconds since the Unix epoch, UTC.
int64_t now_ms();
int64_t now_s();
// Monotonic milliseconds, for durations and timeouts.
int64_t steady_ms();

// Parses "2026-11-23T19:00:00Z", "2026-11-23T19:00:00.5+03:00" (RFC 3339 date-time, 't'/'z' allowed).
// Returns seconds since the epoch (fractions are dropped), or nullopt when the text is not a valid time.
std::optional<int64_t> parse_rfc3339(std::string_view text);
// "2026-11-23T16:00:00Z"
std::string format_rfc3339(int64_t epoch_s);
// "2026-11-23T16:00:00.123Z"
std::string format_rfc3339_ms(int64_t epoch_ms);
// iCalendar UTC form: "20261123T160000Z"
std::string format_ical_utc(int64_t epoch_s);

}  // namespace sreda::core
