// The HTTP side of WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep): /whip/<studio id>[/<session token>] and
// /whep/<event id>[/<session token>]. The routes check what HTTP can check — the method, the content type,
// the size, the bearer key's presence, the per-address rate — answer CORS preflights, and forward an offer or
// a DELETE to the back ends (server/web/webrtc_endpoints.h), decorating their answers with CORS and the ICE
// servers (Link: rel="ice-server", with fresh TURN credentials). No trickle ICE: PATCH is answered 405 (the
// RFC lets a server decline it; a client sends a new offer instead). Errors are the API's JSON error shape.
// handle() runs on the web thread only (its rate limiter has no lock); answers may come from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/config/config.h"
#include "server/core/client_address.h"
#include "server/core/metrics.h"
#include "server/web/http.h"
#include "server/web/limits.h"
#include "server/web/webrtc_endpoints.h"

namespace sreda::web {

// ---- ICE servers for clients (webrtc.ice_servers, webrtc.turn_secret) ----------------------------------

// One ICE server a client may use: a stun:/stuns:/turn:/turns: URL, and for TURN with a shared secret the
// time-limited credentials (empty otherwise).
struct IceServer {
  std::string url;
  std::string username;
  std::string credential;
};

// coturn's REST scheme (use-auth-secret + static-auth-secret): the password for `username` is
// base64(HMAC-SHA1(secret, username)).
std::string turn_password(std::string_view secret, std::string_view username);

// webrtc.ice_servers as a list, each turn:/turns: URL with credentials valid until now_s + webrtc.turn_ttl_s
// (username "<expiry unix s>:sreda") when webrtc.turn_secret is set. Entries that are not a stun/turn URL, or
// hold characters that could break a header (quotes, angle brackets, spaces, controls), are left out.
std::vector<IceServer> ice_servers(const config::WebRtcConfig& config, int64_t now_s);
// The list as RTCPeerConnection's `iceServers`: [{"urls": …, "username": …, "credential": …}, …].
nlohmann::json ice_servers_json(const std::vector<IceServer>& servers);
// One `Link` header value: <url>; rel="ice-server"[; username="…"; credential="…"; credential-type="password"].
std::string ice_link_value(const IceServer& server);

// ---- The routes -----------------------------------------------------------------------------------------

class WebRtcRoutes : public RouteHandler {
 public:
  // `whip`/`whep` may be null (the back end is not built or did not start): their POSTs and DELETEs answer 503
  // in plain words, as when webrtc.enabled is false. Metrics: sreda_http_refused_total{cause="webrtc_rate"}.
  WebRtcRoutes(const config::Config& config, core::Metrics& metrics, core::AddressPolicyPtr addresses,
               WhipEndpoint* whip, WhepEndpoint* whep);
  void handle(HttpRequest request, Reply reply) override;

  // Set once a back end has started (before or after the HTTP server: read with acquire on each request).
  void set_whip(WhipEndpoint* whip) { whip_.store(whip, std::memory_order_release); }
  void set_whep(WhepEndpoint* whep) { whep_.store(whep, std::memory_order_release); }

  // The most lines an offer may have (a browser's offer has 60–200): a larger one is refused before any
  // parser reads it.
  static constexpr size_t kMaxSdpLines = 2000;
  static constexpr size_t kMaxBearerChars = 512;

 private:
  // Web thread: 0 when the request may go on; else the seconds to wait (server.api_requests_per_s).
  int64_t over_rate(const HttpRequest& request);

  const config::Config& config_;
  core::AddressPolicyPtr addresses_;
  std::atomic<WhipEndpoint*> whip_;
  std::atomic<WhepEndpoint*> whep_;
  RateLimiter rate_;
  BurstLog rate_log_;
  std::atomic<uint64_t>& rate_refused_;
};

// Pure pieces of the routes, unit-tested (tests/unit/web_webrtc_routes_test.cpp).
namespace webrtc_http {
// "/whip/12" → {kind "whip", id 12, token ""}; "/whep/7/AbC_-1" → {"whep", 7, "AbC_-1"}. ok false when the path
// is neither (a non-number id, a token that is not base64url of at most 64 characters, more segments).
struct Target {
  bool ok = false;
  bool whip = true;
  int64_t id = 0;
  std::string token;
};
Target parse_target(std::string_view path);
// Whether a Content-Type names application/sdp (parameters and case ignored).
bool is_sdp(std::string_view content_type);
// A 4xx for a body that cannot be an offer (empty, not starting with "v=", a NUL, more than kMaxSdpLines
// lines); nullopt when it may go to the back end.
std::optional<HttpResponse> check_offer_text(std::string_view sdp, size_t max_lines);
}  // namespace webrtc_http

}  // namespace sreda::web
