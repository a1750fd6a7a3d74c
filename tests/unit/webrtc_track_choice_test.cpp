// webrtc::track_choice: the SDP parser's chosen tracks → what WebRtcPeer::answer takes.
#include <gtest/gtest.h>

#include "pipelines/webrtc/webrtc_peer.h"

namespace sreda::webrtc {
namespace {

media::SdpTrack track(int mline, int pt, int twcc) {
  media::SdpTrack t;
  t.mline = mline;
  t.pt = pt;
  t.twcc_extmap_id = twcc;
  return t;
}

TEST(WebRtcTrackChoiceTest, TakesEachPresentTracksPayloadTypeAndTheTwccId) {
  auto c = track_choice(track(1, 102, 3), track(0, 111, 3));
  EXPECT_EQ(c.video_pt, 102);
  EXPECT_EQ(c.audio_pt, 111);
  EXPECT_EQ(c.twcc_extmap_id, 3);
  EXPECT_EQ(c.video_ssrc, 0u);
}

TEST(WebRtcTrackChoiceTest, AnAbsentTrackIsMinusOneAndNoExtmapIsZero) {
  auto c = track_choice(media::SdpTrack{}, track(0, 111, -1));
  EXPECT_EQ(c.video_pt, -1);
  EXPECT_EQ(c.audio_pt, 111);
  EXPECT_EQ(c.twcc_extmap_id, 0);
  auto audio_only_twcc = track_choice(media::SdpTrack{}, track(0, 109, 5));
  EXPECT_EQ(audio_only_twcc.twcc_extmap_id, 5);
}

}  // namespace
}  // namespace sreda::webrtc
