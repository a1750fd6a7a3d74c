// The overload rule (server/app/overload.h): late frames of one source within 5 s make the server behind; 10 s
// without any and it has caught up. Time is given (microseconds, monotonic).
#include <gtest/gtest.h>

#include "server/app/overload.h"

using sreda::app::Overload;

namespace {

constexpr int64_t kS = 1'000'000;

std::string render(sreda::core::Metrics& m) { return m.render(); }

}  // namespace

TEST(Overload, TenLateFramesOfOneSourceWithinFiveSecondsRefuseNewViewers) {
  sreda::core::Metrics m;
  Overload o(10, m);
  for (int i = 0; i < 9; ++i) o.report(Overload::Cause::whep_encode, "event 1's real-time encode", 1, 100 * kS + i);
  EXPECT_FALSE(o.refusal(100 * kS + 10));
  o.report(Overload::Cause::whep_encode, "event 1's real-time encode", 1, 101 * kS);
  auto why = o.refusal(101 * kS);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->cause, "whep_encode");
  EXPECT_NE(why->message.find("event 1's real-time encode fell behind real time (10 late frames within 5 s)"),
            std::string::npos)
      << why->message;
  EXPECT_NE(render(m).find("sreda_overload 1\n"), std::string::npos) << render(m);
  EXPECT_NE(render(m).find("sreda_overload_late_frames_total{cause=\"whep_encode\"} 10\n"), std::string::npos);
  // Still behind 9.9 s after the last late frame; caught up at 10 s.
  o.tick(110 * kS);
  EXPECT_TRUE(o.behind());
  o.tick(111 * kS);
  EXPECT_FALSE(o.behind());
  EXPECT_FALSE(o.refusal(111 * kS));
}

TEST(Overload, LateFramesSpreadOverMoreThanFiveSecondsOrOverSourcesDoNotTrip) {
  sreda::core::Metrics m;
  Overload o(10, m);
  for (int i = 0; i < 30; ++i) o.report(Overload::Cause::ladder, "event 1 rendition 720p", 1, i * 600'000);  // 1 in 0.6 s
  EXPECT_FALSE(o.behind());
  for (int i = 0; i < 9; ++i) {  // 9 + 9 from two rungs: neither has 10
    o.report(Overload::Cause::ladder, "event 2 rendition 720p", 1, 20 * kS + i);
    o.report(Overload::Cause::ladder, "event 2 rendition 480p", 1, 20 * kS + i);
  }
  EXPECT_FALSE(o.behind());
  o.report(Overload::Cause::ladder, "event 2 rendition 480p", 3, 21 * kS);  // a burst counts each frame
  ASSERT_TRUE(o.refusal(21 * kS));
  EXPECT_EQ(o.refusal(21 * kS)->cause, "ladder");
}

TEST(Overload, ZeroIsOff) {
  sreda::core::Metrics m;
  Overload o(0, m);
  o.report(Overload::Cause::whep_encode, "event 1's real-time encode", 1000, kS);
  EXPECT_FALSE(o.refusal(kS));
  EXPECT_NE(render(m).find("sreda_overload_late_frames_total{cause=\"whep_encode\"} 1000\n"), std::string::npos);
}
