// Metrics: the hot-path counter() renders with add()'s series of the same name and labels.
#include <gtest/gtest.h>

#include "server/core/metrics.h"
#include "server/web/refusal_window.h"

using sreda::core::Metrics;
namespace web = sreda::web;

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

TEST(Metrics, LabelledGaugesAreReadAtScrapeTimeAndGoWithWhatTheyMeasure) {
  Metrics m;
  Metrics::Series now = {{{{"event", "7"}, {"studio", "Hall \"A\""}}, 12}, {{{"event", "8"}, {"studio", "B"}}, 0}};
  m.gauges("viewers", "viewers per event on air", [&now] { return now; });
  std::string text = m.render();
  EXPECT_NE(text.find("# HELP viewers viewers per event on air\n# TYPE viewers gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("viewers{event=\"7\",studio=\"Hall \\\"A\\\"\"} 12\n"), std::string::npos) << text;
  EXPECT_NE(text.find("viewers{event=\"8\",studio=\"B\"} 0\n"), std::string::npos) << text;
  now.pop_back();  // event 8 ended
  text = m.render();
  EXPECT_EQ(text.find("event=\"8\""), std::string::npos) << text;
  now.clear();
  text = m.render();
  EXPECT_NE(text.find("# TYPE viewers gauge\n"), std::string::npos) << "the family is still described";
  EXPECT_EQ(text.find("viewers{"), std::string::npos) << text;
}

TEST(RefusalWindow, CountsEachSeriesOverTheLastMinutesWhateverBumpsIt) {
  Metrics m;
  const int64_t t0 = 1'000'000'000;
  web::RefusalWindow window(m, {"sreda_http_refused_total", "sreda_ingest_refused_total"}, t0, 60'000, 10'000);
  auto& fast = m.counter("sreda_http_refused_total", {{"cause", "connections_per_address"}});
  fast += 5;
  m.add("sreda_ingest_refused_total", {{"protocol", "rtmp"}, {"reason", "chunk_size"}}, 4);
  m.add("sreda_ws_refused_total", {{"reason", "origin"}});  // another family: not counted
  auto by_key = [&](int64_t now) {
    std::map<std::string, int64_t> out;
    for (const auto& c : window.counts(now)) {
      std::string key = c.family;
      for (const auto& [k, v] : c.labels) key += " " + k + "=" + v;
      out[key] = c.count;
    }
    return out;
  };
  EXPECT_EQ(by_key(t0 + 1'000), (std::map<std::string, int64_t>{
                                    {"sreda_http_refused_total cause=connections_per_address", 5},
                                    {"sreda_ingest_refused_total protocol=rtmp reason=chunk_size", 4}}))
      << "younger than the window: everything since the start";
  for (int64_t t = t0 + 10'000; t <= t0 + 70'000; t += 10'000) window.sample(t);
  fast += 2;  // after the sample at t0 + 70 s
  EXPECT_EQ(by_key(t0 + 75'000), (std::map<std::string, int64_t>{
                                     {"sreda_http_refused_total cause=connections_per_address", 2}}))
      << "the first refusals left the window";
  window.sample(t0 + 80'000);
  window.sample(t0 + 85'000);  // within a bucket of the last: not kept
  EXPECT_EQ(by_key(t0 + 200'000).size(), 0u) << "no samples for a while: the last one is the baseline";
}

TEST(RefusalWindow, ParsesRenderedLabels) {
  EXPECT_EQ(web::parse_labels(R"({cause="busy",protocol="rtmp"})"),
            (std::map<std::string, std::string>{{"cause", "busy"}, {"protocol", "rtmp"}}));
  EXPECT_EQ(web::parse_labels(R"({a="x\"y"})"), (std::map<std::string, std::string>{{"a", "x\"y"}}));
  EXPECT_TRUE(web::parse_labels("").empty());
}
