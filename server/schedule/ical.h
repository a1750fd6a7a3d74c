// RFC 5545 iCalendar writer for the programme. Pure; any thread.
#pragma once

#include <string>
#include <vector>

#include "server/schedule/event.h"

namespace sreda::schedule {

// A VCALENDAR with one VEVENT per event: UID, DTSTAMP, DTSTART/DTEND (UTC), SUMMARY, DESCRIPTION,
// CATEGORIES, URL of the watch page (base_url + "/watch/<id>"), STATUS (CANCELLED/CONFIRMED).
// Lines end in CRLF and are folded at 75 octets without splitting a UTF-8 character.
std::string write_calendar(const std::vector<Event>& events, const std::string& base_url, const std::string& host,
                           int64_t now);

// Escapes TEXT values (backslash, semicolon, comma, newline).
std::string ical_escape(const std::string& text);
// Folds one content line (without CRLF) into CRLF-terminated physical lines.
std::string ical_fold(const std::string& line);

}  // namespace sreda::schedule
