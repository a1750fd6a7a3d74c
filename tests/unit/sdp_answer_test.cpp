// The answer a WHIP/WHEP client gets: webrtcbin's answer plus its gathered candidates on the transport's
// m-line (the BUNDLE tag), end-of-candidates, and 1:1-NAT copies of host candidates with the public
// addresses. A browser that receives the wrong m-line's candidates or none at all never connects.
#include "server/media/sdp_answer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "server/media/sdp_lines.h"

namespace sreda::media {
namespace {

// The shape of webrtcbin 1.22's answer to a browser's bundled audio+video offer (LF here; CRLF in life).
const char* kBundledAnswer =
    "v=0\n"
    "o=- 7041623495372392051 0 IN IP4 0.0.0.0\n"
    "s=-\n"
    "t=0 0\n"
    "a=ice-options:trickle\n"
    "a=group:BUNDLE 0 1\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\n"
    "c=IN IP4 0.0.0.0\n"
    "a=ice-ufrag:yJ3XkKp0vj2sVdPh0vE6uqSRxYgqE3jH\n"
    "a=ice-pwd:sBuLQ3tI2Sg5Lx1o4bq0TJ7Zr8aWc9vN\n"
    "a=fingerprint:sha-256 4C:1D:0A:55:6E:93:21:7B:11:AF:3E:8D:72:9B:C4:05:EA:56:61:0F:92:13:B8:77:4D:"
    "2A:3C:90:DE:81:AB:F4\n"
    "a=setup:active\n"
    "a=mid:0\n"
    "a=rtcp-mux\n"
    "a=recvonly\n"
    "a=rtpmap:111 OPUS/48000/2\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\n"
    "c=IN IP4 0.0.0.0\n"
    "a=ice-ufrag:yJ3XkKp0vj2sVdPh0vE6uqSRxYgqE3jH\n"
    "a=ice-pwd:sBuLQ3tI2Sg5Lx1o4bq0TJ7Zr8aWc9vN\n"
    "a=setup:active\n"
    "a=mid:1\n"
    "a=rtcp-mux\n"
    "a=recvonly\n"
    "a=rtpmap:96 H264/90000\n"
    "a=fmtp:96 packetization-mode=1;profile-level-id=42e01f\n";

std::vector<std::string> section_lines(const std::string& sdp, int mline) {
  std::vector<std::string> out;
  int at = -1;
  for (auto line : sdp::split_lines(sdp)) {
    if (line.substr(0, 2) == "m=") ++at;
    if (at == mline) out.emplace_back(line);
  }
  return out;
}

int count_of(const std::vector<std::string>& lines, const std::string& prefix) {
  int n = 0;
  for (const auto& l : lines) n += l.rfind(prefix, 0) == 0;
  return n;
}

TEST(SdpAnswerTest, PutsEveryBundledCandidateOnTheFirstMlineWithEndOfCandidates) {
  auto done = complete_answer(kBundledAnswer,
                              {{0, "candidate:1 1 UDP 2015363327 192.168.1.5 20004 typ host"},
                               {1, "candidate:2 1 UDP 2015363327 10.0.0.5 20006 typ host"},
                               {0, "a=candidate:3 1 TCP 1015021823 192.168.1.5 9 typ host tcptype active"}},
                              {});
  ASSERT_TRUE(done.ok()) << done.error().message;
  const auto audio = section_lines(done->sdp, 0), video = section_lines(done->sdp, 1);
  EXPECT_EQ(count_of(audio, "a=candidate:"), 3);
  EXPECT_EQ(count_of(video, "a=candidate:"), 0);
  EXPECT_EQ(count_of(audio, "a=end-of-candidates"), 1);
  EXPECT_EQ(count_of(video, "a=end-of-candidates"), 0);
  EXPECT_EQ(audio.back(), "a=end-of-candidates");
  EXPECT_EQ(done->candidates, 3u);
  EXPECT_EQ(done->ignored, 0u);
  // CRLF everywhere, and the session part unchanged.
  EXPECT_EQ(done->sdp.find("\n"), done->sdp.find("\r\n") + 1);
  EXPECT_EQ(done->sdp.rfind("v=0\r\no=- 7041623495372392051 0 IN IP4 0.0.0.0\r\n", 0), 0u);
  EXPECT_NE(done->sdp.find("a=rtpmap:96 H264/90000\r\na=fmtp:96"), std::string::npos);
}

TEST(SdpAnswerTest, WithoutBundleEachMlineGetsItsOwnCandidates) {
  std::string answer = kBundledAnswer;
  answer.replace(answer.find("a=group:BUNDLE 0 1\n"), 19, "");
  auto done = complete_answer(answer,
                              {{0, "candidate:1 1 UDP 2015363327 192.168.1.5 20004 typ host"},
                               {1, "candidate:2 1 UDP 2015363327 192.168.1.5 20006 typ host"},
                               {1, "candidate:3 2 UDP 2015363326 192.168.1.5 20007 typ host"}},
                              {});
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(count_of(section_lines(done->sdp, 0), "a=candidate:1 "), 1);
  EXPECT_EQ(count_of(section_lines(done->sdp, 1), "a=candidate:"), 2);
  EXPECT_EQ(count_of(section_lines(done->sdp, 1), "a=end-of-candidates"), 1);
  EXPECT_EQ(count_of(section_lines(done->sdp, 0), "a=end-of-candidates"), 1);
}

TEST(SdpAnswerTest, KeepsCandidatesAlreadyThereAndAddsNoDuplicate) {
  std::string answer = kBundledAnswer;
  answer.insert(answer.find("a=rtpmap:111"),
                "a=candidate:1 1 UDP 2015363327 192.168.1.5 20004 typ host\na=end-of-candidates\n");
  auto done = complete_answer(answer,
                              {{0, "candidate:1 1 UDP 2015363327 192.168.1.5 20004 typ host"},
                               // the same transport address and type under another foundation: a duplicate
                               {1, "candidate:7 1 udp 2015363327 192.168.1.5 20004 typ host"},
                               {0,
                                "candidate:2 1 UDP 1677729535 198.51.100.4 40000 typ srflx raddr "
                                "192.168.1.5 rport 20004"},
                               {0,
                                "candidate:2 1 UDP 1677729535 198.51.100.4 40000 typ srflx raddr "
                                "192.168.1.5 rport 20004"}},
                              {});
  ASSERT_TRUE(done.ok());
  const auto audio = section_lines(done->sdp, 0);
  EXPECT_EQ(count_of(audio, "a=candidate:"), 2);
  EXPECT_EQ(count_of(audio, "a=end-of-candidates"), 1);
  EXPECT_EQ(done->ignored, 3u);
  // The new candidate sits with the old one, before end-of-candidates.
  auto srflx = std::find_if(audio.begin(), audio.end(), [](auto& l) { return l.find("srflx") != l.npos; });
  auto end = std::find(audio.begin(), audio.end(), "a=end-of-candidates");
  ASSERT_NE(srflx, audio.end());
  EXPECT_LT(srflx, end);
}

TEST(SdpAnswerTest, PublicAddressesCopyEachHostCandidateWithANewFoundationAndLowerPriority) {
  auto done = complete_answer(kBundledAnswer,
                              {{0, "candidate:1 1 UDP 2015363327 192.168.1.5 20004 typ host"},
                               {0, "candidate:2 1 TCP 1015021823 192.168.1.5 20010 typ host tcptype passive"},
                               {0, "candidate:3 1 UDP 2015363327 fd00::5 20012 typ host"},
                               {0,
                                "candidate:4 1 UDP 1677729535 198.51.100.4 40000 typ srflx raddr "
                                "192.168.1.5 rport 20004"}},
                              split_public_addresses(" 203.0.113.7 ,, 2001:db8::7,203.0.113.7"));
  ASSERT_TRUE(done.ok());
  const auto audio = section_lines(done->sdp, 0);
  // Two IPv4 host candidates get the IPv4 address, the IPv6 one the IPv6 address; srflx none.
  EXPECT_EQ(done->public_copies, 3u);
  EXPECT_EQ(count_of(audio, "a=candidate:"), 7);
  std::vector<std::string> copies;
  for (const auto& l : audio)
    if (l.find(" 203.0.113.7 ") != l.npos || l.find(" 2001:db8::7 ") != l.npos) copies.push_back(l);
  ASSERT_EQ(copies.size(), 3u);
  EXPECT_EQ(copies[0], "a=candidate:5 1 UDP 2015363071 203.0.113.7 20004 typ host");
  EXPECT_EQ(copies[1], "a=candidate:6 1 TCP 1015021567 203.0.113.7 20010 typ host tcptype passive");
  EXPECT_EQ(copies[2], "a=candidate:7 1 UDP 2015362815 2001:db8::7 20012 typ host");
  EXPECT_EQ(audio.back(), "a=end-of-candidates");
}

TEST(SdpAnswerTest, SplitsPublicAddresses) {
  EXPECT_EQ(split_public_addresses(""), std::vector<std::string>{});
  EXPECT_EQ(split_public_addresses("203.0.113.7"), std::vector<std::string>{"203.0.113.7"});
  EXPECT_EQ(split_public_addresses(" a , b,,a, c d"), (std::vector<std::string>{"a", "b"}));
}

TEST(SdpAnswerTest, IgnoresCandidatesItCannotPlace) {
  std::string answer = kBundledAnswer;
  answer.replace(answer.find("a=group:BUNDLE 0 1\n"), 19, "");
  answer.replace(answer.find("m=video 9"), 9, "m=video 0");  // rejected video m-line
  auto done = complete_answer(answer,
                              {{1, "candidate:1 1 UDP 2015363327 192.168.1.5 20004 typ host"},
                               {5, "candidate:2 1 UDP 2015363327 192.168.1.5 20006 typ host"},
                               {-1, "candidate:3 1 UDP 2015363327 192.168.1.5 20008 typ host"},
                               {0, "candidate:4 1 UDP nonsense 192.168.1.5 20010 typ host"},
                               {0, "candidate:5 1 UDP 1 192.168.1.5 20010 typ host\r\na=evil"},
                               {0, "candidate:6 1 UDP 2015363327 192.168.1.5 70000 typ host"},
                               {0, "typ host"}},
                              {});
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->ignored, 7u);
  EXPECT_EQ(done->candidates, 0u);
  EXPECT_EQ(count_of(section_lines(done->sdp, 1), "a=end-of-candidates"), 0);
  EXPECT_EQ(done->sdp.find("evil"), std::string::npos);
}

TEST(SdpAnswerTest, RefusesAnswersWithoutMediaOrTooLarge) {
  EXPECT_EQ(complete_answer("v=0\r\ns=-\r\n", {}, {}).error().code, "answer_no_media");
  EXPECT_EQ(complete_answer(std::string(70000, 'a'), {}, {}).error().code, "answer_too_large");
  std::string many;
  for (int i = 0; i < 2001; ++i) many += "a=x\n";
  EXPECT_EQ(complete_answer(many, {}, {}).error().code, "answer_too_large");
}

}  // namespace
}  // namespace sreda::media
