#include "server/relay/relay_url.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <map>

namespace sreda::relay {

namespace {

using boost::asio::ip::address;

constexpr const char* kMask = "\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2";  // "•••"

core::Error invalid(std::string message) { return core::Error{"invalid_url", std::move(message), "url"}; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// %XX decoding for query values (streamid is often written percent-encoded: "publish%3Akey").
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string mask_secret(std::string_view secret) {
  if (secret.empty()) return "";
  if (secret.size() >= 12) return std::string(kMask) + std::string(secret.substr(secret.size() - 4));
  return kMask;
}

// The streamid's secret part: after the last ':' ("publish:KEY", "read:42:KEY"), or the "s=" value of an
// SRT access-control streamid ("#!::r=live,s=KEY,m=publish"), else the whole streamid.
std::string streamid_key(std::string_view sid) {
  if (sid.rfind("#!::", 0) == 0) {
    std::string_view rest = sid.substr(4);
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view kv = rest.substr(0, comma);
      if (kv.rfind("s=", 0) == 0) return std::string(kv.substr(2));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return "";
  }
  size_t colon = sid.rfind(':');
  return std::string(colon == std::string_view::npos ? sid : sid.substr(colon + 1));
}

std::string masked_streamid(std::string_view sid) {
  std::string key = streamid_key(sid);
  if (key.empty()) return std::string(sid);
  std::string out(sid);
  size_t at = out.rfind(key);
  if (at != std::string::npos) out.replace(at, key.size(), mask_secret(key));
  return out;
}

int default_port(Scheme s) {
  switch (s) {
    case Scheme::rtmp: return 1935;
    case Scheme::rtmps: return 443;
    case Scheme::http: return 80;
    case Scheme::https: return 443;
    case Scheme::srt: return 0;
  }
  return 0;
}

struct Split {
  std::string scheme, userinfo, hostport, rest;  // rest: from the first '/', '?' or '#' after the host
};

bool split_url(std::string_view text, Split& out) {
  size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  out.scheme = lower(text.substr(0, sep));
  std::string_view after = text.substr(sep + 3);
  size_t end = after.find_first_of("/?#");
  std::string_view authority = after.substr(0, end);
  out.rest = end == std::string_view::npos ? "" : std::string(after.substr(end));
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    out.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  out.hostport = std::string(authority);
  return true;
}

// "host", "host:port", "[v6]", "[v6]:port".
bool split_host_port(const std::string& hp, std::string& host, std::string& port) {
  if (!hp.empty() && hp[0] == '[') {
    size_t close = hp.find(']');
    if (close == std::string::npos) return false;
    host = hp.substr(1, close - 1);
    if (close + 1 < hp.size()) {
      if (hp[close + 1] != ':') return false;
      port = hp.substr(close + 2);
    }
    return true;
  }
  size_t colon = hp.rfind(':');
  if (colon != std::string::npos && hp.find(':') != colon) return false;  // a bare IPv6 address needs brackets
  host = colon == std::string::npos ? hp : hp.substr(0, colon);
  if (colon != std::string::npos) port = hp.substr(colon + 1);
  return true;
}

bool valid_host_name(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(h, ec);
  if (!ec) return true;
  for (char c : h) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return false;
  }
  return h.front() != '.' && h.front() != '-';
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string k = lower(kv.substr(0, eq));
      out[k] = eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

// Addresses that are not on the public internet (RFC 6890 and friends).
const core::AddressSet& non_public() {
  static const core::AddressSet set = *core::AddressSet::parse(
      "0.0.0.0/8,10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,169.254.0.0/16,172.16.0.0/12,192.0.0.0/24,192.0.2.0/24,"
      "192.168.0.0/16,198.18.0.0/15,198.51.100.0/24,203.0.113.0/24,224.0.0.0/4,240.0.0.0/4,"
      "::/128,::1/128,fc00::/7,fe80::/10,2001:db8::/32,64:ff9b::/96,100::/64,ff00::/8");
  return set;
}

}  // namespace

const char* scheme_name(Scheme s) {
  switch (s) {
    case Scheme::rtmp: return "rtmp";
    case Scheme::rtmps: return "rtmps";
    case Scheme::srt: return "srt";
    case Scheme::http: return "http";
    case Scheme::https: return "https";
  }
  return "?";
}

core::Result<RelayUrl> parse_url(std::string_view raw, Use use) {
  const std::string text = trim(raw);
  const char* accepted = use == Use::push ? "rtmp://, rtmps:// or srt://"
                                          : "srt://, rtmp://, rtmps://, http:// or https:// (an HLS playlist)";
  if (text.empty()) return invalid(std::string("the address is empty: it should start with ") + accepted);
  if (text.size() > 2048) return invalid("the address is too long (at most 2048 characters)");
  for (unsigned char c : text) {
    if (c < 0x21 || c == 0x7f) return invalid("the address has a space or a control character in it");
  }
  Split sp;
  if (!split_url(text, sp)) return invalid(std::string("the address should start with ") + accepted);
  RelayUrl u;
  u.url = text;
  if (sp.scheme == "rtmp") u.scheme = Scheme::rtmp;
  else if (sp.scheme == "rtmps") u.scheme = Scheme::rtmps;
  else if (sp.scheme == "srt") u.scheme = Scheme::srt;
  else if (sp.scheme == "http" && use == Use::pull) u.scheme = Scheme::http;
  else if (sp.scheme == "https" && use == Use::pull) u.scheme = Scheme::https;
  else return invalid("\"" + sp.scheme + "://\" is not an address sreda can " + (use == Use::push ? "send to" : "pull from") +
                      ": it should start with " + accepted);

  std::string port_text;
  if (!split_host_port(sp.hostport, u.host, port_text))
    return invalid("the server's address is not valid (an IPv6 address goes in brackets: [2001:db8::1]:1935)");
  if (!port_text.empty()) {
    int port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 1 || port > 65535)
      return invalid("the port \"" + port_text + "\" is not a number from 1 to 65535");
    u.port = port;
  } else {
    u.port = default_port(u.scheme);
  }

  std::string path = sp.rest, query;
  if (size_t hash = path.find('#'); hash != std::string::npos) path.erase(hash);
  if (size_t q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path.erase(q);
  }

  if (u.scheme == Scheme::srt) {
    auto params = parse_query(query);
    if (auto it = params.find("mode"); it != params.end()) {
      if (it->second == "listener") u.listener = true;
      else if (it->second != "caller" && !it->second.empty())
        return invalid("SRT mode \"" + it->second + "\" is not known: use mode=caller (the default) or mode=listener");
    }
    if (u.listener && use == Use::push)
      return invalid("a relay calls the target: mode=listener is only for a pulled source");
    if (u.host.empty() && !u.listener) return invalid("the address needs a server: srt://host:port?streamid=…");
    if (!u.host.empty() && !valid_host_name(u.host)) return invalid("the server name \"" + u.host + "\" is not valid");
    if (u.port == 0) return invalid("an SRT address needs a port: srt://host:port?streamid=…");
    if (!path.empty() && path != "/") return invalid("an SRT address has no path: put the stream in ?streamid=…");
    if (auto it = params.find("streamid"); it != params.end()) u.streamid = it->second;
    if (u.streamid.size() > 512) return invalid("the streamid is too long (SRT allows at most 512 characters)");
    if (auto it = params.find("passphrase"); it != params.end()) {
      u.passphrase = it->second;
      if (u.passphrase.size() < 10 || u.passphrase.size() > 79)
        return invalid("an SRT passphrase has 10 to 79 characters");
    }
    if (auto it = params.find("latency"); it != params.end()) {
      int ms = 0;
      auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), ms);
      if (ec != std::errc() || p != it->second.data() + it->second.size() || ms < 20 || ms > 8000)
        return invalid("the SRT latency should be 20 to 8000 milliseconds");
      u.latency_ms = ms;
    }
    u.key = streamid_key(u.streamid);
    return u;
  }

  if (u.host.empty()) return invalid("the address needs a server after \"" + sp.scheme + "://\"");
  if (!valid_host_name(u.host)) return invalid("the server name \"" + u.host + "\" is not valid");
  u.path = path + (query.empty() ? "" : "?" + query);

  if (u.scheme == Scheme::http || u.scheme == Scheme::https) {
    if (path.size() < 6 || lower(path.substr(path.size() - 5)) != ".m3u8")
      return invalid("an HLS address ends with .m3u8, e.g. https://partner.example.org/live/12/master.m3u8");
    return u;
  }

  // rtmp(s)://host[:port]/app[/more]/key
  std::string p = path;
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  while (!p.empty() && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  if (p.empty() || slash == std::string::npos)
    return invalid("the address needs an application and a stream key: " + sp.scheme + "://host/app/key");
  u.app = p.substr(0, slash);
  u.key = p.substr(slash + 1) + (query.empty() ? "" : "?" + query);
  if (u.app.empty() || u.key.empty())
    return invalid("the address needs an application and a stream key: " + sp.scheme + "://host/app/key");
  return u;
}

std::string masked(std::string_view raw) {
  const std::string text = trim(raw);
  Split sp;
  if (!split_url(text, sp)) return text.empty() ? "" : kMask;
  std::string head = sp.scheme + "://";
  if (!sp.userinfo.empty()) {
    size_t colon = sp.userinfo.find(':');
    head += (colon == std::string::npos ? sp.userinfo : sp.userinfo.substr(0, colon) + ":" + kMask) + "@";
  }
  head += sp.hostport;
  auto parsed = parse_url(text, Use::pull);
  if (!parsed && sp.scheme == "srt") parsed = parse_url(text, Use::push);
  if (!parsed) return head + (sp.rest.empty() ? "" : std::string("/") + kMask);
  const RelayUrl& u = *parsed;
  if (u.scheme == Scheme::rtmp || u.scheme == Scheme::rtmps) {
    std::string key = u.key;
    std::string keyless = key.substr(0, key.find('?'));
    return head + "/" + u.app + "/" + mask_secret(keyless);
  }
  if (u.scheme == Scheme::http || u.scheme == Scheme::https) {
    std::string path = u.path;
    if (size_t q = path.find('?'); q != std::string::npos) path = path.substr(0, q) + "?" + kMask;
    return head + path;
  }
  // srt: rebuild the query with secrets masked.
  std::string query;
  size_t q = sp.rest.find('?');
  std::string_view qs = q == std::string::npos ? std::string_view() : std::string_view(sp.rest).substr(q + 1);
  if (size_t hash = qs.find('#'); hash != std::string_view::npos) qs = qs.substr(0, hash);
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view kv = qs.substr(0, amp);
    size_t eq = kv.find('=');
    std::string k = lower(kv.substr(0, eq));
    std::string v = eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1));
    if (!kv.empty()) {
      query += query.empty() ? "?" : "&";
      if (k == "streamid") query += "streamid=" + masked_streamid(v);
      else if (k == "passphrase") query += std::string("passphrase=") + kMask;
      else query += std::string(kv);
    }
    if (amp == std::string_view::npos) break;
    qs.remove_prefix(amp + 1);
  }
  return head + query;
}

std::string strip_secrets(std::string_view message, const RelayUrl& url) {
  std::string out(message);
  auto replace_all = [&](const std::string& what, const std::string& with) {
    if (what.size() < 3) return;  // too short to be a secret worth hunting (and would mangle the text)
    for (size_t at = out.find(what); at != std::string::npos; at = out.find(what, at + with.size()))
      out.replace(at, what.size(), with);
  };
  replace_all(url.url, masked(url.url));
  replace_all(url.passphrase, kMask);
  std::string keyless = url.key.substr(0, url.key.find('?'));
  replace_all(url.key, mask_secret(keyless));
  replace_all(keyless, mask_secret(keyless));
  replace_all(url.streamid, masked_streamid(url.streamid));
  return out;
}

core::Result<Destinations> Destinations::parse(std::string_view allowed_hosts) {
  Destinations d;
  std::string cidrs, bad;
  std::string_view rest = allowed_hosts;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string item = trim(rest.substr(0, comma));
    if (!item.empty()) {
      boost::system::error_code ec;
      std::string first = item.substr(0, item.find('/'));
      (void)boost::asio::ip::make_address(first, ec);
      if (!ec) {
        cidrs += (cidrs.empty() ? "" : ",") + item;
      } else if (valid_host_name(item)) {
        d.names_.push_back(lower(item));
      } else {
        bad += (bad.empty() ? "" : ", ") + item;
      }
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!bad.empty()) return core::Error{"invalid_config", "not a host name, address or CIDR block: " + bad, ""};
  auto set = core::AddressSet::parse(cidrs);
  if (!set) return set.error();
  d.addresses_ = *set;
  return d;
}

bool Destinations::is_public(const address& a0) {
  address a = a0;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  if (a.is_unspecified() || a.is_loopback() || a.is_multicast()) return false;
  return !non_public().contains(a);
}

core::Result<void> Destinations::check(std::string_view host, const std::vector<address>& addresses) const {
  const std::string name = lower(host);
  if (!empty()) {
    if (std::find(names_.begin(), names_.end(), name) != names_.end()) return {};
    if (addresses.empty())
      return core::Error{"destination_not_allowed", "\"" + std::string(host) + "\" is not in relays.allowed_hosts", "url"};
    for (const address& a : addresses) {
      if (!addresses_.contains(a))
        return core::Error{"destination_not_allowed",
                           "\"" + std::string(host) + "\" (" + a.to_string() + ") is not in relays.allowed_hosts", "url"};
    }
    return {};
  }
  for (const address& a : addresses) {
    if (!is_public(a))
      return core::Error{"destination_not_allowed",
                         "\"" + std::string(host) + "\" is " + a.to_string() +
                             ", a private or local address: an administrator must list it in relays.allowed_hosts",
                         "url"};
  }
  return {};
}

core::Result<std::vector<address>> resolve_allowed(const Destinations& allowed, const std::string& host) {
  std::vector<address> out;
  boost::system::error_code ec;
  address literal = boost::asio::ip::make_address(host, ec);
  if (!ec) {
    out.push_back(literal);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || !res)
      return core::Error{"cannot_resolve", "cannot find the server \"" + host + "\": " + ::gai_strerror(rc), "url"};
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET) {
        auto* sa = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
        boost::asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), &sa->sin_addr, 4);
        out.push_back(boost::asio::ip::address_v4(b));
      } else if (ai->ai_family == AF_INET6) {
        auto* sa = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
        boost::asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &sa->sin6_addr, 16);
        out.push_back(boost::asio::ip::address_v6(b, sa->sin6_scope_id));
      }
    }
    ::freeaddrinfo(res);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  if (auto r = allowed.check(host, out); !r) return r.error();
  return out;
}

}  // namespace sreda::relay
