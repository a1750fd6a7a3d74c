#include "server/core/metrics.h"

#include <cmath>
#include <cstdio>

namespace sreda::core {
namespace {
std::string render_labels(const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ',';
    out += k + "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}
std::string number(double v) {
  char buf[64];
  if (std::floor(v) == v && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

void Metrics::add(const std::string& name, const std::map<std::string, std::string>& labels, double value) {
  std::lock_guard lock(mutex_);
  families_[name].series[render_labels(labels)] += value;
}

std::atomic<uint64_t>& Metrics::counter(const std::string& name, const std::map<std::string, std::string>& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = families_[name].fast[render_labels(labels)];
  if (!slot) slot = std::make_unique<std::atomic<uint64_t>>(0);
  return *slot;
}

void Metrics::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(mutex_);
  auto& f = families_[name];
  f.type = type;
  f.help = help;
}

void Metrics::gauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  auto& f = families_[name];
  f.type = "gauge";
  f.help = help;
  f.read = std::move(read);
}

void Metrics::gauges(const std::string& name, const std::string& help, std::function<Series()> read) {
  std::lock_guard lock(mutex_);
  auto& f = families_[name];
  f.type = "gauge";
  f.help = help;
  f.read_labelled = std::move(read);
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    if (f.read) out += name + " " + number(f.read()) + "\n";
    if (f.read_labelled)
      for (const auto& [labels, v] : f.read_labelled()) out += name + render_labels(labels) + " " + number(v) + "\n";
    for (const auto& [labels, v] : series_of(f)) out += name + labels + " " + number(v) + "\n";
  }
  return out;
}

std::map<std::string, double> Metrics::series_of(const Family& f) {
  std::map<std::string, double> all = f.series;
  for (const auto& [labels, n] : f.fast)  // a counter never bumped is not a series yet, as with add()
    if (const uint64_t v = n->load(std::memory_order_relaxed)) all[labels] += static_cast<double>(v);
  return all;
}

std::map<std::string, double> Metrics::values(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  return it == families_.end() ? std::map<std::string, double>{} : series_of(it->second);
}

}  // namespace sreda::core
