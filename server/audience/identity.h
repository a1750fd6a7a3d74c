// Who a viewer is, as far as the audience channel knows: an anonymous, long-lived viewer id that the server
// issues and signs (HMAC-SHA256 with a secret kept in the data dir). The address group per-address limits,
// bans and the rating cap count by is the web server's one rule, core::limit_key (an IPv4 address, or an
// IPv6 /64), handed over in the WsHandshake's address_key.
// Pure but for load_or_create_viewer_secret (file I/O at start-up); any thread (const use).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sreda::audience {

// The cookie that carries the token to pages and the /ws upgrade.
inline constexpr const char* kViewerCookie = "sreda_viewer";
inline constexpr int64_t kViewerCookieMaxAgeS = 400LL * 24 * 3600;  // browsers cap Max-Age at 400 days

class ViewerTokens {
 public:
  // An empty secret makes a random one (tests; tokens then last as long as the object).
  explicit ViewerTokens(std::string secret);

  struct Issued {
    std::string id;     // 22 characters of [A-Za-z0-9_-]: the viewer id (stored with ratings and comments)
    std::string token;  // "v1.<id>.<mac>": what the client keeps
  };
  Issued issue() const;
  // The viewer id of a token this server signed; nullopt for anything else (tampered, another secret, junk).
  std::optional<std::string> verify(std::string_view token) const;

 private:
  std::string mac(std::string_view id) const;
  std::string secret_;
};

// The sreda_viewer value of a Cookie header ("" when absent).
std::string viewer_cookie(std::string_view cookie_header);
// The Set-Cookie value for a token: HttpOnly, SameSite=Lax, Path=/, long Max-Age; Secure when `secure`.
std::string viewer_set_cookie(std::string_view token, bool secure);

// Reads <data_dir>/viewer-secret, or creates it (32 random bytes, URL-safe base64; mode 0600 from the start).
// An error sentence when it can be neither read nor made.
std::optional<std::string> load_or_create_viewer_secret(const std::string& data_dir, std::string& secret);

}  // namespace sreda::audience
