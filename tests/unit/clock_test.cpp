#include "server/core/clock.h"

#include <gtest/gtest.h>

using namespace sreda::core;

TEST(Clock, ParsesUtcAndOffsets) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2026-11-23T19:00:00+03:00"), parse_rfc3339("2026-11-23T16:00:00Z"));
  EXPECT_EQ(parse_rfc3339("2026-11-23t16:00:00.250z"), parse_rfc3339("2026-11-23T16:00:00Z"));
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2024-02-29T23:59:59-01:30")), "2024-03-01T01:29:59Z");
}

TEST(Clock, RejectsWhatIsNotATime) {
  for (const char* bad : {"", "2026-11-23", "2026-11-23 19:00:00Z", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                          "2026-11-23T24:00:00Z", "2026-11-23T19:00:00", "2026-11-23T19:00:00+3:00",
                          "2026-11-23T19:00:00Zjunk", "tomorrow at seven"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(Clock, FormatsForICalendar) { EXPECT_EQ(format_ical_utc(1795446000), "20261123T150000Z"); }
