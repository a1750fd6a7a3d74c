// HTTP request/response values passed between the web thread and the handlers.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace sreda::web {

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string path;    // decoded path, e.g. "/api/events/3"
  std::map<std::string, std::string> query;
  std::string authorization;
  std::string host;
  std::string origin;
  std::string content_type;
  std::string peer;    // the client's address: the TCP peer, or what a trusted proxy says (core::client_address)
  std::string cookie;  // the Cookie header
  std::string body;
  // Set when the connection closes (the live front's connections): a handler holding the request may drop it.
  std::shared_ptr<const std::atomic<bool>> gone;
  bool connection_gone() const { return gone && gone->load(std::memory_order_relaxed); }

  std::string bearer_token() const;
  std::string query_value(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Instead of `body`: bytes shared with their producer (a live part, a poster), sent without a copy.
  std::shared_ptr<const std::vector<uint8_t>> shared_body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string file_path;   // when set, the file is streamed instead of body
  bool close = false;      // close the connection after this response

  static HttpResponse json(int status, const nlohmann::json& body);
  // {"error":{"code":…,"message":…,"field":…}}
  static HttpResponse error(int status, const std::string& code, const std::string& message,
                            const std::string& field = "");
  static HttpResponse text(int status, const std::string& content_type, std::string body);
  // A refusal by a limit (429, 503): the error JSON with `message` in plain words for people, "retry_after_s",
  // and a Retry-After header.
  static HttpResponse refused(int status, const std::string& code, const std::string& message, int64_t retry_after_s);

  std::string_view payload() const {
    if (shared_body) return {reinterpret_cast<const char*>(shared_body->data()), shared_body->size()};
    return body;
  }
};

// Delivers a response; callable from any thread, exactly once.
using Reply = std::function<void(HttpResponse)>;

// A route handler: called on its transport's thread (the web thread; /live: the front's thread); replies now
// or later from any thread.
class RouteHandler {
 public:
  // Which methods the route answers: a read-only route is only called for GET and HEAD (the rules answer
  // anything else 405, server/web/http_rules.h).
  enum class Methods { any, read_only };
  virtual ~RouteHandler() = default;
  virtual void handle(HttpRequest request, Reply reply) = 0;
  virtual Methods methods() const { return Methods::any; }
};

}  // namespace sreda::web
