// Metrics: the hot-path counter() renders with add()'s series of the same name and labels.
#include <gtest/gtest.h>

#include "server/web/metrics.h"

using sreda::web::Metrics;

TEST(Metrics, FastCountersSumWithAddedSeries) {
  Metrics m;
  m.describe("x_total", "counter", "x");
  auto& live = m.counter("x_total", {{"route", "/live"}, {"status", "200"}});
  auto& unused = m.counter("x_total", {{"route", "/live"}, {"status", "503"}});
  (void)unused;
  live.fetch_add(3);
  m.add("x_total", {{"route", "/live"}, {"status", "200"}}, 2);
  m.add("x_total", {{"route", "/api"}, {"status", "200"}});
  EXPECT_EQ(&m.counter("x_total", {{"status", "200"}, {"route", "/live"}}), &live);  // one per label set
  const std::string text = m.render();
  EXPECT_NE(text.find("x_total{route=\"/live\",status=\"200\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{route=\"/api\",status=\"200\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("status=\"503\""), std::string::npos) << text;  // never bumped: not a series yet
}
