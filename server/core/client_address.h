// "The client's address" for every per-address limit on the HTTP side (connection caps, API rates, the
// login limiter, the audience WebSocket's cap): the peer's address, or — when the peer is one of
// `server.trusted_proxies` — the address its X-Forwarded-For / Forwarded header names (walked from the
// right, skipping trusted hops; the header of anyone else is ignored). `server.shared_addresses` are
// addresses many people share (a school's NAT, a care home): their limits are larger. Limits group IPv6
// by /64 (one household or phone gets a whole /64). Pure; any thread (the sets are read-only after start).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include "server/core/result.h"

namespace sreda::core {

// A set of CIDR blocks ("10.0.0.0/8, 192.0.2.7, 2001:db8::/32"; a bare address is one host).
class AddressSet {
 public:
  // Parses a comma-separated list; an error names every entry that is not a CIDR block.
  static Result<AddressSet> parse(std::string_view list);
  bool contains(const boost::asio::ip::address& a) const;
  bool contains(std::string_view address) const;  // false for anything that is not an address
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

// The two sets of server.trusted_proxies and server.shared_addresses.
struct AddressPolicy {
  AddressSet trusted_proxies;
  AddressSet shared;
  int shared_multiplier = 16;  // server.shared_address_multiplier: a shared address's limits are this many times larger
  // The limit for `address` (a client address): `base`, or base × shared_multiplier for a shared address.
  int64_t limit_for(std::string_view address, int64_t base) const {
    return shared.contains(address) ? base * shared_multiplier : base;
  }
};
using AddressPolicyPtr = std::shared_ptr<const AddressPolicy>;

// Parses an address as headers write it: "192.0.2.1", "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]:443",
// "\"[2001:db8::1]\"". IPv4-mapped IPv6 becomes IPv4. False for "unknown", obfuscated ids and garbage.
bool parse_header_address(std::string_view text, boost::asio::ip::address& out);

// The "for=" values of a Forwarded header (RFC 7239), in order (unquoted, as written).
std::vector<std::string> forwarded_for(std::string_view forwarded);
// The entries of an X-Forwarded-For header, in order (trimmed).
std::vector<std::string> x_forwarded_for(std::string_view header);

// The client's address (normalised text). `peer` is the TCP peer; the headers count only when the peer is
// a trusted proxy; Forwarded wins over X-Forwarded-For when both are present. Walking from the right,
// each trusted hop is skipped; the first untrusted one is the client; an entry that is not an address
// stops the walk at the hop after it (the last address a trusted proxy vouched for).
std::string client_address(std::string_view peer, std::string_view x_forwarded_for_header,
                           std::string_view forwarded_header, const AddressSet& trusted);

// The key per-address limits count under: an IPv4 address as it is, an IPv6 address as its /64
// ("2001:db8:1:2::/64"); text that is not an address as it is.
std::string limit_key(std::string_view address);

}  // namespace sreda::core
