// The WHIP/WHEP routes without a network: TURN credentials (coturn's REST scheme, a known vector), the ICE
// servers as Link headers and as RTCPeerConnection's list, the path and offer checks, and what the routes
// answer with a fake back end and without one.
#include "server/web/webrtc_routes.h"

#include <gtest/gtest.h>

#include <optional>

using namespace sreda;
using namespace sreda::web;

namespace {

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

std::vector<std::string> headers(const HttpResponse& r, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : r.headers)
    if (k == name) out.push_back(v);
  return out;
}

struct FakeWhip : WhipEndpoint {
  int publishes = 0;
  std::string key, sdp;
  int64_t studio = 0;
  void publish(int64_t studio_id, const std::string& k, WebRtcOffer offer, Reply reply) override {
    ++publishes;
    studio = studio_id;
    key = k;
    sdp = offer.sdp;
    HttpResponse r;
    r.status = 201;
    r.body = "v=0\r\nanswer";
    r.headers = {{"location", "/whip/" + std::to_string(studio_id) + "/tok"}, {"etag", "\"tok\""}};
    reply(std::move(r));
  }
  void end(int64_t, const std::string& token, Reply reply) override {
    reply(token == "tok" ? HttpResponse::json(200, {{"ok", true}})
                         : HttpResponse::error(404, "not_found", "no such session"));
  }
};

struct Fixture {
  config::Config config;
  core::Metrics metrics;
  std::optional<WebRtcRoutes> routes;
  Fixture(WhipEndpoint* whip) {
    config.webrtc.ice_servers = "stun:stun.example.org:3478, turn:turn.example.org:3478?transport=udp, http://x";
    config.webrtc.turn_secret = "north-secret";
    config.server.api_requests_per_s = 1000;
    config.server.api_burst = 1000;
    routes.emplace(config, metrics, nullptr, whip, nullptr);
  }
  HttpResponse ask(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::string& type = "application/sdp", const std::string& auth = "Bearer k1") {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.content_type = type;
    req.authorization = auth;
    req.peer = "127.0.0.1";
    std::optional<HttpResponse> got;
    routes->handle(req, [&](HttpResponse r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value()) << method << " " << path;
    return got.value_or(HttpResponse{});
  }
};

const std::string kOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

}  // namespace

TEST(TurnCredentials, CoturnRestSchemeKnownVector) {
  // printf '%s' '1700086400:sreda' | openssl dgst -sha1 -hmac north-secret -binary | base64
  EXPECT_EQ(turn_password("north-secret", "1700086400:sreda"), "+ifJZq7iqo+vCihbvroRcel3W4I=");
  // RFC 2202 test case 2 (HMAC-SHA1, key "Jefe"), in base64.
  EXPECT_EQ(turn_password("Jefe", "what do ya want for nothing?"), "7/zfauXrL6LSdBbV8YTfnCWafHk=");
}

TEST(IceServers, TurnGetsTimeLimitedCredentialsStunNone) {
  config::WebRtcConfig c;
  c.ice_servers = " stun:a.example:3478 ,turn:b.example:3478?transport=udp,turns:c.example,bad:x,"
                  "turn:\"evil\",stun:a b";
  c.turn_secret = "north-secret";
  c.turn_ttl_s = 86400;
  auto list = ice_servers(c, 1700000000);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].url, "stun:a.example:3478");
  EXPECT_TRUE(list[0].username.empty());
  EXPECT_EQ(list[1].username, "1700086400:sreda");
  EXPECT_EQ(list[1].credential, "+ifJZq7iqo+vCihbvroRcel3W4I=");
  EXPECT_EQ(list[2].url, "turns:c.example");
  EXPECT_EQ(ice_link_value(list[0]), "<stun:a.example:3478>; rel=\"ice-server\"");
  EXPECT_EQ(ice_link_value(list[1]),
            "<turn:b.example:3478?transport=udp>; rel=\"ice-server\"; username=\"1700086400:sreda\"; "
            "credential=\"+ifJZq7iqo+vCihbvroRcel3W4I=\"; credential-type=\"password\"");
  auto j = ice_servers_json(list);
  EXPECT_EQ(j[0], nlohmann::json({{"urls", "stun:a.example:3478"}}));
  EXPECT_EQ(j[1]["credential"], "+ifJZq7iqo+vCihbvroRcel3W4I=");
  c.turn_secret.clear();  // no secret: TURN URLs without credentials
  EXPECT_TRUE(ice_servers(c, 1700000000)[1].username.empty());
  c.ice_servers.clear();
  EXPECT_TRUE(ice_servers(c, 1).empty());
}

TEST(WebRtcHttp, Paths) {
  auto t = webrtc_http::parse_target("/whip/12");
  EXPECT_TRUE(t.ok && t.whip && t.id == 12 && t.token.empty());
  t = webrtc_http::parse_target("/whep/7/AbC_-1");
  EXPECT_TRUE(t.ok && !t.whip && t.id == 7 && t.token == "AbC_-1");
  EXPECT_TRUE(webrtc_http::parse_target("/whip/3/").ok);
  for (const char* bad : {"/whip", "/whip/", "/whip/x", "/whip/0", "/whip/1/a/b", "/whip/1/a.b", "/whipx/1",
                          "/whip/1234567890123456", "/whep/-1", "/whip/1/"
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    EXPECT_FALSE(webrtc_http::parse_target(bad).ok) << bad;
}

TEST(WebRtcHttp, ContentTypeAndOfferText) {
  EXPECT_TRUE(webrtc_http::is_sdp("application/sdp"));
  EXPECT_TRUE(webrtc_http::is_sdp("Application/SDP; charset=utf-8"));
  EXPECT_FALSE(webrtc_http::is_sdp("application/sdpx"));
  EXPECT_FALSE(webrtc_http::is_sdp("application/json"));
  EXPECT_FALSE(webrtc_http::is_sdp(""));
  EXPECT_FALSE(webrtc_http::check_offer_text(kOffer, 100));
  EXPECT_EQ(webrtc_http::check_offer_text("", 100)->status, 400);
  EXPECT_EQ(webrtc_http::check_offer_text("{\"sdp\":1}", 100)->status, 400);
  EXPECT_EQ(webrtc_http::check_offer_text(std::string("v=0\r\n\0", 6), 100)->status, 400);
  EXPECT_EQ(webrtc_http::check_offer_text("v=0\n" + std::string(100, '\n'), 100)->status, 400);
  EXPECT_FALSE(webrtc_http::check_offer_text("v=0\n" + std::string(98, '\n'), 100));
}

TEST(WebRtcRoutes, WithoutBackEndChecksThenAnswers503) {
  Fixture f(nullptr);
  auto r = f.ask("OPTIONS", "/whip/1");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(header(r, "access-control-allow-origin"), "*");
  EXPECT_EQ(header(r, "access-control-allow-methods"), "POST, DELETE, OPTIONS");
  EXPECT_EQ(header(r, "access-control-allow-headers"), "Authorization, Content-Type");
  EXPECT_EQ(header(r, "access-control-expose-headers"), "Location, ETag, Link");
  EXPECT_EQ(header(r, "accept-post"), "application/sdp");
  EXPECT_EQ(headers(r, "link").size(), 2u);  // the http:// entry is left out
  EXPECT_EQ(f.ask("POST", "/whip/1", kOffer, "application/json").status, 415);
  EXPECT_EQ(f.ask("POST", "/whip/1", kOffer + std::string(16384, 'a')).status, 413);
  r = f.ask("POST", "/whip/1", kOffer, "application/sdp", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "www-authenticate"), "Bearer");
  r = f.ask("PATCH", "/whip/1/tok");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "allow"), "DELETE, OPTIONS");
  EXPECT_EQ(f.ask("GET", "/whip/1").status, 405);
  r = f.ask("POST", "/whip/1", kOffer);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("real-time sending is not available on this server"), std::string::npos);
  EXPECT_EQ(f.ask("DELETE", "/whip/1/tok").status, 503);
  EXPECT_EQ(f.ask("POST", "/whep/1", kOffer, "application/sdp", "").status, 503);  // WHEP needs no key
  EXPECT_EQ(f.ask("POST", "/whip/abc", kOffer).status, 404);
}

TEST(WebRtcRoutes, ForwardsToTheBackEndAndDecoratesItsAnswer) {
  FakeWhip whip;
  Fixture f(&whip);
  auto r = f.ask("POST", "/whip/5", kOffer, "application/sdp", "Bearer key-5");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(whip.publishes, 1);
  EXPECT_EQ(whip.studio, 5);
  EXPECT_EQ(whip.key, "key-5");
  EXPECT_EQ(whip.sdp, kOffer);
  EXPECT_EQ(r.content_type, "application/sdp");
  EXPECT_EQ(header(r, "location"), "/whip/5/tok");
  EXPECT_EQ(header(r, "access-control-allow-origin"), "*");
  auto links = headers(r, "link");
  ASSERT_EQ(links.size(), 2u);
  EXPECT_NE(links[1].find("credential-type=\"password\""), std::string::npos);
  EXPECT_EQ(f.ask("DELETE", "/whip/5/tok").status, 200);
  EXPECT_EQ(f.ask("DELETE", "/whip/5/unknown").status, 404);
  f.config.webrtc.enabled = false;  // webrtc.enabled false: as without a back end
  EXPECT_EQ(f.ask("POST", "/whip/5", kOffer).status, 503);
  EXPECT_EQ(whip.publishes, 1);
}

TEST(WebRtcRoutes, FloodFromOneAddressIsRefusedAndCounted) {
  Fixture f(nullptr);
  f.config.server.api_requests_per_s = 2;
  f.config.server.api_burst = 3;
  f.routes.emplace(f.config, f.metrics, nullptr, nullptr, nullptr);
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = f.ask("OPTIONS", "/whip/1");
    if (r.status == 429) {
      ++refused;
      EXPECT_FALSE(header(r, "retry-after").empty());
    }
  }
  EXPECT_GE(refused, 6);
  EXPECT_EQ(f.metrics.counter("sreda_http_refused_total", {{"cause", "webrtc_rate"}}).load(),
            static_cast<uint64_t>(refused));
}
