#include "server/web/live_front_request.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace sreda::web::live_front {
namespace {

namespace http = boost::beast::http;
using boost::beast::string_view;

std::string_view sv(string_view s) {
  return {s.data(), s.size()};
}

// Beast's parser with our callbacks: it keeps only the fields the routes read, without allocating a
// field table; a body of any kind ends the parse as "hand off".
class HeadParser : public http::basic_parser<true> {
 public:
  explicit HeadParser(Head& head) : head_(head) {}
  bool has_body = false;
  PathVerdict verdict = PathVerdict::ok;  // of the request target

 private:
  void on_request_impl(http::verb method, string_view method_str, string_view target, int version,
                       boost::beast::error_code&) override {
    head_.version = version;
    head_.request.method.assign(method_str.data(), method_str.size());
    if (method != http::verb::get && method != http::verb::head) return;
    verdict =
        sreda::web::parse_target(sv(target), head_.request);  // the rules' path and query (http_rules.h)
  }
  void on_response_impl(int, string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(http::field name, string_view name_string, string_view value,
                     boost::beast::error_code&) override {
    switch (name) {
      case http::field::host:
        head_.request.host.assign(value.data(), value.size());
        break;
      case http::field::origin:
        head_.request.origin.assign(value.data(), value.size());
        break;
      case http::field::authorization:
        head_.request.authorization.assign(value.data(), value.size());
        break;
      case http::field::content_type:
        head_.request.content_type.assign(value.data(), value.size());
        break;
      case http::field::cookie:
        head_.request.cookie.assign(value.data(), value.size());
        break;
      case http::field::unknown:
        if (boost::beast::iequals(name_string, "x-forwarded-for"))
          head_.x_forwarded_for.assign(value.data(), value.size());
        break;
      case http::field::forwarded:
        head_.forwarded.assign(value.data(), value.size());
        break;
      default:
        break;
    }
  }
  void on_header_impl(boost::beast::error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const& length,
                         boost::beast::error_code& ec) override {
    if (!length || *length > 0) {
      has_body = true;
      ec = http::error::end_of_stream;  // stop here: the live front does not read bodies
    }
  }
  std::size_t on_body_impl(string_view body, boost::beast::error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, string_view, boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, boost::beast::error_code&) override {
    return body.size();
  }
  void on_finish_impl(boost::beast::error_code&) override {}

  Head& head_;
};

}  // namespace

Route classify(std::string_view in, std::string_view prefix, size_t max_line) {
  const size_t eol = in.substr(0, max_line).find('\n');
  if (eol == std::string_view::npos) {
    // Decide as soon as the bytes read rule the live front out; wait only while they could still be ours.
    for (std::string_view method : {std::string_view("GET "), std::string_view("HEAD ")}) {
      const size_t n = std::min(in.size(), method.size());
      if (in.substr(0, n) != method.substr(0, n)) continue;
      if (in.size() <= method.size()) return Route::need_more;
      const std::string_view after = in.substr(method.size());
      const size_t m = std::min(after.size(), prefix.size());
      if (after.substr(0, m) == prefix.substr(0, m))
        return in.size() >= max_line ? Route::handoff : Route::need_more;
    }
    return Route::handoff;
  }
  std::string_view line = in.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view rest;
  if (line.substr(0, 4) == "GET ")
    rest = line.substr(4);
  else if (line.substr(0, 5) == "HEAD ")
    rest = line.substr(5);
  else
    return Route::handoff;
  if (rest.substr(0, prefix.size()) != prefix) return Route::handoff;
  const size_t sp = rest.find(' ');
  if (sp == std::string_view::npos || rest.substr(sp + 1, 7) != "HTTP/1." || rest.size() != sp + 9)
    return Route::handoff;
  return Route::front;
}

ParseStatus parse_head(std::string_view in, size_t max_header, Head& head) {
  head = Head{};
  HeadParser parser(head);
  parser.header_limit(static_cast<std::uint32_t>(max_header));
  boost::beast::error_code ec;
  const size_t used = parser.put(boost::asio::const_buffer(in.data(), in.size()), ec);
  if (ec == http::error::need_more)
    return in.size() >= max_header ? ParseStatus::too_large : ParseStatus::need_more;
  if (ec == http::error::header_limit) return ParseStatus::too_large;
  if (!ec && parser.is_header_done()) {
    // Beast stops after the header (not eager): a body it would read next is declared there.
    const auto length = parser.content_length();
    if (parser.chunked() || (length && *length > 0)) parser.has_body = true;
  }
  if (parser.has_body || (!ec && parser.upgrade())) return ParseStatus::handoff;
  if (ec || !parser.is_header_done()) return ParseStatus::bad;
  if (head.request.method != "GET" && head.request.method != "HEAD") return ParseStatus::handoff;
  head.header_bytes = used;
  head.keep_alive = parser.keep_alive();
  if (parser.verdict == PathVerdict::bad) return ParseStatus::bad_path;
  if (parser.verdict == PathVerdict::traversal) return ParseStatus::traversal;
  return ParseStatus::ok;
}

}  // namespace sreda::web::live_front
