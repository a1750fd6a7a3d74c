#include "server/web/refusal_window.h"

#include <cmath>

namespace sreda::web {

RefusalWindow::RefusalWindow(const core::Metrics& metrics, std::vector<std::string> families, int64_t start_ms,
                             int64_t window_ms, int64_t bucket_ms)
    : metrics_(metrics), families_(std::move(families)), window_ms_(window_ms), bucket_ms_(bucket_ms) {
  samples_.emplace_back(start_ms, Values{});  // every counter is zero at start
}

RefusalWindow::Values RefusalWindow::read() const {
  Values out;
  for (const auto& family : families_)
    for (const auto& [labels, v] : metrics_.values(family)) out[family + labels] = v;
  return out;
}

void RefusalWindow::sample(int64_t now_ms) {
  {
    std::lock_guard lock(mutex_);
    if (now_ms - samples_.back().first < bucket_ms_) return;
  }
  Values now = read();
  std::lock_guard lock(mutex_);
  samples_.emplace_back(now_ms, std::move(now));
  // Keep the newest sample at or before the window's start (the baseline) and everything after it.
  while (samples_.size() >= 2 && samples_[1].first <= now_ms - window_ms_) samples_.pop_front();
}

std::vector<RefusalWindow::Count> RefusalWindow::counts(int64_t now_ms) const {
  const Values now = read();
  Values base;
  {
    std::lock_guard lock(mutex_);
    auto it = samples_.begin();
    while (std::next(it) != samples_.end() && std::next(it)->first <= now_ms - window_ms_) ++it;
    base = it->second;
  }
  std::vector<Count> out;
  for (const auto& [key, value] : now) {
    auto b = base.find(key);
    const auto n = static_cast<int64_t>(std::llround(value - (b == base.end() ? 0.0 : b->second)));
    if (n <= 0) continue;
    const size_t brace = key.find('{');
    Count c;
    c.family = key.substr(0, brace);
    if (brace != std::string::npos) c.labels = parse_labels(key.substr(brace));
    c.count = n;
    out.push_back(std::move(c));
  }
  return out;
}

std::map<std::string, std::string> parse_labels(const std::string& rendered) {
  std::map<std::string, std::string> out;
  size_t i = rendered.empty() || rendered.front() != '{' ? 0 : 1;
  while (i < rendered.size()) {
    const size_t eq = rendered.find("=\"", i);
    if (eq == std::string::npos) break;
    std::string key = rendered.substr(i, eq - i), value;
    size_t j = eq + 2;
    for (; j < rendered.size() && rendered[j] != '"'; ++j) {
      if (rendered[j] == '\\' && j + 1 < rendered.size()) ++j;
      value += rendered[j];
    }
    out[std::move(key)] = std::move(value);
    i = j + 1;
    if (i < rendered.size() && rendered[i] == ',') ++i;
  }
  return out;
}

}  // namespace sreda::web
