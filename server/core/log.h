// Logging with context (STYLE.md 10): "2026-11-23T18:00:00.123Z info [rtmp 127.0.0.1:53122] message".
// Any thread: each line is written whole under a lock. Context and message are written through
// escape_for_log (core/text.h): a newline or another control character that came from the network (an
// RTMP app name, a login name) can never start a forged line.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace sreda::core {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Returns false for an unknown name.
bool parse_log_level(std::string_view name, LogLevel& out);
void set_log_level(LogLevel level);
LogLevel log_level();
void log_line(LogLevel level, std::string_view context, std::string_view message);

// A component's logger: carries its context, e.g. Logger("rtmp 127.0.0.1:53122 studio=hall-1").
class Logger {
 public:
  explicit Logger(std::string context) : context_(std::move(context)) {}
  const std::string& context() const { return context_; }
  void debug(std::string_view m) const { log_line(LogLevel::debug, context_, m); }
  void info(std::string_view m) const { log_line(LogLevel::info, context_, m); }
  void warn(std::string_view m) const { log_line(LogLevel::warn, context_, m); }
  void error(std::string_view m) const { log_line(LogLevel::error, context_, m); }

 private:
  std::string context_;
};

// At most one log line per `period` for a repeated event (a flood of refused connections): allow() says
// whether to write one now and how many were held back since the last. Any thread (a mutex).
class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::steady_clock::duration period) : period_(period) {}
  bool allow(uint64_t& held_back);

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point last_{};
  bool written_ = false;
  uint64_t held_back_ = 0;
};

}  // namespace sreda::core
