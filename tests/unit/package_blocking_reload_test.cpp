// Blocking playlist reload rules (RFC 8216bis 6.2.5.2).
#include <gtest/gtest.h>

#include "server/package/blocking_reload.h"

namespace sreda::package {
namespace {

using Kind = ReloadDecision::Kind;

// Segment 10 complete; segment 11 in progress with parts 0..2 complete.
ReloadState live() {
  ReloadState s;
  s.last_complete_msn = 10;
  s.last_part = PartPosition{11, 2};
  s.target_duration_s = 2;
  return s;
}

ReloadDecision decide(std::optional<std::string_view> msn,
                      std::optional<std::string_view> part = std::nullopt,
                      std::optional<std::string_view> skip = std::nullopt, ReloadState state = live()) {
  return decide_blocking_reload(ReloadQuery{msn, part, skip}, state, 1000);
}

TEST(PackageBlockingReload, PlainRequestIsReadyNow) {
  EXPECT_EQ(decide(std::nullopt).kind, Kind::ready);
  const auto d = decide(std::nullopt, std::nullopt, "YES");
  EXPECT_EQ(d.kind, Kind::ready);
  EXPECT_TRUE(d.skip);
  EXPECT_TRUE(decide(std::nullopt, std::nullopt, "v2").skip);
}

TEST(PackageBlockingReload, ExistingPartOrSegmentIsReadyNow) {
  EXPECT_EQ(decide("11", "2").kind, Kind::ready);
  EXPECT_EQ(decide("11", "0").kind, Kind::ready);
  EXPECT_EQ(decide("10", "9").kind, Kind::ready);  // segment 10 is complete: any part index of it
  EXPECT_EQ(decide("10").kind, Kind::ready);
  EXPECT_EQ(decide("3").kind, Kind::ready);  // older than the window: answer with what we have
}

TEST(PackageBlockingReload, FuturePartIsHeldWithDeadline) {
  const auto d = decide("11", "3");
  EXPECT_EQ(d.kind, Kind::hold);
  EXPECT_EQ(d.msn, 11);
  EXPECT_EQ(d.part, 3);
  EXPECT_EQ(d.deadline_ms, 1000 + 6000);  // 3 × target duration, then 503
  EXPECT_EQ(blocking_timeout_ms(2), 6000);
  EXPECT_EQ(decide("12", "0").kind, Kind::hold);
  EXPECT_EQ(decide("11").kind, Kind::hold);  // whole segment 11 not complete yet
  EXPECT_EQ(decide("12").kind, Kind::hold);  // msn = last + 2 is allowed
}

TEST(PackageBlockingReload, HeldRequestBecomesSatisfied) {
  const auto d = decide("11", "3");
  ReloadState s = live();
  EXPECT_FALSE(is_satisfied(d, s));
  s.last_part = PartPosition{11, 3};
  EXPECT_TRUE(is_satisfied(d, s));
  // Segment 11 ended after part 2: the part 3 the client expected becomes part 0 of segment 12.
  s = live();
  s.last_complete_msn = 11;
  EXPECT_TRUE(is_satisfied(d, s));
  // A whole-segment wait needs the segment complete, not just its parts.
  const auto whole = decide("11");
  s = live();
  s.last_part = PartPosition{11, 4};
  EXPECT_FALSE(is_satisfied(whole, s));
  s.last_complete_msn = 11;
  EXPECT_TRUE(is_satisfied(whole, s));
  // The event ended: answer everything (with ENDLIST).
  s = live();
  s.ended = true;
  EXPECT_TRUE(is_satisfied(d, s));
}

TEST(PackageBlockingReload, BadRequests) {
  EXPECT_EQ(decide("13").kind, Kind::bad_request);  // more than 2 segments ahead
  EXPECT_EQ(decide("13", "0").kind, Kind::bad_request);
  EXPECT_EQ(decide(std::nullopt, "1").kind, Kind::bad_request);  // part without msn
  EXPECT_EQ(decide("abc").kind, Kind::bad_request);
  EXPECT_EQ(decide("-1").kind, Kind::bad_request);
  EXPECT_EQ(decide("").kind, Kind::bad_request);
  EXPECT_EQ(decide("11", "x").kind, Kind::bad_request);
  EXPECT_EQ(decide("11", "1 ").kind, Kind::bad_request);
  EXPECT_EQ(decide("99999999999999999999").kind, Kind::bad_request);
  EXPECT_EQ(decide(std::nullopt, std::nullopt, "NO").kind, Kind::bad_request);
  EXPECT_FALSE(decide("13").reason.empty());
}

TEST(PackageBlockingReload, BeforeFirstSegment) {
  ReloadState s;  // nothing produced yet
  EXPECT_EQ(decide("0", "0", std::nullopt, s).kind, Kind::hold);
  EXPECT_EQ(decide("1", std::nullopt, std::nullopt, s).kind, Kind::hold);
  EXPECT_EQ(decide("2", std::nullopt, std::nullopt, s).kind, Kind::bad_request);
}

TEST(PackageBlockingReload, EndedStreamAnswersNow) {
  ReloadState s = live();
  s.ended = true;
  EXPECT_EQ(decide("12", "0", std::nullopt, s).kind, Kind::ready);
}

}  // namespace
}  // namespace sreda::package
