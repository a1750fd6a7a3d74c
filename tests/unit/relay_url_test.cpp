// relay_url: what a curator types for a relay target or a pulled source, how it is shown, and where the
// server may go.
#include "server/relay/relay_url.h"

#include <gtest/gtest.h>

namespace sreda::relay {
namespace {

using boost::asio::ip::make_address;

TEST(RelayUrl, RtmpWithAppAndKey) {
  auto u = parse_url("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop", Use::push);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, Scheme::rtmp);
  EXPECT_EQ(u->host, "a.rtmp.youtube.com");
  EXPECT_EQ(u->port, 1935);
  EXPECT_EQ(u->app, "live2");
  EXPECT_EQ(u->key, "abcd-efgh-ijkl-mnop");
}

TEST(RelayUrl, RtmpsDefaultPortAndNestedApp) {
  auto u = parse_url("rtmps://stream.example.org:4443/app/sub/KEY123", Use::push);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, Scheme::rtmps);
  EXPECT_EQ(u->port, 4443);
  EXPECT_EQ(u->app, "app/sub");
  EXPECT_EQ(u->key, "KEY123");
  EXPECT_EQ(parse_url("rtmps://x.example.org/app/k", Use::push)->port, 443);
}

TEST(RelayUrl, RtmpWithoutKeyIsRefusedInWords) {
  auto u = parse_url("rtmp://host.example.org/live", Use::push);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, "invalid_url");
  EXPECT_NE(u.error().message.find("stream key"), std::string::npos) << u.error().message;
}

TEST(RelayUrl, UnknownSchemeAndGarbage) {
  for (const char* bad : {"ftp://host/x/y", "host/live/key", "", "   ", "rtmp://", "rtmp://ho st/a/b",
                          "rtmp://host:99999/a/b", "rtmp://host:x/a/b", "http://host/live/master.m3u8"}) {
    auto u = parse_url(bad, Use::push);
    EXPECT_FALSE(u) << bad;
    if (!u) EXPECT_FALSE(u.error().message.empty());
  }
}

TEST(RelayUrl, SrtCallerWithStreamidAndPassphrase) {
  auto u = parse_url("srt://b.example.org:8890?streamid=publish:SECRETKEY99&passphrase=0123456789ab&latency=300",
                     Use::push);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, Scheme::srt);
  EXPECT_EQ(u->port, 8890);
  EXPECT_EQ(u->streamid, "publish:SECRETKEY99");
  EXPECT_EQ(u->key, "SECRETKEY99");
  EXPECT_EQ(u->passphrase, "0123456789ab");
  EXPECT_EQ(u->latency_ms, 300);
  EXPECT_FALSE(u->listener);
  auto enc = parse_url("srt://b.example.org:8890?streamid=publish%3AK1", Use::push);
  ASSERT_TRUE(enc);
  EXPECT_EQ(enc->streamid, "publish:K1");
}

TEST(RelayUrl, SrtRules) {
  EXPECT_FALSE(parse_url("srt://b.example.org?streamid=x", Use::push));                  // no port
  EXPECT_FALSE(parse_url("srt://b.example.org:1?passphrase=short", Use::push));          // 10..79
  EXPECT_FALSE(parse_url("srt://b.example.org:1?mode=listener", Use::push));             // push calls
  EXPECT_FALSE(parse_url("srt://b.example.org:1?mode=rendezvous", Use::pull));
  EXPECT_FALSE(parse_url("srt://b.example.org:1/path", Use::push));
  auto l = parse_url("srt://:9000?mode=listener", Use::pull);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_TRUE(l->listener);
  EXPECT_TRUE(l->host.empty());
}

TEST(RelayUrl, HlsOnlyForPull) {
  auto u = parse_url("https://a.example.org/live/12/master.m3u8", Use::pull);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, Scheme::https);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/live/12/master.m3u8");
  EXPECT_FALSE(parse_url("https://a.example.org/live/12/master.m3u8", Use::push));
  EXPECT_FALSE(parse_url("http://a.example.org/live/12/", Use::pull));
}

TEST(RelayUrl, MaskedHidesKeysKeepsTheRest) {
  std::string m = masked("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop");
  EXPECT_EQ(m.find("abcd"), std::string::npos) << m;
  EXPECT_NE(m.find("rtmp://a.rtmp.youtube.com/live2/"), std::string::npos) << m;
  EXPECT_NE(m.find("mnop"), std::string::npos) << m;  // the last 4 of a long key tell two keys apart
  std::string shortkey = masked("rtmp://h.example.org/live/k123");
  EXPECT_EQ(shortkey.find("k123"), std::string::npos) << shortkey;
  std::string srt = masked("srt://b.example.org:8890?streamid=publish:SECRETKEY99&passphrase=0123456789ab");
  EXPECT_EQ(srt.find("SECRETKEY99"), std::string::npos) << srt;
  EXPECT_EQ(srt.find("0123456789ab"), std::string::npos) << srt;
  EXPECT_NE(srt.find("streamid=publish:"), std::string::npos) << srt;
  std::string user = masked("rtmp://user:pw123@h.example.org/live/key-abc");
  EXPECT_EQ(user.find("pw123"), std::string::npos) << user;
  std::string bad = masked("rtmp://h.example.org/onlyapp-secret");
  EXPECT_EQ(bad.find("secret"), std::string::npos) << bad;
  std::string hls = masked("https://a.example.org/live/1/master.m3u8?token=abc");
  EXPECT_EQ(hls.find("abc"), std::string::npos) << hls;
}

TEST(RelayUrl, StripSecretsFromErrorTexts) {
  auto u = parse_url("rtmp://127.0.0.1:1/live/TOPSECRETKEY42", Use::push);
  ASSERT_TRUE(u);
  std::string msg = strip_secrets("Could not connect to rtmp://127.0.0.1:1/live/TOPSECRETKEY42: refused; stream "
                                  "TOPSECRETKEY42 failed",
                                  *u);
  EXPECT_EQ(msg.find("TOPSECRETKEY42"), std::string::npos) << msg;
  EXPECT_NE(msg.find("refused"), std::string::npos) << msg;
}

TEST(RelayUrl, PublicAddressesOnlyByDefault) {
  auto d = Destinations::parse("");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->empty());
  for (const char* a : {"127.0.0.1", "10.1.2.3", "192.168.1.10", "172.20.0.1", "169.254.169.254", "100.64.1.1",
                        "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1"}) {
    auto r = d->check("h", {make_address(a)});
    EXPECT_FALSE(r) << a;
    if (!r) EXPECT_NE(r.error().message.find("relays.allowed_hosts"), std::string::npos);
  }
  EXPECT_TRUE(d->check("h", {make_address("8.8.8.8")}));
  EXPECT_TRUE(d->check("h", {make_address("2a00:1450:4001::1")}));
  // One private address among public ones is enough to refuse (DNS may answer both).
  EXPECT_FALSE(d->check("h", {make_address("8.8.8.8"), make_address("10.0.0.1")}));
}

TEST(RelayUrl, AllowListNamesAndBlocks) {
  auto d = Destinations::parse("partner.example.org, 127.0.0.1, 192.0.2.0/24");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->check("PARTNER.example.org", {make_address("10.9.9.9")}));
  EXPECT_TRUE(d->check("127.0.0.1", {make_address("127.0.0.1")}));
  EXPECT_TRUE(d->check("x", {make_address("192.0.2.77")}));
  EXPECT_FALSE(d->check("a.rtmp.youtube.com", {make_address("8.8.8.8")}));  // a list: only what it names
  EXPECT_FALSE(Destinations::parse("ok.example.org, bad host!"));
}

TEST(RelayUrl, ResolveAllowedLiteralNeedsNoDns) {
  auto d = Destinations::parse("127.0.0.1");
  ASSERT_TRUE(d);
  auto r = resolve_allowed(*d, "127.0.0.1");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  auto none = resolve_allowed(*Destinations::parse(""), "127.0.0.1");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, "destination_not_allowed");
}

}  // namespace
}  // namespace sreda::relay
