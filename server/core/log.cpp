#include "server/core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "server/core/clock.h"
#include "server/core/text.h"

namespace sreda::core {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_mutex;
const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}
}  // namespace

bool parse_log_level(std::string_view name, LogLevel& out) {
  for (LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    if (name == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void log_line(LogLevel level, std::string_view context, std::string_view message) {
  if (static_cast<int>(level) < g_level.load()) return;
  std::string line = format_rfc3339_ms(now_ms());
  line += ' ';
  line += level_name(level);
  line += " [";
  line += escape_for_log(context);
  line += "] ";
  line += escape_for_log(message);
  line += '\n';
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

bool LogThrottle::allow(uint64_t& held_back) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (written_ && now - last_ < period_) {
    ++held_back_;
    return false;
  }
  written_ = true;
  last_ = now;
  held_back = held_back_;
  held_back_ = 0;
  return true;
}

}  // namespace sreda::core
