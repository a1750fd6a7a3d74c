#include "server/core/client_address.h"

#include <algorithm>
#include <cctype>

#include "server/core/text.h"

namespace sreda::core {

namespace ip = boost::asio::ip;

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  for (;;) {
    size_t j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ip::address normalise(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

Result<AddressSet> AddressSet::parse(std::string_view list) {
  AddressSet set;
  std::string bad;
  for (auto entry : split(list, ',')) {
    entry = trim_view(entry);
    if (entry.empty()) continue;
    boost::system::error_code ec;
    const std::string text(entry);
    const size_t slash = text.find('/');
    const std::string host = text.substr(0, slash);
    const ip::address a = ip::make_address(host, ec);
    if (!ec) {
      int bits = a.is_v4() ? 32 : 128;
      if (slash != std::string::npos) {
        const std::string digits = text.substr(slash + 1);
        const bool numeric = !digits.empty() && digits.size() <= 3 &&
                             std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
        bits = numeric ? std::stoi(digits) : -1;
      }
      if (a.is_v4() && bits >= 0 && bits <= 32) {
        set.v4_.push_back(ip::network_v4(a.to_v4(), static_cast<unsigned short>(bits)).canonical());
        continue;
      }
      if (a.is_v6() && bits >= 0 && bits <= 128) {
        set.v6_.push_back(ip::network_v6(a.to_v6(), static_cast<unsigned short>(bits)).canonical());
        continue;
      }
    }
    bad += (bad.empty() ? "'" : ", '") + escape_for_log(entry, 60) + "'";
  }
  if (!bad.empty()) return Error{"bad_cidr", "not a CIDR block (like 10.0.0.0/8 or 2001:db8::/32): " + bad, ""};
  return set;
}

bool AddressSet::contains(const ip::address& raw) const {
  const ip::address a = normalise(raw);
  if (a.is_v4()) {
    const uint32_t x = a.to_v4().to_uint();
    for (const auto& n : v4_) {
      const uint32_t mask = n.prefix_length() == 0 ? 0 : ~uint32_t{0} << (32 - n.prefix_length());
      if ((x & mask) == n.network().to_uint()) return true;
    }
    return false;
  }
  const auto bytes = a.to_v6().to_bytes();
  for (const auto& n : v6_) {
    const auto net = n.network().to_bytes();
    int bits = n.prefix_length();
    bool match = true;
    for (size_t i = 0; i < bytes.size() && bits > 0 && match; ++i, bits -= 8) {
      const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
      match = (bytes[i] & mask) == (net[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

bool AddressSet::contains(std::string_view address) const {
  if (empty()) return false;
  ip::address a;
  return parse_header_address(address, a) && contains(a);
}

bool parse_header_address(std::string_view text, ip::address& out) {
  text = trim_view(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 64) return false;
  std::string host;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    host = std::string(text.substr(1, close - 1));
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = std::string(text.substr(0, text.find(':')));  // IPv4 with a port
  } else {
    host = std::string(text);
  }
  boost::system::error_code ec;
  const ip::address a = ip::make_address(host, ec);
  if (ec) return false;
  out = normalise(a);
  return true;
}

std::vector<std::string> forwarded_for(std::string_view forwarded) {
  std::vector<std::string> out;
  for (auto element : split(forwarded, ',')) {
    for (auto pair : split(element, ';')) {
      pair = trim_view(pair);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      std::string key(trim_view(pair.substr(0, eq)));
      for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (key == "for") out.emplace_back(trim_view(pair.substr(eq + 1)));
    }
  }
  return out;
}

std::vector<std::string> x_forwarded_for(std::string_view header) {
  std::vector<std::string> out;
  for (auto entry : split(header, ',')) {
    entry = trim_view(entry);
    if (!entry.empty()) out.emplace_back(entry);
  }
  return out;
}

std::string client_address(std::string_view peer, std::string_view xff, std::string_view forwarded,
                           const AddressSet& trusted) {
  ip::address current;
  if (!parse_header_address(peer, current)) return std::string(peer);
  if (trusted.empty() || !trusted.contains(current)) return current.to_string();
  const auto hops = !trim_view(forwarded).empty() ? forwarded_for(forwarded) : x_forwarded_for(xff);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    ip::address hop;
    if (!parse_header_address(*it, hop)) break;  // "unknown" or garbage: the last vouched-for address stands
    current = hop;
    if (!trusted.contains(hop)) break;
  }
  return current.to_string();
}

std::string limit_key(std::string_view address) {
  ip::address a;
  if (!parse_header_address(address, a)) return std::string(address);
  if (a.is_v4()) return a.to_string();
  auto bytes = a.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace sreda::core
