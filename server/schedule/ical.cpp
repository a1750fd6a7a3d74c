#include "server/schedule/ical.h"

#include "server/core/clock.h"

namespace sreda::schedule {

std::string ical_escape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' || c == ';' || c == ',') {
      out += '\\';
      out += c;
    } else if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\\n";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string ical_fold(const std::string& line) {
  std::string out;
  size_t col = 0;
  for (size_t i = 0; i < line.size();) {
    size_t len = 1;
    auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0xf0) len = 4;
    else if (c >= 0xe0) len = 3;
    else if (c >= 0xc0) len = 2;
    if (col + len > 75) {
      out += "\r\n ";
      col = 1;
    }
    out.append(line, i, len);
    col += len;
    i += len;
  }
  out += "\r\n";
  return out;
}

std::string write_calendar(const std::vector<Event>& events, const std::string& base_url, const std::string& host,
                           int64_t now) {
  std::string out;
  auto line = [&](const std::string& l) { out += ical_fold(l); };
  line("BEGIN:VCALENDAR");
  line("VERSION:2.0");
  line("PRODID:-//sreda//Cultural Environment programme//EN");
  line("CALSCALE:GREGORIAN");
  line("METHOD:PUBLISH");
  line("X-WR-CALNAME:" + ical_escape("Cultural Environment"));
  for (const auto& e : events) {
    line("BEGIN:VEVENT");
    line("UID:event-" + std::to_string(e.id) + "@" + (host.empty() ? "sreda" : host));
    line("DTSTAMP:" + core::format_ical_utc(e.updated_at ? e.updated_at : now));
    line("LAST-MODIFIED:" + core::format_ical_utc(e.updated_at ? e.updated_at : now));
    line("DTSTART:" + core::format_ical_utc(e.starts_at));
    line("DTEND:" + core::format_ical_utc(e.ends_at));
    line("SUMMARY:" + ical_escape(e.title));
    if (!e.description.empty()) line("DESCRIPTION:" + ical_escape(e.description));
    if (!e.studio_name.empty()) line("LOCATION:" + ical_escape(e.studio_name));
    line("CATEGORIES:" + ical_escape(e.category));
    line("URL:" + base_url + "/watch/" + std::to_string(e.id));
    line(std::string("STATUS:") + (e.state == EventState::cancelled ? "CANCELLED" : "CONFIRMED"));
    // Sequence grows with every edit so calendar apps take the newer copy.
    line("SEQUENCE:" + std::to_string(e.updated_at > e.created_at ? e.updated_at - e.created_at : 0));
    line("END:VEVENT");
  }
  line("END:VCALENDAR");
  return out;
}

}  // namespace sreda::schedule
