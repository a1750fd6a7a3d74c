// Prometheus text-format metrics. Counters can be bumped from any thread (a mutex at this seam);
// gauges are read through callbacks at scrape time. Later subsystems register theirs here.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sreda::core {

class Metrics {
 public:
  // labels like {{"route","/api"},{"status","200"}}
  void add(const std::string& name, const std::map<std::string, std::string>& labels, double value = 1);
  void describe(const std::string& name, const std::string& type, const std::string& help);
  // A value computed at scrape time (e.g. a queue depth read from an atomic).
  void gauge(const std::string& name, const std::string& help, std::function<double()> read);
  // A family of gauges with labels, read at scrape time (e.g. viewers per live event): `read` returns every
  // series there is now, so a series it no longer returns (an event that ended) is gone from the next scrape.
  // Called under the Metrics' lock: it must not call back into the Metrics.
  using Series = std::vector<std::pair<std::map<std::string, std::string>, double>>;
  void gauges(const std::string& name, const std::string& help, std::function<Series()> read);
  std::string render() const;
  // A counter for a hot path (a request served by the live front): bumped with a relaxed atomic add instead
  // of add()'s mutex and label rendering. Rendered with add()'s series of the same name and labels (their
  // sum). The reference stays valid for the Metrics' lifetime.
  std::atomic<uint64_t>& counter(const std::string& name, const std::map<std::string, std::string>& labels);
  // A counter family's series now (rendered label set, as in render() → value; add()'s and counter()'s summed).
  std::map<std::string, double> values(const std::string& name) const;

 private:
  struct Family {
    std::string type = "counter";
    std::string help;
    std::map<std::string, double> series;  // rendered label set → value
    std::function<double()> read;
    std::function<Series()> read_labelled;  // gauges()
    std::map<std::string, std::unique_ptr<std::atomic<uint64_t>>> fast;  // counter(): rendered labels → count
  };
  static std::map<std::string, double> series_of(const Family& f);
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace sreda::core
