// Server handshake: plain echo and the digest (FP9) variant, checked the way librtmp checks S1/S2.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "server/ingest/rtmp/handshake.h"

namespace sreda::ingest::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;
using Block = std::span<const uint8_t, kHandshakeSize>;

Bytes make_c0c1(bool versioned, int digest_scheme) {
  Bytes b(1 + kHandshakeSize);
  b[0] = 3;
  for (size_t i = 1; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
  uint8_t* c1 = b.data() + 1;
  std::memset(c1, 0, 4);
  if (versioned) {
    c1[4] = 0x80;  // what ffmpeg sends: 128.0.7.2
    c1[5] = 0x00;
    c1[6] = 0x07;
    c1[7] = 0x02;
  } else {
    std::memset(c1 + 4, 0, 4);
  }
  if (digest_scheme >= 0) {
    Block block(c1, kHandshakeSize);
    size_t offset = handshake_digest_offset(block, digest_scheme);
    auto digest = handshake_digest(block, offset, flash_player_key_partial());
    std::memcpy(c1 + offset, digest.data(), kDigestSize);
  }
  return b;
}

struct Reply {
  Bytes s0s1s2;
  Handshake hs;
};

void run(Handshake& hs, const Bytes& c0c1, Bytes& out) {
  auto used = hs.feed(c0c1, out);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, c0c1.size());
  ASSERT_EQ(out.size(), 1 + 2 * kHandshakeSize);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(hs.state(), Handshake::State::waiting_c2);
}

TEST(RtmpHandshake, PlainEchoesC1AndFinishesOnC2) {
  Bytes c0c1 = make_c0c1(false, -1);
  Handshake hs;
  Bytes out;
  run(hs, c0c1, out);
  EXPECT_FALSE(hs.used_digest());
  EXPECT_TRUE(std::equal(out.begin() + 1 + kHandshakeSize, out.end(), c0c1.begin() + 1));  // S2 == C1
  EXPECT_EQ(out[5], 0);                                                                    // S1 version zero

  Bytes c2(kHandshakeSize, 0x55);
  c2.insert(c2.end(), {0x03, 0x00});  // the first chunk bytes follow C2 in the same read
  Bytes more;
  auto used = hs.feed(c2, more);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, kHandshakeSize);
  EXPECT_TRUE(hs.done());
  EXPECT_TRUE(more.empty());
}

TEST(RtmpHandshake, ByteAtATime) {
  Bytes c0c1 = make_c0c1(false, -1);
  Handshake hs;
  Bytes out;
  for (uint8_t b : c0c1) ASSERT_TRUE(hs.feed(Bytes{b}, out).ok());
  EXPECT_EQ(out.size(), 1 + 2 * kHandshakeSize);
  for (size_t i = 0; i < kHandshakeSize; ++i) ASSERT_TRUE(hs.feed(Bytes{1}, out).ok());
  EXPECT_TRUE(hs.done());
}

void check_digest_reply(int scheme) {
  Bytes c0c1 = make_c0c1(true, scheme);
  Handshake hs;
  Bytes out;
  run(hs, c0c1, out);
  EXPECT_TRUE(hs.used_digest());
  Block s1(out.data() + 1, kHandshakeSize);
  Block s2(out.data() + 1 + kHandshakeSize, kHandshakeSize);
  Block c1(c0c1.data() + 1, kHandshakeSize);
  EXPECT_NE(s1[4] | s1[5] | s1[6] | s1[7], 0);  // a server version: "I speak digest"
  // S1 carries a digest keyed with the Flash Media Server key, in the client's scheme.
  auto s1_scheme = handshake_find_digest(s1, media_server_key_partial());
  ASSERT_TRUE(s1_scheme.has_value());
  EXPECT_EQ(*s1_scheme, scheme);
  // S2's last 32 bytes sign the rest with HMAC(full FMS key, client digest), as librtmp verifies.
  size_t c1_offset = handshake_digest_offset(c1, scheme);
  auto key = hmac_sha256(media_server_key_full(), c1.subspan(c1_offset, kDigestSize));
  auto expected = hmac_sha256(key, s2.first(kHandshakeSize - kDigestSize));
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), s2.begin() + (kHandshakeSize - kDigestSize)));
  EXPECT_FALSE(std::equal(s2.begin(), s2.end(), c1.begin()));  // not an echo
}

TEST(RtmpHandshake, DigestScheme0) {
  check_digest_reply(0);
}
TEST(RtmpHandshake, DigestScheme1) {
  check_digest_reply(1);
}

TEST(RtmpHandshake, VersionedC1WithoutAValidDigestGetsThePlainReply) {
  Bytes c0c1 = make_c0c1(true, -1);
  Handshake hs;
  Bytes out;
  run(hs, c0c1, out);
  EXPECT_FALSE(hs.used_digest());
  EXPECT_TRUE(std::equal(out.begin() + 1 + kHandshakeSize, out.end(), c0c1.begin() + 1));
}

TEST(RtmpHandshake, WrongVersionIsRefusedAtOnce) {
  for (uint8_t version : {0x06, 0x47 /* 'G' of "GET" */, 0x00}) {
    Handshake hs;
    Bytes out;
    auto r = hs.feed(Bytes{version, 1, 2, 3}, out);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(hs.state(), Handshake::State::failed);
    EXPECT_FALSE(hs.feed(Bytes{3}, out).ok());
  }
}

}  // namespace
}  // namespace sreda::ingest::rtmp
