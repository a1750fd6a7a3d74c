#include "server/core/client_address.h"

#include <gtest/gtest.h>

using namespace sreda;

namespace {
core::AddressSet set(const char* list) {
  auto r = core::AddressSet::parse(list);
  EXPECT_TRUE(r.ok()) << list;
  return r.ok() ? *r : core::AddressSet{};
}
}  // namespace

TEST(AddressSet, ParsesCidrsAndHosts) {
  auto s = set("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::1");
  EXPECT_TRUE(s.contains("10.1.2.3"));
  EXPECT_FALSE(s.contains("11.0.0.1"));
  EXPECT_TRUE(s.contains("192.0.2.7"));
  EXPECT_FALSE(s.contains("192.0.2.8"));
  EXPECT_TRUE(s.contains("2001:db8:ffff::1"));
  EXPECT_FALSE(s.contains("2001:db9::1"));
  EXPECT_TRUE(s.contains("::1"));
  EXPECT_TRUE(s.contains("::ffff:10.9.9.9"));  // IPv4-mapped counts as IPv4
  EXPECT_FALSE(s.contains("not an address"));
  EXPECT_TRUE(set("").empty());
  EXPECT_TRUE(set("0.0.0.0/0").contains("203.0.113.9"));
  EXPECT_TRUE(set("10.1.2.3/8").contains("10.200.0.1"));  // host bits are ignored
}

TEST(AddressSet, NamesEveryBadEntry) {
  auto r = core::AddressSet::parse("10.0.0.0/33, 10.0.0.0/8, school, 2001:db8::/129, 1.2.3.4/x");
  ASSERT_FALSE(r.ok());
  const auto& m = r.error().message;
  EXPECT_NE(m.find("'10.0.0.0/33'"), std::string::npos) << m;
  EXPECT_NE(m.find("'school'"), std::string::npos) << m;
  EXPECT_NE(m.find("'2001:db8::/129'"), std::string::npos) << m;
  EXPECT_NE(m.find("'1.2.3.4/x'"), std::string::npos) << m;
  EXPECT_EQ(m.find("'10.0.0.0/8'"), std::string::npos) << m;
}

TEST(ForwardedHeaders, ParsesForwardedForValues) {
  auto v = core::forwarded_for(R"(for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711", for=unknown)");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], "192.0.2.60");
  EXPECT_EQ(v[1], "\"[2001:db8:cafe::17]:4711\"");
  EXPECT_EQ(v[2], "unknown");
  boost::asio::ip::address a;
  ASSERT_TRUE(core::parse_header_address(v[1], a));
  EXPECT_EQ(a.to_string(), "2001:db8:cafe::17");
  EXPECT_FALSE(core::parse_header_address(v[2], a));
  EXPECT_FALSE(core::parse_header_address("_hidden", a));
  ASSERT_TRUE(core::parse_header_address("198.51.100.4:8443", a));
  EXPECT_EQ(a.to_string(), "198.51.100.4");
  auto x = core::x_forwarded_for(" 203.0.113.1 ,, 10.0.0.2 ");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[1], "10.0.0.2");
}

TEST(ClientAddress, HeadersCountOnlyFromTrustedProxies) {
  auto trusted = set("10.0.0.0/8");
  // Anyone else's header is ignored.
  EXPECT_EQ(core::client_address("198.51.100.9", "1.2.3.4", "", trusted), "198.51.100.9");
  // From a trusted proxy: the rightmost untrusted hop (a client-sent prefix is not believed).
  EXPECT_EQ(core::client_address("10.0.0.1", "6.6.6.6, 203.0.113.5", "", trusted), "203.0.113.5");
  EXPECT_EQ(core::client_address("10.0.0.1", "203.0.113.5, 10.0.0.7", "", trusted), "203.0.113.5");
  // Forwarded wins over X-Forwarded-For.
  EXPECT_EQ(core::client_address("10.0.0.1", "6.6.6.6", "for=\"[2001:db8::5]:1234\"", trusted), "2001:db8::5");
  // Garbage stops the walk at the last address a trusted proxy vouched for.
  EXPECT_EQ(core::client_address("10.0.0.1", "203.0.113.5, junk", "", trusted), "10.0.0.1");
  EXPECT_EQ(core::client_address("10.0.0.1", "", "", trusted), "10.0.0.1");
  // No trusted proxies: never the header.
  EXPECT_EQ(core::client_address("10.0.0.1", "203.0.113.5", "", core::AddressSet{}), "10.0.0.1");
  EXPECT_EQ(core::client_address("::ffff:127.0.0.1", "", "", trusted), "127.0.0.1");
}

TEST(ClientAddress, LimitKeyGroupsIpv6By64) {
  EXPECT_EQ(core::limit_key("203.0.113.5"), "203.0.113.5");
  EXPECT_EQ(core::limit_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(core::limit_key("2001:db8:1:2:bbbb::9"), core::limit_key("2001:db8:1:2:aaaa::1"));
  EXPECT_NE(core::limit_key("2001:db8:1:3::1"), core::limit_key("2001:db8:1:2::1"));
  // What the audience counts by too (its bans, rating cap and comment limits): the same one rule.
  EXPECT_EQ(core::limit_key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(core::limit_key("[2001:db8::5]"), "2001:db8::/64");
  EXPECT_EQ(core::limit_key("2001:db8::/64"), "2001:db8::/64") << "a key stays itself";
  EXPECT_EQ(core::limit_key("not an address"), "not an address");
  EXPECT_EQ(core::limit_key(""), "");
}

TEST(AddressPolicy, SharedAddressesGetLargerLimits) {
  core::AddressPolicy p;
  p.shared = set("192.0.2.0/24");
  p.shared_multiplier = 10;
  EXPECT_EQ(p.limit_for("192.0.2.44", 20), 200);
  EXPECT_EQ(p.limit_for("198.51.100.1", 20), 20);
}
