// The WebRTC offer parser and the WHIP/WHEP choosers on real offers: captured from Debian's Chromium
// (tests/unit/data/sdp/capture-offers.mjs) and written by hand after OBS 30's WHIP output (libdatachannel)
// and Firefox. What a studio person notices: the right tracks go on air, and every refusal says what to
// change, with the HTTP status the route sends. The bounds are checked at, and one past, each limit.
#include "server/media/sdp_offer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>

namespace sreda::media {
namespace {

std::string offer_file(const std::string& name) {
  std::ifstream in(std::string(SREDA_SOURCE_DIR) + "/tests/unit/data/sdp/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

SdpOffer parsed(const std::string& text) {
  auto offer = parse_sdp_offer(text, 16384);
  EXPECT_TRUE(offer.ok()) << offer.error().message;
  return offer.ok() ? *offer : SdpOffer{};
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

void expect_refusal(const core::Error& e, const std::string& code, int status, const std::string& words) {
  EXPECT_EQ(e.code, code) << e.message;
  EXPECT_EQ(sdp_refusal_status(e), status) << e.code;
  EXPECT_NE(e.message.find(words), std::string::npos) << e.message;
}

TEST(SdpOfferTest, ReadsChromiumsPublisherOffer) {
  const auto offer = parsed(offer_file("chromium-156-whip-sendonly-h264-first.sdp"));
  ASSERT_EQ(offer.media.size(), 2u);
  EXPECT_EQ(offer.bundle, (std::vector<std::string>{"0", "1"}));
  EXPECT_FALSE(offer.ice_ufrag);  // Chromium puts them on each m-line
  const auto& audio = offer.media[0];
  const auto& video = offer.media[1];
  EXPECT_EQ(audio.kind, SdpKind::audio);
  EXPECT_EQ(video.kind, SdpKind::video);
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(video.mid, "1");
  EXPECT_EQ(video.direction, SdpDirection::sendonly);
  EXPECT_TRUE(video.ice_ufrag && video.ice_pwd && video.fingerprint && video.setup);
  EXPECT_EQ(audio.candidates, 8u);
  EXPECT_EQ(offer.candidates, 8u);
  EXPECT_EQ(video.formats.front().pt, 108);  // setCodecPreferences put H.264 42e01f first
  EXPECT_EQ(video.formats.front().encoding, "H264");
  EXPECT_EQ(video.formats.front().clock_rate, 90000);
  EXPECT_EQ(video.formats.front().rtcp_fb,
            (std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}));
  EXPECT_EQ(video.fmtp_value(108, "profile-level-id"), "42e01f");
  EXPECT_EQ(video.fmtp_value(108, "PACKETIZATION-MODE"), "1");
  EXPECT_EQ(video.fmtp_value(108, "sprop-parameter-sets"), "");
  ASSERT_NE(audio.format(111), nullptr);
  EXPECT_EQ(audio.format(111)->channels, 2);
  EXPECT_EQ(audio.format(0)->channels, 1);
  ASSERT_FALSE(audio.extmaps.empty());
  EXPECT_EQ(audio.extmaps[0].id, 1);
  EXPECT_EQ(audio.extmaps[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");

  const auto choice = choose_whip(offer);
  ASSERT_TRUE(choice.ok()) << choice.error().message;
  EXPECT_EQ(choice->video.mline, 1);
  EXPECT_EQ(choice->video.mid, "1");
  EXPECT_EQ(choice->video.pt, 108);
  EXPECT_EQ(choice->video.rtx_pt, 109);
  EXPECT_EQ(choice->video_profile, "constrained-baseline");
  EXPECT_EQ(choice->video.twcc_extmap_id, 3);
  EXPECT_EQ(choice->audio.twcc_extmap_id, 3);
  EXPECT_EQ(choice->audio.mline, 0);
  EXPECT_EQ(choice->audio.pt, 111);
  EXPECT_NE(choice->audio.format.fmtp.find("useinbandfec=1"), std::string::npos);
}

TEST(SdpOfferTest, TakesTheOfferersFirstUsableH264InItsOwnOrder) {
  // Without codec preferences Chromium lists VP8 first and H.264 baseline (42001f) as its first H.264.
  const auto choice = choose_whip(parsed(offer_file("chromium-156-whip-sendonly.sdp")));
  ASSERT_TRUE(choice.ok()) << choice.error().message;
  EXPECT_EQ(choice->video.pt, 102);
  EXPECT_EQ(choice->video.rtx_pt, 103);
  EXPECT_EQ(choice->video_profile, "baseline");
  EXPECT_EQ(choice->audio.pt, 111);
}

TEST(SdpOfferTest, TakesVideoOnlyOrAudioOnlyPublishers) {
  const auto video = choose_whip(parsed(offer_file("chromium-156-whip-video-only-h264-first.sdp")));
  ASSERT_TRUE(video.ok()) << video.error().message;
  EXPECT_TRUE(video->video.present());
  EXPECT_FALSE(video->audio.present());
  const auto audio = choose_whip(parsed(offer_file("chromium-156-whip-audio-only.sdp")));
  ASSERT_TRUE(audio.ok()) << audio.error().message;
  EXPECT_FALSE(audio->video.present());
  EXPECT_EQ(audio->audio.pt, 111);
}

TEST(SdpOfferTest, TakesObs30sWhipOfferWithSessionLevelCredentials) {
  const auto offer = parsed(offer_file("obs-30-whip.sdp"));
  EXPECT_TRUE(offer.ice_ufrag && offer.ice_pwd && offer.fingerprint && offer.setup);
  EXPECT_FALSE(offer.media[1].ice_ufrag);
  const auto choice = choose_whip(offer);
  ASSERT_TRUE(choice.ok()) << choice.error().message;
  EXPECT_EQ(choice->video.pt, 96);
  EXPECT_EQ(choice->video.rtx_pt, -1);
  EXPECT_EQ(choice->video.twcc_extmap_id, -1);
  EXPECT_EQ(choice->video_profile, "constrained-baseline");
  EXPECT_EQ(choice->audio.pt, 111);
  EXPECT_EQ(choice->audio.format.channels, 2);
}

TEST(SdpOfferTest, TakesFirefoxsOfferWithMediaLevelDirectionOverSessionLevel) {
  const auto offer = parsed(offer_file("firefox-128-sendonly.sdp"));
  EXPECT_EQ(offer.media[0].direction, SdpDirection::sendonly);
  EXPECT_EQ(offer.media[1].extmaps.size(), 5u);
  const auto choice = choose_whip(offer);
  ASSERT_TRUE(choice.ok()) << choice.error().message;
  EXPECT_EQ(choice->video.pt, 126);
  EXPECT_EQ(choice->video.rtx_pt, 127);
  EXPECT_EQ(choice->video.twcc_extmap_id, 7);
  EXPECT_EQ(choice->audio.pt, 109);
}

TEST(SdpOfferTest, ReadsLfOnlyOffersLikeCrlfOnes) {
  const auto crlf = offer_file("chromium-156-whip-sendonly-h264-first.sdp");
  const auto lf = parsed(replaced(crlf, "\r\n", "\n"));
  const auto choice = choose_whip(lf);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->video.pt, 108);
  EXPECT_EQ(lf.media[1].formats.size(), parsed(crlf).media[1].formats.size());
}

TEST(SdpOfferTest, WhipRefusesWhatCannotGoOnAir) {
  expect_refusal(choose_whip(parsed(offer_file("chromium-156-whip-vp8-only.sdp"))).error(), "whip_no_h264",
                 422, "in OBS choose x264");
  expect_refusal(choose_whip(parsed(offer_file("chromium-156-whip-vp8-only.sdp"))).error(), "whip_no_h264",
                 422, "This offer has: VP8.");
  expect_refusal(choose_whip(parsed(offer_file("chromium-156-whip-simulcast.sdp"))).error(), "whip_simulcast",
                 422, "turn off simulcast");
  expect_refusal(choose_whip(parsed(offer_file("chromium-156-datachannel-only.sdp"))).error(),
                 "whip_no_media", 422, "nothing to put on air");
  expect_refusal(choose_whip(parsed(offer_file("chromium-156-whep-recvonly.sdp"))).error(), "whip_no_media",
                 422, "nothing to put on air");
  const auto obs = offer_file("obs-30-whip.sdp");
  expect_refusal(choose_whip(parsed(replaced(replaced(obs, "H264/90000", "AV1/90000"),
                                             "profile-level-id=42e01f;packetization-mode=1;", "")))
                     .error(),
                 "whip_no_h264", 422, "This offer has: AV1.");
  expect_refusal(choose_whip(parsed(replaced(obs, "packetization-mode=1", "packetization-mode=0"))).error(),
                 "whip_no_h264", 422, "mode 0");
  expect_refusal(
      choose_whip(parsed(replaced(obs, "profile-level-id=42e01f", "profile-level-id=6e001f"))).error(),
      "whip_h264_profile", 422, "Color Format to NV12");
  expect_refusal(choose_whip(parsed(replaced(obs, "opus/48000/2", "PCMU/8000"))).error(), "whip_no_opus", 422,
                 "Opus");
  expect_refusal(choose_whip(parsed(replaced(obs, "opus/48000/2", "opus/48000"))).error(), "whip_no_opus",
                 422, "This offer has: opus.");
}

TEST(SdpOfferTest, WhipRefusesMoreThanOneVideoOrAudioTrack) {
  const auto obs = offer_file("obs-30-whip.sdp");
  const auto video_at = obs.find("m=video");
  const auto two_videos = obs + replaced(obs.substr(video_at), "a=mid:1", "a=mid:2");
  expect_refusal(choose_whip(parsed(two_videos)).error(), "whip_too_many_tracks", 422, "2 video tracks");
  const auto audio = obs.substr(obs.find("m=audio"), video_at - obs.find("m=audio"));
  const auto two_audios = obs + replaced(audio, "a=mid:0", "a=mid:2");
  expect_refusal(choose_whip(parsed(two_audios)).error(), "whip_too_many_tracks", 422, "2 audio tracks");
  // A second video m-line the offerer rejected (port 0) or does not send is no second track.
  const auto rejected =
      obs + replaced(replaced(obs.substr(video_at), "a=mid:1", "a=mid:2"), "m=video 50114", "m=video 0");
  EXPECT_TRUE(choose_whip(parsed(rejected)).ok());
  const auto inactive =
      obs + replaced(replaced(obs.substr(video_at), "a=mid:1", "a=mid:2"), "a=sendonly", "a=inactive");
  EXPECT_TRUE(choose_whip(parsed(inactive)).ok());
}

TEST(SdpOfferTest, BothUsesRefuseOffersWithoutIceCredentialsOrFingerprint) {
  const auto obs = offer_file("obs-30-whip.sdp");
  const auto chromium = offer_file("chromium-156-whep-recvonly.sdp");
  for (const auto& [from, to, code] :
       {std::tuple{"a=ice-ufrag:", "a=x-ice-ufrag:", "sdp_no_ice"},
        std::tuple{"a=ice-pwd:", "a=x-ice-pwd:", "sdp_no_ice"},
        std::tuple{"a=fingerprint:", "a=x-fingerprint:", "sdp_no_fingerprint"}}) {
    expect_refusal(choose_whip(parsed(replaced(obs, from, to))).error(), code, 400, "WebRTC");
    expect_refusal(choose_whep(parsed(replaced(chromium, from, to))).error(), code, 400, "WebRTC");
  }
  // Only on one of Chromium's two m-lines is as bad as none.
  const auto video_at = chromium.find("m=video");
  const auto half = chromium.substr(0, video_at) + replaced(chromium.substr(video_at), "a=ice-pwd:", "a=x:");
  expect_refusal(choose_whep(parsed(half)).error(), "sdp_no_ice", 400, "ICE credentials");
}

TEST(SdpOfferTest, WhepPicksTheViewersPayloadTypesForTheFeed) {
  const auto offer = parsed(offer_file("chromium-156-whep-recvonly.sdp"));
  EXPECT_EQ(offer.media[1].direction, SdpDirection::recvonly);
  // A constrained-baseline feed plays in Chromium's first packetization-mode 1 H.264: baseline 42001f.
  auto choice = choose_whep(offer);
  ASSERT_TRUE(choice.ok()) << choice.error().message;
  EXPECT_EQ(choice->video.pt, 102);
  EXPECT_EQ(choice->video.rtx_pt, 103);
  EXPECT_EQ(choice->audio.pt, 111);
  // A main-profile feed needs a main decoder (4d001f); High 4:4:4 (f4001f) is never taken.
  choice = choose_whep(offer, WhepFeed{"main", 31});
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->video.pt, 116);
  // A level above the viewer's is fine with level-asymmetry-allowed=1, refused without it.
  EXPECT_EQ(choose_whep(offer, WhepFeed{"constrained-baseline", 40})->video.pt, 102);
  const auto strict =
      parsed(replaced(offer_file("chromium-156-whep-recvonly.sdp"), "level-asymmetry-allowed=1;", ""));
  expect_refusal(choose_whep(strict, WhepFeed{"constrained-baseline", 40}).error(), "whep_no_h264", 422,
                 "a few seconds of delay");
  EXPECT_EQ(choose_whep(strict, WhepFeed{"constrained-baseline", 31})->video.pt, 102);
  expect_refusal(choose_whep(offer, WhepFeed{"high", 31}).error(), "whep_no_h264", 422, "real time");
}

TEST(SdpOfferTest, WhepRefusesPlayersThatReceiveNothingUsable) {
  expect_refusal(choose_whep(parsed(offer_file("chromium-156-whip-sendonly.sdp"))).error(), "whep_no_media",
                 422, "nothing to play");
  expect_refusal(choose_whep(parsed(offer_file("chromium-156-datachannel-only.sdp"))).error(),
                 "whep_no_media", 422, "nothing to play");
  const auto viewer = offer_file("chromium-156-whep-recvonly.sdp");
  expect_refusal(choose_whep(parsed(replaced(viewer, "opus/48000/2", "opus/48000/1"))).error(),
                 "whep_no_opus", 422, "Opus");
  expect_refusal(choose_whep(parsed(replaced(viewer, "H264/90000", "H265/90000"))).error(), "whep_no_h264",
                 422, "H.264");
}

TEST(SdpOfferTest, RefusesOffersOverEachBoundAndTakesThemAtTheBound) {
  const auto obs = offer_file("obs-30-whip.sdp");
  expect_refusal(parse_sdp_offer(obs, obs.size() - 1).error(), "sdp_too_large", 413, "larger than");
  EXPECT_TRUE(parse_sdp_offer(obs, obs.size()).ok());

  auto with_lines = [&](size_t total) {
    std::string s = obs;
    for (size_t n = std::count(obs.begin(), obs.end(), '\n'); n < total; ++n) s += "a=x-filler\r\n";
    return s;
  };
  EXPECT_TRUE(parse_sdp_offer(with_lines(2000), 1 << 20).ok());
  expect_refusal(parse_sdp_offer(with_lines(2001), 1 << 20).error(), "sdp_too_many_lines", 400, "2000 lines");

  EXPECT_TRUE(parse_sdp_offer(obs + "a=x-" + std::string(1020, 'y') + "\r\n", 1 << 20).ok());
  expect_refusal(parse_sdp_offer(obs + "a=x-" + std::string(1021, 'y') + "\r\n", 1 << 20).error(),
                 "sdp_line_too_long", 400, "1024 bytes");
  expect_refusal(parse_sdp_offer(obs + "a=x-" + std::string(1021, 'y'), 1 << 20).error(), "sdp_line_too_long",
                 400, "1024 bytes");

  const std::string extra = "m=text 0 UDP/TLS/RTP/SAVPF 98\r\n";
  EXPECT_TRUE(parse_sdp_offer(obs + extra + extra, 1 << 20).ok());
  expect_refusal(parse_sdp_offer(obs + extra + extra + extra, 1 << 20).error(), "sdp_too_many_media", 400,
                 "more than 4");

  auto with_formats = [&](int n) {
    std::string m = "m=video 9 UDP/TLS/RTP/SAVPF";
    for (int pt = 0; pt < n; ++pt) m += " " + std::to_string(pt);
    return obs + m + "\r\n";
  };
  EXPECT_EQ(parse_sdp_offer(with_formats(64), 1 << 20)->media.back().formats.size(), 64u);
  expect_refusal(parse_sdp_offer(with_formats(65), 1 << 20).error(), "sdp_too_many_formats", 400,
                 "64 formats");

  auto with_candidates = [&](int n) {
    std::string s = obs;  // it has 2
    for (int i = 2; i < n; ++i)
      s += "a=candidate:" + std::to_string(i + 10) + " 1 UDP 1 192.0.2.2 " + std::to_string(30000 + i) +
           " typ host\r\n";
    return s;
  };
  EXPECT_EQ(parse_sdp_offer(with_candidates(64), 1 << 20)->candidates, 64u);
  expect_refusal(parse_sdp_offer(with_candidates(65), 1 << 20).error(), "sdp_too_many_candidates", 400,
                 "64 ICE candidates");
}

TEST(SdpOfferTest, RefusesMalformedOffersNamingTheLine) {
  const auto obs = offer_file("obs-30-whip.sdp");
  expect_refusal(parse_sdp_offer("", 16384).error(), "sdp_malformed", 400, "line 1");
  expect_refusal(parse_sdp_offer("v=1\r\n", 16384).error(), "sdp_malformed", 400, "v=0");
  expect_refusal(parse_sdp_offer("hello", 16384).error(), "sdp_malformed", 400, "line 1");
  expect_refusal(parse_sdp_offer(replaced(obs, "s=-", "s-"), 16384).error(), "sdp_malformed", 400, "line 3");
  expect_refusal(parse_sdp_offer(replaced(obs, "s=-", "s=\x01"), 16384).error(), "sdp_malformed", 400,
                 "control character");
  expect_refusal(parse_sdp_offer(replaced(obs, "m=audio 50114", "m=audio 70000"), 16384).error(),
                 "sdp_malformed", 400, "port");
  expect_refusal(parse_sdp_offer(replaced(obs, "SAVPF 111", "SAVPF 128"), 16384).error(), "sdp_malformed",
                 400, "0–127");
  expect_refusal(parse_sdp_offer(replaced(obs, "SAVPF 111", "SAVPF"), 16384).error(), "sdp_malformed", 400,
                 "m-line");
  expect_refusal(parse_sdp_offer(replaced(obs, "opus/48000/2", "opus"), 16384).error(), "sdp_malformed", 400,
                 "a=rtpmap");
  expect_refusal(parse_sdp_offer(replaced(obs, "opus/48000/2", "opus/x"), 16384).error(), "sdp_malformed",
                 400, "a=rtpmap");
  expect_refusal(parse_sdp_offer(replaced(obs, "a=rtcp-fb:96 nack pli", "a=rtcp-fb:96"), 16384).error(),
                 "sdp_malformed", 400, "a=rtcp-fb");
  // An rtpmap for a payload type the m-line does not list, and unknown attributes, are skipped.
  EXPECT_TRUE(parse_sdp_offer(replaced(obs, "a=rtcp-mux", "a=rtpmap:5 X/1\r\na=x-whatever:1"), 16384).ok());
}

TEST(SdpOfferTest, ReadsH264ProfileLevelIds) {
  EXPECT_EQ(h264_profile_level("42e01f").profile, "constrained-baseline");
  EXPECT_EQ(h264_profile_level("42e01f").level_idc, 31);
  EXPECT_EQ(h264_profile_level("4D0028").profile, "main");
  EXPECT_EQ(h264_profile_level("640c1f").profile, "constrained-high");
  EXPECT_EQ(h264_profile_level("6e001f").profile, "high-10");
  EXPECT_EQ(h264_profile_level("").profile, "baseline");
  EXPECT_EQ(h264_profile_level("").level_idc, 10);
  EXPECT_EQ(h264_profile_level("42e01").profile, "");
  EXPECT_EQ(h264_profile_level("zz0000").profile, "");
  EXPECT_EQ(h264_profile_level("-42e01").profile, "");
}

}  // namespace
}  // namespace sreda::media
