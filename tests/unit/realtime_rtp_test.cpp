// The WHEP fan-out's packet rules: where a viewer's video may resume (an SPS, an IDR alone, in a STAP-A or
// starting an FU-A) and the keyframe request limiter (one per window, the rest coalesced into one).
#include <gtest/gtest.h>

#include <vector>

#include "server/realtime/rtp_packets.h"

namespace sreda::realtime {
namespace {

std::vector<uint8_t> rtp(std::vector<uint8_t> payload, uint8_t first = 0x80) {
  std::vector<uint8_t> p = {first, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

bool key(const std::vector<uint8_t>& p) { return h264_rtp_starts_keyframe(p.data(), p.size()); }

TEST(RealtimeRtp, KeyframeStarts) {
  EXPECT_TRUE(key(rtp({0x67, 0x42})));                                  // SPS
  EXPECT_TRUE(key(rtp({0x65, 0x88})));                                  // IDR slice alone
  EXPECT_FALSE(key(rtp({0x41, 0x9a})));                                 // P slice
  EXPECT_TRUE(key(rtp({0x78, 0, 2, 0x09, 0xf0, 0, 2, 0x67, 0x42})));    // STAP-A: AUD, then SPS
  EXPECT_FALSE(key(rtp({0x78, 0, 2, 0x09, 0xf0, 0, 2, 0x41, 0x9a})));   // STAP-A: AUD, P slice
  EXPECT_FALSE(key(rtp({0x78, 0, 200, 0x09})));                         // STAP-A whose size runs past the end
  EXPECT_TRUE(key(rtp({0x7c, 0x85, 0x88})));                            // FU-A start of an IDR
  EXPECT_FALSE(key(rtp({0x7c, 0x05, 0x88})));                           // FU-A middle of an IDR
  EXPECT_FALSE(key(rtp({0x7c, 0x81, 0x9a})));                           // FU-A start of a P slice
  EXPECT_FALSE(key(rtp({0x67}, 0x40)));                                 // not RTP version 2
  EXPECT_FALSE(key({0x80, 96, 0}));                                     // too short
  // A header extension (one 4-byte word) before the payload.
  EXPECT_TRUE(key(rtp({0xbe, 0xde, 0, 1, 0x10, 0, 0, 0, 0x65}, 0x90)));
  EXPECT_FALSE(key(rtp({0xbe, 0xde, 0, 9, 0x65}, 0x90)));               // an extension longer than the packet
}

TEST(RealtimeRtp, LimiterCoalescesRequestsInsideTheWindow) {
  KeyframeLimiter l(1000);
  EXPECT_TRUE(l.request(5000));
  EXPECT_FALSE(l.request(5100));
  EXPECT_FALSE(l.request(5900));
  EXPECT_TRUE(l.waiting());
  EXPECT_EQ(l.next_allowed_ms(), 6000);
  EXPECT_FALSE(l.due(5999));
  EXPECT_TRUE(l.due(6000));   // the two waiting requests: one keyframe
  EXPECT_FALSE(l.due(8000));  // nothing waits any more
  EXPECT_FALSE(l.request(6500));
  EXPECT_TRUE(l.request(7000));
  EXPECT_FALSE(l.waiting());
}

}  // namespace
}  // namespace sreda::realtime
