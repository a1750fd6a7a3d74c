// core::escape_for_log (text from the network made safe for one log line) and core::LogThrottle.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "server/core/log.h"
#include "server/core/text.h"

namespace sreda::core {
namespace {

TEST(EscapeForLog, ControlCharactersCannotStartAForgedLine) {
  EXPECT_EQ(escape_for_log("live\n2026-12-03T00:00:00.000Z error [app] x"),
            "live\\n2026-12-03T00:00:00.000Z error [app] x");
  EXPECT_EQ(escape_for_log("a\rb\tc"), "a\\rb\\tc");
  EXPECT_EQ(escape_for_log(std::string("nul\0del\x7f", 8)), "nul\\x00del\\x7f");
  EXPECT_EQ(escape_for_log("esc\x1b[31m"), "esc\\x1b[31m");
  EXPECT_EQ(escape_for_log("c1\xc2\x85"), "c1\\u0085");  // NEL, a line break for some readers
  EXPECT_EQ(escape_for_log("bad\xff\xfe"), "bad\\xff\\xfe");  // not UTF-8
}

TEST(EscapeForLog, PrintableTextIsKeptAndCutsFallOnCodePoints) {
  EXPECT_EQ(escape_for_log("Концертный зал \"№1\" \\ ok"), "Концертный зал \"№1\" \\ ok");
  EXPECT_EQ(escape_for_log("abcdef", 3), "abc\u2026");
  EXPECT_EQ(escape_for_log("жжж", 3), "ж\u2026");  // never half a code point
  EXPECT_EQ(escape_for_log("abc", 3), "abc");
}

TEST(LogThrottle, OneLinePerPeriodCountingTheRest) {
  LogThrottle t(std::chrono::hours(1));
  uint64_t held = 99;
  EXPECT_TRUE(t.allow(held));
  EXPECT_EQ(held, 0u);
  EXPECT_FALSE(t.allow(held));
  EXPECT_FALSE(t.allow(held));
  LogThrottle zero(std::chrono::seconds(0));
  EXPECT_TRUE(zero.allow(held));
  EXPECT_TRUE(zero.allow(held));
}

}  // namespace
}  // namespace sreda::core
