#include <gtest/gtest.h>

#include "server/core/clock.h"
#include "server/core/text.h"
#include "server/schedule/catalog.h"
#include "server/schedule/event.h"
#include "server/schedule/ical.h"

using namespace sreda;
using nlohmann::json;

namespace {
json valid_body() {
  return json{{"title", "Концерт"},
              {"category", "concert"},
              {"studio_id", 1},
              {"starts_at", "2030-01-01T19:00:00+03:00"},
              {"ends_at", "2030-01-01T21:00:00+03:00"}};
}
std::vector<std::string> fields(const std::vector<schedule::FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.field);
  return out;
}
}  // namespace

TEST(EventValidation, AcceptsAGoodEventAndNormalisesTimesToUtc) {
  schedule::Event e;
  EXPECT_TRUE(schedule::apply_event_fields(valid_body(), true, e).empty());
  EXPECT_EQ(core::format_rfc3339(e.starts_at), "2030-01-01T16:00:00Z");
  EXPECT_EQ(e.language, "ru");
  EXPECT_TRUE(schedule::check_event_times(e, 0).empty());
}

TEST(EventValidation, EachBadFieldIsNamed) {
  struct Case {
    json patch;
    std::string field;
  } cases[] = {
      {{{"title", "  "}}, "title"},
      {{{"title", std::string(201, 'x')}}, "title"},
      {{{"title", "tab\tin title"}}, "title"},
      {{{"title", 5}}, "title"},
      {{{"description", std::string(5001, 'x')}}, "description"},
      {{{"category", "opera"}}, "category"},
      {{{"language", "RU"}}, "language"},
      {{{"studio_id", -1}}, "studio_id"},
      {{{"starts_at", "2030-01-01 19:00"}}, "starts_at"},
      {{{"unknown", 1}}, "unknown"},
  };
  for (const auto& c : cases) {
    json body = valid_body();
    body.update(c.patch);
    schedule::Event e;
    EXPECT_EQ(fields(schedule::apply_event_fields(body, true, e)), std::vector<std::string>{c.field}) << c.patch;
  }
}

TEST(EventValidation, TitleLengthCountsCharactersNotBytes) {
  json body = valid_body();
  std::string title;
  for (int i = 0; i < 200; ++i) title += "ж";  // 400 bytes, 200 characters
  body["title"] = title;
  schedule::Event e;
  EXPECT_TRUE(schedule::apply_event_fields(body, true, e).empty());
  EXPECT_TRUE(schedule::apply_event_fields(json{{"description", "строка\nещё строка"}}, false, e).empty());
}

TEST(EventValidation, TimeRules) {
  schedule::Event e;
  e.starts_at = 10'000;
  e.ends_at = 10'000;
  EXPECT_EQ(fields(schedule::check_event_times(e, 0)), std::vector<std::string>{"ends_at"});
  e.ends_at = e.starts_at + 12 * 3600;
  EXPECT_TRUE(schedule::check_event_times(e, 0).empty());
  e.ends_at += 1;
  EXPECT_EQ(fields(schedule::check_event_times(e, 0)), std::vector<std::string>{"ends_at"});
  e.ends_at = e.starts_at + 3600;
  EXPECT_EQ(fields(schedule::check_event_times(e, e.ends_at)), std::vector<std::string>{"ends_at"});
}

TEST(Text, Utf8AndCaseFolding) {
  EXPECT_TRUE(core::valid_utf8("Привет, мир ♪ 🎻"));
  EXPECT_FALSE(core::valid_utf8("\xff"));
  EXPECT_FALSE(core::valid_utf8("\xc0\xaf"));         // overlong '/'
  EXPECT_FALSE(core::valid_utf8("\xed\xa0\x80"));     // surrogate
  EXPECT_EQ(core::utf8_length("ёж🎻"), 3u);
  EXPECT_EQ(core::fold_case("ЁЛКА Ёж Hello"), "елка еж hello");
  EXPECT_TRUE(core::has_control_chars("a\x01", true));
  EXPECT_FALSE(core::has_control_chars("a\nb", true));
  EXPECT_TRUE(core::has_control_chars("a\nb", false));
}

TEST(ICal, EscapesAndFoldsPerRfc5545) {
  EXPECT_EQ(schedule::ical_escape("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
  std::string line = "SUMMARY:" + std::string(20, 'x');
  for (int i = 0; i < 40; ++i) line += "ж";
  std::string folded = schedule::ical_fold(line);
  size_t start = 0;
  std::string unfolded;
  while (start < folded.size()) {
    size_t end = folded.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    std::string physical = folded.substr(start, end - start);
    EXPECT_LE(physical.size(), 75u);
    EXPECT_TRUE(core::valid_utf8(physical.substr(start ? 1 : 0))) << "a character was split";
    unfolded += start ? physical.substr(1) : physical;
    start = end + 2;
  }
  EXPECT_EQ(unfolded, line);
}

TEST(ICal, CalendarHasTheRequiredProperties) {
  schedule::Event e;
  e.id = 7;
  e.title = "Урок";
  e.category = "dance";
  e.state = schedule::EventState::cancelled;
  e.starts_at = *core::parse_rfc3339("2030-01-01T16:00:00Z");
  e.ends_at = e.starts_at + 3600;
  e.created_at = e.updated_at = 100;
  auto cal = schedule::write_calendar({e}, "https://culture.example", "culture.example", 200);
  for (const char* want : {"BEGIN:VCALENDAR\r\n", "VERSION:2.0\r\n", "PRODID:", "UID:event-7@culture.example\r\n",
                           "DTSTAMP:19700101T000140Z\r\n", "DTSTART:20300101T160000Z\r\n",
                           "DTEND:20300101T170000Z\r\n", "SUMMARY:Урок\r\n",
                           "URL:https://culture.example/watch/7\r\n", "STATUS:CANCELLED\r\n", "END:VCALENDAR\r\n"}) {
    EXPECT_NE(cal.find(want), std::string::npos) << want;
  }
}

// A key pasted into a command line must not read as an option (one key in 32 used to start with '-' or '_').
TEST(StreamKeys, NeverStartWithADashOrUnderscore) {
  for (int i = 0; i < 4000; ++i) {
    const std::string key = sreda::schedule::new_stream_key();
    ASSERT_EQ(key.size(), 32u);
    ASSERT_NE(key[0], '-') << key;
    ASSERT_NE(key[0], '_') << key;
  }
}
