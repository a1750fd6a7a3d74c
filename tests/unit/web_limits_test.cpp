#include "server/web/limits.h"

#include <gtest/gtest.h>

using namespace sreda::web;

TEST(ConnectionBudget, CapsPerAddressAndInTotal) {
  ConnectionBudget b(5, 2);
  EXPECT_EQ(b.acquire("a"), ConnectionBudget::Verdict::ok);
  EXPECT_EQ(b.acquire("a"), ConnectionBudget::Verdict::ok);
  EXPECT_EQ(b.acquire("a"), ConnectionBudget::Verdict::per_address);
  EXPECT_EQ(b.acquire("b", 10), ConnectionBudget::Verdict::ok);  // a shared address's larger cap
  EXPECT_EQ(b.acquire("b", 10), ConnectionBudget::Verdict::ok);
  EXPECT_EQ(b.acquire("b", 10), ConnectionBudget::Verdict::ok);
  EXPECT_EQ(b.acquire("proxy", -1), ConnectionBudget::Verdict::total);  // 5 open: the total cap
  EXPECT_EQ(b.total(), 5);
  b.release("a");
  EXPECT_EQ(b.of("a"), 1);
  EXPECT_EQ(b.acquire("a"), ConnectionBudget::Verdict::ok);
  b.release("nobody");  // not counted: no effect
  EXPECT_EQ(b.total(), 5);
  for (int i = 0; i < 2; ++i) b.release("a");
  for (int i = 0; i < 3; ++i) b.release("b");
  EXPECT_EQ(b.total(), 0);
  EXPECT_EQ(b.of("a"), 0);
}

TEST(RateLimiter, BurstThenRateWithRetryAfter) {
  RateLimiter r(2, 4);  // 2/s, bursts of 4
  const int64_t t = 1'000'000;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.take("x", t), 0) << i;
  const int64_t wait = r.take("x", t);
  EXPECT_GE(wait, 1);
  EXPECT_EQ(r.take("y", t), 0);          // another address has its own bucket
  EXPECT_EQ(r.take("x", t + 500), 0);    // one token back after 0.5 s
  EXPECT_GE(r.take("x", t + 500), 1);
  EXPECT_EQ(r.take("x", t + 60'000), 0); // refilled (never above the burst)
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.take("x", t + 60'000), 0);
  EXPECT_GE(r.take("x", t + 60'000), 1);
  // A shared address (scale 10): bursts of 40.
  for (int i = 0; i < 40; ++i) EXPECT_EQ(r.take("school", t, 10), 0) << i;
  EXPECT_GE(r.take("school", t, 10), 1);
}

TEST(RateLimiter, ForgetsRefilledBucketsBeyondItsBound) {
  RateLimiter r(1, 1);
  for (int i = 0; i < 50'001; ++i) r.take("k" + std::to_string(i), 0);
  EXPECT_GT(r.keys(), 50'000u);
  r.take("late", 10'000);  // every earlier bucket has refilled by now
  EXPECT_LT(r.keys(), 10u);
}

TEST(BurstLog, OneLinePerBurst) {
  BurstLog l(10'000);
  EXPECT_TRUE(l.first_of_burst(0));
  for (int i = 1; i < 100; ++i) EXPECT_FALSE(l.first_of_burst(i * 100));  // ten a second: one line
  EXPECT_TRUE(l.first_of_burst(9'900 + 10'000));  // quiet for 10 s: a new burst
}
