// The live front's request reading, byte by byte: which requests it serves, the header parse and its limits.
#include "server/web/live_front_request.h"

#include <gtest/gtest.h>

#include "server/web/live_front.h"

using namespace sreda::web;
using namespace sreda::web::live_front;

namespace {
constexpr size_t kLine = 2048;
constexpr size_t kHeader = 8192;
}  // namespace

TEST(EdgeClassify, LiveGetAndHeadAreTheEdges) {
  EXPECT_EQ(classify("GET /live/1/source/index.m3u8 HTTP/1.1\r\n", "/live/", kLine),
            live_front::Route::front);
  EXPECT_EQ(classify("HEAD /live/1/source/part3.1.m4s?x=1 HTTP/1.0\r\nHost: a\r\n", "/live/", kLine),
            live_front::Route::front);
  EXPECT_EQ(classify("GET /live/1/a HTTP/1.1\n", "/live/", kLine),
            live_front::Route::front);  // a bare LF ends a line too
}

TEST(EdgeClassify, EverythingElseIsHandedOver) {
  for (const char* in :
       {"POST /live/1/x HTTP/1.1\r\n", "GET /api/events HTTP/1.1\r\n", "GET /ws HTTP/1.1\r\n",
        "GET /livestream HTTP/1.1\r\n", "GET /live HTTP/1.1\r\n", "get /live/1 HTTP/1.1\r\n",
        "GET http://x/live/1 HTTP/1.1\r\n", "GET /live/1 HTTP/2.0\r\n", "GET /live/1\r\n",
        "GET /live/1 HTTP/1.1 x\r\n", "\r\nGET /live/1 HTTP/1.1\r\n", "\x16\x03\x01\x02\x00\x01"})
    EXPECT_EQ(classify(in, "/live/", kLine), live_front::Route::handoff) << in;
}

TEST(EdgeClassify, WaitsOnlyWhileTheBytesCouldStillBeOurs) {
  for (const char* in :
       {"G", "GET", "GET ", "GET /li", "GET /live/", "GET /live/1/source/ind", "HEAD /live/1"})
    EXPECT_EQ(classify(in, "/live/", kLine), live_front::Route::need_more) << in;
  for (const char* in : {"P", "GET /a", "GETX", "HEAD /api", "GET  /live/"})
    EXPECT_EQ(classify(in, "/live/", kLine), live_front::Route::handoff) << in;
  // A request line that never ends within the limit is not ours to wait for.
  std::string long_line = "GET /live/" + std::string(kLine, 'a');
  EXPECT_EQ(classify(long_line, "/live/", kLine), live_front::Route::handoff);
}

TEST(EdgeParse, FillsTheRequest) {
  Head h;
  const std::string in =
      "GET /live/12/source/index.m3u8?_HLS_msn=40&_HLS_part=2&_HLS_skip=YES HTTP/1.1\r\n"
      "Host: tv.example\r\nOrigin: https://tv.example\r\nAuthorization: Bearer t\r\nX-Other: y\r\n\r\n"
      "GET /next";
  ASSERT_EQ(parse_head(in, kHeader, h), ParseStatus::ok);
  EXPECT_EQ(h.request.method, "GET");
  EXPECT_EQ(h.request.path, "/live/12/source/index.m3u8");
  EXPECT_EQ(h.request.query_value("_HLS_msn"), "40");
  EXPECT_EQ(h.request.query_value("_HLS_part"), "2");
  EXPECT_EQ(h.request.query_value("_HLS_skip"), "YES");
  EXPECT_EQ(h.request.host, "tv.example");
  EXPECT_EQ(h.request.origin, "https://tv.example");
  EXPECT_EQ(h.request.bearer_token(), "t");
  EXPECT_EQ(h.header_bytes, in.size() - std::string("GET /next").size());
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.version, 11);
}

TEST(EdgeParse, DecodesPercentEscapesAndRejectsTraversal) {
  Head h;
  ASSERT_EQ(parse_head("GET /live/1/source/part%31.0.m4s?a=%41&b HTTP/1.1\r\n\r\n", kHeader, h),
            ParseStatus::ok);
  EXPECT_EQ(h.request.path, "/live/1/source/part1.0.m4s");
  EXPECT_EQ(h.request.query_value("a"), "A");
  EXPECT_EQ(h.request.query.count("b"), 1u);
  for (const char* in : {"GET /live/1/../x HTTP/1.1\r\n\r\n", "GET /live/1/%2e%2e/x HTTP/1.1\r\n\r\n",
                         "GET /live/1/%2E%2E%2Fx HTTP/1.1\r\n\r\n", "GET /live/1/x/.. HTTP/1.1\r\n\r\n",
                         "GET /live/1/source/..%2f..%2fetc%2fpasswd HTTP/1.1\r\n\r\n"}) {
    EXPECT_EQ(parse_head(in, kHeader, h), ParseStatus::traversal) << in;
    EXPECT_EQ(h.header_bytes, std::string_view(in).size()) << in;  // answered; the connection goes on
  }
  for (const char* in : {"GET /live/1/%zz HTTP/1.1\r\n\r\n", "GET /live/1/%2 HTTP/1.1\r\n\r\n",
                         "GET /live/1/a%00b HTTP/1.1\r\n\r\n", "GET /live/1/x?a=%0 HTTP/1.1\r\n\r\n"})
    EXPECT_EQ(parse_head(in, kHeader, h), ParseStatus::bad_path) << in;
}

TEST(EdgeParse, ConnectionSemantics) {
  Head h;
  ASSERT_EQ(parse_head("GET /live/1 HTTP/1.1\r\nConnection: close\r\n\r\n", kHeader, h), ParseStatus::ok);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(parse_head("GET /live/1 HTTP/1.0\r\n\r\n", kHeader, h), ParseStatus::ok);
  EXPECT_FALSE(h.keep_alive);
  EXPECT_EQ(h.version, 10);
  ASSERT_EQ(parse_head("GET /live/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", kHeader, h),
            ParseStatus::ok);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(parse_head("HEAD /live/1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", kHeader, h), ParseStatus::ok);
  EXPECT_EQ(h.request.method, "HEAD");
}

TEST(EdgeParse, WhatTheEdgeDoesNotServeIsHandedOver) {
  Head h;
  EXPECT_EQ(
      parse_head("GET /live/1 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", kHeader, h),
      ParseStatus::handoff);
  EXPECT_EQ(parse_head("GET /live/1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", kHeader, h),
            ParseStatus::handoff);
  EXPECT_EQ(parse_head("GET /live/1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", kHeader, h),
            ParseStatus::handoff);
  EXPECT_EQ(parse_head("POST /live/1 HTTP/1.1\r\n\r\n", kHeader, h), ParseStatus::handoff);
}

TEST(EdgeParse, IncompleteOversizedAndMalformed) {
  Head h;
  EXPECT_EQ(parse_head("GET /live/1 HTTP/1.1\r\nHost: a\r\n", kHeader, h), ParseStatus::need_more);
  EXPECT_EQ(parse_head("GET /live/1 HTTP/1.1\r\nHost: a\r\n\r", kHeader, h), ParseStatus::need_more);
  std::string big = "GET /live/1 HTTP/1.1\r\nX: " + std::string(kHeader, 'a');
  EXPECT_EQ(parse_head(big, kHeader, h), ParseStatus::too_large);
  EXPECT_EQ(parse_head(big + "\r\n\r\n", kHeader, h), ParseStatus::too_large);
  EXPECT_EQ(parse_head("GET /live/1 HTTP/1.1\r\nBad Header\r\n\r\n", kHeader, h), ParseStatus::bad);
  EXPECT_EQ(parse_head("GET /live/1 HTTP/1.1\r\nContent-Length: x\r\n\r\n", kHeader, h), ParseStatus::bad);
  EXPECT_EQ(parse_head("GET /live/1 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", kHeader, h),
            ParseStatus::bad);
}

TEST(EdgeResponseHead, AsLibwebsocketsWritesIt) {
  HttpResponse r = HttpResponse::error(404, "not_found", "x");
  EXPECT_EQ(
      response_head(r, 10, false),
      "HTTP/1.1 404 Not Found\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: 10\r\n"
      "cache-control: no-store\r\n\r\n");
  HttpResponse part;
  part.content_type = "video/iso.segment";
  part.headers = {{"cache-control", "public, max-age=31536000, immutable"},
                  {"access-control-allow-origin", "*"}};
  EXPECT_EQ(
      response_head(part, 5, true, true),
      "HTTP/1.0 200 OK\r\ncontent-type: video/iso.segment\r\ncontent-length: 5\r\ncache-control: public, "
      "max-age=31536000, immutable\r\naccess-control-allow-origin: *\r\nconnection: close\r\n\r\n");
}
