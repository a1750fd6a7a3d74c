// The live front's request reading (server/web/live_front.h): which requests it serves itself, and the parse
// of their header. Pure functions of the bytes read so far (no I/O), so they are unit-tested byte by byte and
// fuzzed (tests/fuzz/fuzz_live_front_request.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "server/web/http.h"
#include "server/web/http_rules.h"

namespace sreda::web::live_front {

// Who answers the request that starts at the beginning of `in`, judged from its request line alone.
enum class Route {
  need_more,  // the request line is not complete yet
  front,      // "GET <prefix>…" or "HEAD <prefix>…" over HTTP/1.x: the live front reads and answers it
  handoff,    // anything else (other paths or methods, absolute-form targets, garbage): libwebsockets
};
// `prefix` like "/live/". A request line longer than `max_line` bytes is handed off.
Route classify(std::string_view in, std::string_view prefix, size_t max_line);

struct Head {
  HttpRequest request;  // method, path and query (decoded by the rules), host, origin, authorization,
                        // content_type, cookie
  std::string x_forwarded_for, forwarded;  // for the client's address (core::client_address)
  size_t header_bytes = 0;  // bytes of `in` the request line and header took (the request ends there)
  int version = 11;         // 10: HTTP/1.0 (answered as such)
  bool keep_alive = true;   // HTTP/1.1 without "Connection: close", or HTTP/1.0 with "keep-alive"
};

enum class ParseStatus {
  need_more,  // the header is not complete yet (and within `max_header`)
  ok,         // `head` is filled; the request has no body
  too_large,  // the header is longer than `max_header` bytes → 431 and close
  bad,        // not HTTP → 400 and close
  bad_path,   // the rules' PathVerdict::bad (an undecodable %-escape, a NUL, a backslash) → 400 bad_path
  traversal,  // the rules' PathVerdict::traversal (a "." or ".." segment, plain or %-encoded) → 404
  handoff,    // a valid request the live front does not serve after all: an Upgrade, a body, not GET/HEAD
};
// Parses the request line and header (Boost.Beast's parser) at the start of `in`.
ParseStatus parse_head(std::string_view in, size_t max_header, Head& head);

}  // namespace sreda::web::live_front
