// The HTTP rules both transports answer by (server/web/http_rules.h): paths, queries, methods and routes,
// response fields, caching, errors; and the reply outbox that carries replies across threads.
#include <gtest/gtest.h>

#include <thread>

#include "server/web/http_rules.h"
#include "server/web/live_front.h"
#include "server/web/live_routes.h"
#include "server/web/reply_outbox.h"

using namespace sreda::web;

namespace {

class Recorder : public RouteHandler {
 public:
  explicit Recorder(Methods methods = Methods::any) : methods_(methods) {}
  void handle(HttpRequest, Reply reply) override { reply(HttpResponse::text(200, "text/plain", "ok")); }
  Methods methods() const override { return methods_; }

 private:
  Methods methods_;
};

HttpRequest request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

}  // namespace

TEST(HttpRulesPath, DotSegmentsAreTraversalWhereverTheyAre) {
  for (const char* p : {"/..", "/../etc/passwd", "/live/1/../x", "/live/1/x/..", "/a/./b", "/.", "/archive/1/source/."})
    EXPECT_EQ(check_path(p), PathVerdict::traversal) << p;
  for (const char* p : {"/", "/live/1/source/part1.0.m4s", "/a..b", "/..a/b", "/a/...", "/a//b", "/.well-known/x"})
    EXPECT_EQ(check_path(p), PathVerdict::ok) << p;
}

TEST(HttpRulesPath, NotAbsoluteNulAndBackslashAreBad) {
  EXPECT_EQ(check_path(""), PathVerdict::bad);
  EXPECT_EQ(check_path("live/1"), PathVerdict::bad);
  EXPECT_EQ(check_path(std::string_view("/a\0b", 4)), PathVerdict::bad);
  EXPECT_EQ(check_path("/archive/1/source/\\..\\secret.txt"), PathVerdict::bad);
}

TEST(HttpRulesPath, TheAnswersAreTheSameForEveryRoute) {
  const HttpResponse traversal = path_refusal(PathVerdict::traversal);
  EXPECT_EQ(traversal.status, 404);
  EXPECT_EQ(traversal.body, R"({"error":{"code":"not_found","message":"no such file"}})");
  const HttpResponse bad = path_refusal(PathVerdict::bad);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, R"({"error":{"code":"bad_path","message":"invalid path"}})");
}

TEST(HttpRulesTarget, DecodesPathAndQueryThenChecksThePath) {
  HttpRequest r;
  ASSERT_EQ(parse_target("/live/1/source/part%31.0.m4s?_HLS_msn=4&_HLS_part=%32&flag&&a=1&a=2", r), PathVerdict::ok);
  EXPECT_EQ(r.path, "/live/1/source/part1.0.m4s");
  EXPECT_EQ(r.query_value("_HLS_msn"), "4");
  EXPECT_EQ(r.query_value("_HLS_part"), "2");
  EXPECT_EQ(r.query.count("flag"), 1u);
  EXPECT_EQ(r.query_value("a"), "2");  // a repeated key: the last wins
  EXPECT_EQ(r.query.size(), 4u);       // the empty item is skipped
  for (const char* t : {"/live/1/%2e%2e/x", "/live/1/%2E%2E%2Fx", "/live/1/source/..%2f..%2fetc%2fpasswd"}) {
    HttpRequest q;
    EXPECT_EQ(parse_target(t, q), PathVerdict::traversal) << t;
  }
  for (const char* t : {"/live/1/%zz", "/live/1/%2", "/live/1/a%00b", "/live/1/x?a=%0", "/x?%zz=1", "/a%5cb"}) {
    HttpRequest q;
    EXPECT_EQ(parse_target(t, q), PathVerdict::bad) << t;
  }
}

TEST(HttpRulesQuery, DecodedItemsAreSplitTheSameWay) {
  // libwebsockets hands over items already decoded; the live front's are raw: both end in the same map.
  std::map<std::string, std::string> from_lws, from_edge;
  for (const char* item : {"q=a b", "when=live", "page", ""}) EXPECT_TRUE(add_query_item(item, false, from_lws));
  EXPECT_TRUE(parse_query("q=a%20b&when=live&page&", from_edge));
  EXPECT_EQ(from_lws, from_edge);
  EXPECT_EQ(from_edge.at("page"), "");
  std::map<std::string, std::string> q;
  EXPECT_FALSE(add_query_item(std::string_view("a=\0", 3), false, q));
  EXPECT_TRUE(add_query_item("k=v=w", true, q));  // the first '=' splits
  EXPECT_EQ(q.at("k"), "v=w");
}

TEST(HttpRulesRouting, PathsMethodsAndMissingRoutesAreAnsweredByTheRules) {
  Recorder any, read_only(RouteHandler::Methods::read_only);
  const std::vector<Route> routes = {{"/api", "/api", &any}, {"/live", "/live", &read_only}, {"/", "static", &read_only}};
  Routing r = route_request(routes, request("POST", "/api/events"));
  ASSERT_FALSE(r.answered);
  EXPECT_EQ(r.route, &routes[0]);
  EXPECT_EQ(r.label, "/api");
  r = route_request(routes, request("HEAD", "/live/1/master.m3u8"));
  EXPECT_FALSE(r.answered);
  EXPECT_EQ(r.label, "/live");
  r = route_request(routes, request("POST", "/live/1/x.m4s"));
  ASSERT_TRUE(r.answered);
  EXPECT_EQ(r.answer.status, 405);
  EXPECT_EQ(r.answer.body, R"({"error":{"code":"method_not_allowed","message":"POST is not allowed here"}})");
  r = route_request(routes, request("GET", "/live/1/../../etc/passwd"));
  ASSERT_TRUE(r.answered);
  EXPECT_EQ(r.answer.status, 404);
  EXPECT_EQ(r.label, "/live");  // counted under the route its prefix names
  r = route_request(routes, request("GET", "/livestream"));  // not "/live": the static route
  EXPECT_EQ(r.label, "static");
  r = route_request(routes, request("GET", "/live/1/index.m3u8"), PathVerdict::bad);  // the transport's verdict
  ASSERT_TRUE(r.answered);
  EXPECT_EQ(r.answer.status, 400);
  r = route_request({{"/api", "/api", &any}}, request("GET", "/nothing"));
  ASSERT_TRUE(r.answered);
  EXPECT_EQ(r.answer.status, 404);
  EXPECT_EQ(r.label, "other");
}

// /metrics counts requests and bytes by route class, never by raw path: /live by the kind of file.
TEST(HttpRulesRouting, LiveRequestsAreCountedByTheirRouteClass) {
  Recorder read_only(RouteHandler::Methods::read_only);
  const std::vector<Route> routes = {{"/live", "/live", &read_only, &LiveRoutes::route_class},
                                     {"/", "pages", &read_only}};
  auto label = [&](const char* path) { return std::string(route_request(routes, request("GET", path)).label); };
  EXPECT_EQ(label("/live/12/master.m3u8"), "/live/master");
  EXPECT_EQ(label("/live/12/720p/index.m3u8"), "/live/playlist");
  EXPECT_EQ(label("/live/12/720p/part41.3.m4s"), "/live/part");
  EXPECT_EQ(label("/live/12/720p/seg41.m4s"), "/live/segment");
  EXPECT_EQ(label("/live/12/720p/init.mp4"), "/live/init");
  EXPECT_EQ(label("/live/12/720p/init2.mp4"), "/live/init");
  EXPECT_EQ(label("/live/12/poster.jpg"), "/live/poster");
  EXPECT_EQ(label("/live/12/720p/whatever.txt"), "/live");
  EXPECT_EQ(label("/live"), "/live");
  EXPECT_EQ(label("/live/1/../../etc/passwd"), "/live");  // refused by the rules, still its route's class
  EXPECT_EQ(label("/watch/12"), "pages");
}

TEST(HttpRulesResponse, CachingPoliciesAndFieldsInOrder) {
  HttpResponse part;
  set_caching(part, Caching::immutable);
  allow_any_origin(part);
  HttpResponse playlist;
  set_caching(playlist, Caching::short_lived, 6);
  HttpResponse page;
  set_caching(page, Caching::revalidate);
  forbid_sniffing(page);
  EXPECT_EQ(HttpResponse::json(200, {}).headers.front().second, "no-store");
  HttpResponse live_playlist;  // browsers revalidate; an edge cache may keep it a second
  set_caching(live_playlist, Caching::shared_brief);
  EXPECT_EQ(live_playlist.headers.front().second, "public, max-age=0, s-maxage=1");
  std::string fields;
  const auto collect = [&fields](std::string_view name, std::string_view value) {
    fields += std::string(name) + ": " + std::string(value) + "\n";
  };
  for_each_field(part, true, collect);
  for_each_field(playlist, false, collect);
  for_each_field(page, false, collect);
  EXPECT_EQ(fields,
            "cache-control: public, max-age=31536000, immutable\naccess-control-allow-origin: *\nconnection: close\n"
            "cache-control: public, max-age=6\n"
            "cache-control: no-cache\nx-content-type-options: nosniff\n");
  // The live front writes the rules' fields after its status line, content-type and content-length.
  EXPECT_EQ(response_head(playlist, 3, false), "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 3\r\n"
                                               "cache-control: public, max-age=6\r\n\r\n");
}

TEST(HttpRulesErrors, LimitsAnswerInPlainWordsAndClose) {
  for (const HttpResponse& r : {header_too_large(8192), body_too_large(65536), bad_request("invalid Content-Length"),
                                too_many_connections()}) {
    EXPECT_TRUE(r.close) << r.status;
    EXPECT_NE(r.body.find("\"message\""), std::string::npos) << r.status;
  }
  EXPECT_EQ(header_too_large(8192).status, 431);
  EXPECT_EQ(body_too_large(1).body, R"({"error":{"code":"too_large","message":"request body larger than 1 bytes"}})");
  const HttpResponse busy = too_many_connections();
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.headers.back(), (std::pair<std::string, std::string>("retry-after", "30")));
  EXPECT_STREQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_STREQ(reason_phrase(499), "Bad Request");
}

TEST(HttpRulesMetrics, AnswersAndRefusalsAreCountedOnce) {
  sreda::core::Metrics metrics;
  HttpMetrics::describe(metrics);
  HttpMetrics m(metrics, "test");
  m.answered("/live", 200);
  m.answered("/live", 200);
  m.answered("/api", 404);
  m.refused("api_rate", "refusing", 1000);
  m.refused("api_rate", "refusing", 1001);
  const auto answered = metrics.values("sreda_http_requests_total");
  EXPECT_EQ(answered.at(R"({route="/live",status="200"})"), 2);
  EXPECT_EQ(answered.at(R"({route="/api",status="404"})"), 1);
  EXPECT_EQ(metrics.values("sreda_http_refused_total").at(R"({cause="api_rate"})"), 2);
  m.sent("/live/part", 1000);
  m.sent("/live/part", 24);
  m.sent("/ws", 7);
  const auto sent = metrics.values("sreda_http_bytes_out_total");
  EXPECT_EQ(sent.at(R"({route="/live/part"})"), 1024);
  EXPECT_EQ(sent.at(R"({route="/ws"})"), 7);
  EXPECT_NE(metrics.render().find("# HELP sreda_http_bytes_out_total "), std::string::npos);
}

TEST(ReplyOutbox, RepliesFromOtherThreadsWaitForTheOwnersDrain) {
  std::vector<std::tuple<uint64_t, uint64_t, int>> delivered;
  int wakes = 0;
  ReplyOutbox outbox([&](uint64_t conn, uint64_t req, HttpResponse r) { delivered.emplace_back(conn, req, r.status); },
                     [&] { ++wakes; });
  Reply before_open = outbox.reply(1, 1);
  before_open(HttpResponse::text(200, "text/plain", ""));  // not open yet: dropped
  outbox.open();
  outbox.set_owner_thread();
  outbox.reply(2, 7)(HttpResponse::text(201, "text/plain", ""));  // on the owner's thread: at once
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0], std::make_tuple(uint64_t{2}, uint64_t{7}, 201));
  std::thread other([&] {
    outbox.reply(3, 1)(HttpResponse::text(202, "text/plain", ""));
    outbox.reply(4, 2)(HttpResponse::text(203, "text/plain", ""));
  });
  other.join();
  EXPECT_EQ(wakes, 1);  // one wake-up for the batch
  EXPECT_EQ(delivered.size(), 1u);
  bool ran = false;
  outbox.post_task([&] { ran = true; });  // never inline, even on the owner's thread
  EXPECT_FALSE(ran);
  outbox.drain();
  EXPECT_TRUE(ran);
  ASSERT_EQ(delivered.size(), 3u);
  EXPECT_EQ(std::get<2>(delivered[1]), 202);
  EXPECT_EQ(std::get<2>(delivered[2]), 203);
  outbox.close();
  std::thread late([&] { outbox.reply(5, 1)(HttpResponse::text(204, "text/plain", "")); });
  late.join();
  outbox.drain();
  EXPECT_EQ(delivered.size(), 3u);  // after close: dropped
}
