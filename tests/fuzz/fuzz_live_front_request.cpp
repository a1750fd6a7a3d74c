// libFuzzer target: the live front's request reading (server/web/live_front_request.h) and with it the HTTP
// rules' target decoding (server/web/http_rules.h: paths, queries) on arbitrary bytes. Whatever it accepts
// must keep its promises: a request it serves is a GET/HEAD of the prefix, its path passes the rules' check
// (absolute, no NUL or backslash, no "." or ".." segment), no query item holds a NUL, and it never claims
// more bytes than it was given.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/web/http_rules.h"
#include "server/web/live_front_request.h"

using namespace sreda::web::live_front;
using sreda::web::check_path;
using sreda::web::PathVerdict;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (size_t cut : {size, size / 2, size > 0 ? size - 1 : 0}) {
    std::string_view part = in.substr(0, cut);
    const Route route = classify(part, "/live/", 2048);
    Head head;
    const ParseStatus status = parse_head(part, 8192, head);
    if (status == ParseStatus::ok) {
      const std::string& path = head.request.path;
      if (head.header_bytes == 0 || head.header_bytes > part.size()) __builtin_trap();
      if (head.request.method != "GET" && head.request.method != "HEAD") __builtin_trap();
      if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos ||
          path.find("/../") != std::string::npos)
        __builtin_trap();
      if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0) __builtin_trap();
      if (check_path(path) != PathVerdict::ok) __builtin_trap();
      for (const auto& [key, value] : head.request.query)
        if (key.find('\0') != std::string::npos || value.find('\0') != std::string::npos) __builtin_trap();
    }
    if ((status == ParseStatus::traversal || status == ParseStatus::bad_path) &&
        (head.header_bytes == 0 || head.header_bytes > part.size()))
      __builtin_trap();
    if (route == Route::front && part.find('\n') == std::string_view::npos) __builtin_trap();
  }
  return 0;
}
