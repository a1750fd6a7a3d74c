#include "server/web/webrtc_routes.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <utility>

#include "server/core/clock.h"
#include "server/core/log.h"

namespace sreda::web {
namespace {

constexpr const char* kCorsMethods = "POST, DELETE, OPTIONS";
constexpr const char* kCorsHeaders = "Authorization, Content-Type";
constexpr const char* kCorsExpose = "Location, ETag, Link";

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

// A URL from webrtc.ice_servers that may go into a header and a JSON answer as it is.
bool usable_ice_url(std::string_view url) {
  if (url.empty() || url.size() > 512) return false;
  if (!starts_with_ci(url, "stun:") && !starts_with_ci(url, "stuns:") && !starts_with_ci(url, "turn:") &&
      !starts_with_ci(url, "turns:"))
    return false;
  for (char ch : url) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || ch == '"' || ch == '<' || ch == '>' || ch == ',' || ch == '\\') return false;
  }
  return true;
}

bool is_turn(std::string_view url) { return starts_with_ci(url, "turn:") || starts_with_ci(url, "turns:"); }

// CORS for a browser on another origin (the key travels as a bearer header, never as a cookie: any origin).
void add_cors(HttpResponse& r) {
  r.headers.emplace_back("access-control-allow-origin", "*");
  r.headers.emplace_back("access-control-expose-headers", kCorsExpose);
}

void add_ice_links(HttpResponse& r, const config::WebRtcConfig& config) {
  for (const auto& server : ice_servers(config, core::now_s())) r.headers.emplace_back("link", ice_link_value(server));
}

}  // namespace

// ---- ICE servers ---------------------------------------------------------------------------------------

std::string turn_password(std::string_view secret, std::string_view username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(username.data()),
       username.size(), mac, &mac_len);
  std::string out(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(mac_len));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::vector<IceServer> ice_servers(const config::WebRtcConfig& config, int64_t now_s) {
  std::vector<IceServer> out;
  std::string_view rest = config.ice_servers;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (!usable_ice_url(item)) continue;
    IceServer server{std::string(item), "", ""};
    if (is_turn(item) && !config.turn_secret.empty()) {
      server.username = std::to_string(now_s + config.turn_ttl_s) + ":sreda";
      server.credential = turn_password(config.turn_secret, server.username);
    }
    out.push_back(std::move(server));
  }
  return out;
}

nlohmann::json ice_servers_json(const std::vector<IceServer>& servers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : servers) {
    nlohmann::json one = {{"urls", s.url}};
    if (!s.username.empty()) {
      one["username"] = s.username;
      one["credential"] = s.credential;
    }
    out.push_back(std::move(one));
  }
  return out;
}

std::string ice_link_value(const IceServer& server) {
  std::string v = "<" + server.url + ">; rel=\"ice-server\"";
  if (!server.username.empty())
    v += "; username=\"" + server.username + "\"; credential=\"" + server.credential +
         "\"; credential-type=\"password\"";
  return v;
}

// ---- Pure pieces ---------------------------------------------------------------------------------------

namespace webrtc_http {

Target parse_target(std::string_view path) {
  Target t;
  if (path.rfind("/whip/", 0) == 0) {
    t.whip = true;
  } else if (path.rfind("/whep/", 0) == 0) {
    t.whip = false;
  } else {
    return t;
  }
  std::string_view rest = path.substr(6);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // one trailing slash, as the API takes
  const size_t slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  if (id.empty() || id.size() > 15) return t;
  int64_t v = 0;
  for (char ch : id) {
    if (ch < '0' || ch > '9') return t;
    v = v * 10 + (ch - '0');
  }
  if (v <= 0) return t;
  t.id = v;
  if (slash != std::string_view::npos) {
    const std::string_view token = rest.substr(slash + 1);
    if (token.empty() || token.size() > 64) return t;
    for (char ch : token)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') return t;
    t.token = std::string(token);
  }
  t.ok = true;
  return t;
}

bool is_sdp(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return type.size() == 15 && starts_with_ci(type, "application/sdp");
}

std::optional<HttpResponse> check_offer_text(std::string_view sdp, size_t max_lines) {
  if (sdp.empty()) return HttpResponse::error(400, "bad_sdp", "the request has no SDP offer in its body");
  if (sdp.rfind("v=", 0) != 0)
    return HttpResponse::error(400, "bad_sdp", "the body is not an SDP offer: it must begin with \"v=0\"");
  size_t lines = 1;
  for (char ch : sdp) {
    if (ch == '\0') return HttpResponse::error(400, "bad_sdp", "the SDP offer holds a NUL byte");
    if (ch == '\n' && ++lines > max_lines)
      return HttpResponse::error(400, "bad_sdp", "the SDP offer has more than " + std::to_string(max_lines) +
                                                     " lines; a browser's offer has a few hundred at most");
  }
  return std::nullopt;
}

}  // namespace webrtc_http

// ---- The routes ----------------------------------------------------------------------------------------

WebRtcRoutes::WebRtcRoutes(const config::Config& config, core::Metrics& metrics, core::AddressPolicyPtr addresses,
                           WhipEndpoint* whip, WhepEndpoint* whep)
    : config_(config),
      addresses_(std::move(addresses)),
      whip_(whip),
      whep_(whep),
      rate_(config.server.api_requests_per_s, config.server.api_burst),
      rate_refused_(metrics.counter("sreda_http_refused_total", {{"cause", "webrtc_rate"}})) {}

int64_t WebRtcRoutes::over_rate(const HttpRequest& request) {
  const std::string key = core::limit_key(request.peer);
  const bool shared = addresses_ && addresses_->shared.contains(request.peer);
  const int64_t now = core::steady_ms();
  const int64_t wait = rate_.take(key, now, shared ? addresses_->shared_multiplier : 1);
  if (!wait) return 0;
  rate_refused_.fetch_add(1, std::memory_order_relaxed);
  if (rate_log_.first_of_burst(now))
    core::Logger("webrtc").warn("refusing WHIP/WHEP requests from " + key + ": over " +
                                std::to_string(config_.server.api_requests_per_s) +
                                "/s (server.api_requests_per_s); the rest of this burst is counted in "
                                "sreda_http_refused_total{cause=\"webrtc_rate\"}");
  return wait;
}

void WebRtcRoutes::handle(HttpRequest request, Reply reply) {
  auto answer = [&reply](HttpResponse r) {
    add_cors(r);
    reply(std::move(r));
  };
  const webrtc_http::Target t = webrtc_http::parse_target(request.path);
  if (!t.ok) {
    answer(HttpResponse::error(404, "not_found",
                               "no such address: WHIP is /whip/<studio id>, WHEP is /whep/<event id>, and a "
                               "session's address is the Location its POST answered"));
    return;
  }
  if (const int64_t wait = over_rate(request)) {
    answer(HttpResponse::refused(429, "rate_limited",
                                 "Too many requests from your address. Please wait " + std::to_string(wait) +
                                     " s and try again.",
                                 wait));
    return;
  }
  const bool session = !t.token.empty();
  const char* allow = session ? "DELETE, OPTIONS" : "POST, OPTIONS";
  if (request.method == "OPTIONS") {
    HttpResponse r;
    r.status = 204;
    r.content_type = "text/plain";
    r.headers = {{"allow", allow},
                 {"access-control-allow-methods", kCorsMethods},
                 {"access-control-allow-headers", kCorsHeaders},
                 {"access-control-max-age", "600"}};
    if (!session) r.headers.emplace_back("accept-post", "application/sdp");
    add_ice_links(r, config_.webrtc);
    return answer(std::move(r));
  }
  const bool allowed = session ? request.method == "DELETE" : request.method == "POST";
  if (!allowed) {
    auto r = request.method == "PATCH"
                 ? HttpResponse::error(405, "method_not_allowed",
                                       "this server takes no trickle ICE or ICE restart (PATCH): every candidate "
                                       "is in the answer; to reconnect, send a new offer with POST")
                 : HttpResponse::error(405, "method_not_allowed", request.method + " is not allowed here");
    r.headers.emplace_back("allow", allow);
    return answer(std::move(r));
  }
  const bool enabled = config_.webrtc.enabled;
  WhipEndpoint* whip = enabled ? whip_.load(std::memory_order_acquire) : nullptr;
  WhepEndpoint* whep = enabled ? whep_.load(std::memory_order_acquire) : nullptr;
  const bool back_end = t.whip ? whip != nullptr : whep != nullptr;
  auto unavailable = [&] {
    return HttpResponse::error(503, "webrtc_unavailable",
                               t.whip ? "real-time sending is not available on this server"
                                      : "real-time playback is not available on this server");
  };

  if (session) {  // DELETE of a session
    if (!back_end) return answer(unavailable());
    Reply decorated = [reply](HttpResponse r) {
      add_cors(r);
      reply(std::move(r));
    };
    if (t.whip)
      whip->end(t.id, t.token, std::move(decorated));
    else
      whep->end(t.id, t.token, std::move(decorated));
    return;
  }

  // POST of an offer: what HTTP can check, in the order a client can fix it.
  if (!webrtc_http::is_sdp(request.content_type))
    return answer(HttpResponse::error(415, "unsupported_media_type",
                                      "the offer must be sent as Content-Type: application/sdp"));
  if (static_cast<int64_t>(request.body.size()) > config_.webrtc.max_sdp_bytes)
    return answer(HttpResponse::error(413, "too_large",
                                      "the SDP offer is larger than " + std::to_string(config_.webrtc.max_sdp_bytes) +
                                          " bytes (webrtc.max_sdp_bytes)"));
  if (auto bad = webrtc_http::check_offer_text(request.body, kMaxSdpLines)) return answer(std::move(*bad));
  std::string key;
  if (t.whip) {
    key = request.bearer_token();
    if (key.empty() || key.size() > kMaxBearerChars) {
      auto r = HttpResponse::error(401, "unauthorized",
                                   "the studio's stream key is required, as Authorization: Bearer <stream key>");
      r.headers.emplace_back("www-authenticate", "Bearer");
      return answer(std::move(r));
    }
  }
  if (!back_end) return answer(unavailable());

  Reply decorated = [reply, webrtc = &config_.webrtc](HttpResponse r) {
    add_cors(r);
    if (r.status == 201) {
      r.content_type = "application/sdp";
      add_ice_links(r, *webrtc);
    }
    reply(std::move(r));
  };
  WebRtcOffer offer{std::move(request.body), request.peer};
  if (t.whip)
    whip->publish(t.id, key, std::move(offer), std::move(decorated));
  else
    whep->play(t.id, std::move(offer), std::move(decorated));
}

}  // namespace sreda::web
