// Server-wide refusals for people (the desk's live monitor): every series of some counter families of
// /metrics (sreda_http_refused_total{cause}, sreda_ingest_refused_total{protocol,reason}) as counts over the
// last minutes. Counters only grow, from zero at start, however they are bumped (add() or a fast counter()):
// sample() keeps their values once per bucket, and a count in the window is the value now minus the newest
// sample at or before the window's start (the zero of the start while the server is younger than the window).
// Memory: window / bucket samples of a few series. Any thread (own mutex); sample() from a timer.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "server/core/metrics.h"

namespace sreda::web {

class RefusalWindow {
 public:
  RefusalWindow(const core::Metrics& metrics, std::vector<std::string> families, int64_t start_ms,
                int64_t window_ms = 10 * 60'000, int64_t bucket_ms = 10'000);

  // Keeps the counters' values when a bucket has passed since the last sample (cheap otherwise).
  void sample(int64_t now_ms);

  struct Count {
    std::string family;
    std::map<std::string, std::string> labels;
    int64_t count = 0;
  };
  // The series with refusals within the window ending now, by family and labels.
  std::vector<Count> counts(int64_t now_ms) const;
  int64_t window_ms() const { return window_ms_; }

 private:
  using Values = std::map<std::string, double>;  // family + rendered labels → value
  Values read() const;

  const core::Metrics& metrics_;
  std::vector<std::string> families_;
  int64_t window_ms_, bucket_ms_;
  mutable std::mutex mutex_;
  std::deque<std::pair<int64_t, Values>> samples_;  // oldest first
};

// The labels of a rendered label set ({cause="busy",protocol="rtmp"} → cause: busy, protocol: rtmp).
std::map<std::string, std::string> parse_labels(const std::string& rendered);

}  // namespace sreda::web
