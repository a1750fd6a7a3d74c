// A relay target's or a pulled source's address as a curator writes it (rtmp://…/app/key, rtmps://…,
// srt://host:port?streamid=…&passphrase=…, an HLS URL): parsed and checked at once (the API answers 422
// with the message), masked wherever a person or the log may see it (the stream key is a secret), and
// checked against the admin's allow-list before the server reaches it (relays.allowed_hosts; empty =
// public addresses only), so a curator's URL cannot make the server reach internal hosts.
// Pure except resolve_allowed() (DNS); any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "server/core/client_address.h"
#include "server/core/result.h"

namespace sreda::relay {

enum class Scheme { rtmp, rtmps, srt, http, https };
const char* scheme_name(Scheme s);

// What the URL is for: a push target (rtmp, rtmps, srt as caller) or a pulled source (srt as caller or
// listener, rtmp, rtmps, http(s) to an HLS playlist).
enum class Use { push, pull };

struct RelayUrl {
  Scheme scheme = Scheme::rtmp;
  std::string host;  // a name or an address (IPv6 without brackets); empty only for an SRT listener
  int port = 0;      // the scheme's default when the URL has none: rtmp 1935, rtmps 443, http 80, https 443
  // rtmp(s): everything after the host: "/live2/abcd-key" (the application and the stream name, with any query).
  // http(s): the path and query. srt: empty.
  std::string path;
  std::string app;   // rtmp(s): the application ("live2"; may hold slashes: all but the last path element)
  std::string key;   // rtmp(s): the stream name, the last path element (a secret); srt: the streamid's key part
  // srt only: the query's parameters.
  std::string streamid;    // as given ("publish:KEY", "#!::r=live/x,m=publish"…); may be empty
  std::string passphrase;  // 10–79 characters when given (libsrt's rule)
  bool listener = false;   // mode=listener (pull only): the partner calls us on `port`
  int latency_ms = 0;      // latency=…; 0 = sreda's default (ingest.srt_latency_ms)
  std::string url;         // the URL exactly as given (a secret: it carries the key)
};

// Parses and checks a URL; the error's message says what is wrong in words a curator understands
// ("the address needs a stream key after the application: rtmp://host/app/key"). code "invalid_url".
core::Result<RelayUrl> parse_url(std::string_view text, Use use);

// The URL as a curator and the log may see it: the stream key, the SRT streamid's key and the passphrase,
// a password in the user part and query values that may be secrets replaced by "•••" (keeping the last 4
// characters of a key of 12 or more so two keys can be told apart). Text that does not parse is masked
// whole after its scheme and host.
std::string masked(std::string_view text);

// `message` (a GStreamer or libsrt error text) with every occurrence of the URL, its key, streamid and
// passphrase replaced by their masked forms, so it may be logged and shown.
std::string strip_secrets(std::string_view message, const RelayUrl& url);

// relays.allowed_hosts: comma-separated host names (exact, case-insensitive), addresses and CIDR blocks.
class Destinations {
 public:
  static core::Result<Destinations> parse(std::string_view allowed_hosts);
  bool empty() const { return names_.empty() && addresses_.empty(); }
  // Whether the server may reach `host` resolved to `addresses`: with a list, the name is listed or every
  // address is; without one, every address is public (not loopback, private, link-local, CGNAT, multicast,
  // unspecified, documentation or IPv6 unique-local). The error says which address is refused and why, and
  // names the config key. code "destination_not_allowed".
  core::Result<void> check(std::string_view host, const std::vector<boost::asio::ip::address>& addresses) const;

  static bool is_public(const boost::asio::ip::address& a);

 private:
  std::vector<std::string> names_;  // lower case
  core::AddressSet addresses_;
};

// Resolves `host` (blocking getaddrinfo: never on the control, ingest or web threads) and checks every
// address it gives against `allowed`. The addresses to connect to, or an error ("cannot resolve",
// "destination_not_allowed"). A host that is already an address is not looked up.
core::Result<std::vector<boost::asio::ip::address>> resolve_allowed(const Destinations& allowed, const std::string& host);

}  // namespace sreda::relay
