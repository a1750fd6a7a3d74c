// A WebRTC offer (RFC 8866 SDP, CRLF or LF) from a WHIP publisher or a WHEP viewer, read by our own parser
// before any of it reaches GStreamer, with every bound checked before the work it bounds: the whole text
// (webrtc.max_sdp_bytes), lines (2000, 1 KiB each), m-lines (4), formats per m-line (64), candidates
// (64). Then one chooser per use says which m-lines and payload types sreda takes, or refuses in words a
// studio person can act on. Pure functions; any thread. The web route answers a refusal with
// sdp_refusal_status(error) and the error's code and message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/result.h"

namespace sreda::media {

enum class SdpKind { audio, video, application, other };
enum class SdpDirection { sendrecv, sendonly, recvonly, inactive };  // the offerer's view

struct SdpFormat {
  int pt = -1;
  std::string encoding;  // as written in a=rtpmap ("H264", "opus"); empty without one
  int clock_rate = 0;
  int channels = 0;                  // audio: 1 unless a=rtpmap says more; video: 0
  std::string fmtp;                  // a=fmtp's parameters as written ("level-asymmetry-allowed=1;…")
  std::vector<std::string> rtcp_fb;  // "nack", "nack pli", "ccm fir", "transport-cc", "goog-remb"
};

struct SdpExtmap {
  int id = 0;
  std::string uri;
};

struct SdpMedia {
  SdpKind kind = SdpKind::other;
  std::string media;  // the m-line's media as written ("audio", "video", "application")
  int port = 0;
  std::string protocol;   // "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP"
  bool rejected = false;  // port 0 and not bundle-only: the offerer does not want it
  std::string mid;
  SdpDirection direction = SdpDirection::sendrecv;  // media level, else session level, else sendrecv
  std::vector<SdpFormat> formats;                   // in the m-line's order (the offerer's preference)
  std::vector<SdpExtmap> extmaps;
  // Present at media level (SdpOffer holds the session-level ones).
  bool ice_ufrag = false, ice_pwd = false, fingerprint = false, setup = false;
  bool simulcast = false;  // a=simulcast
  size_t rids = 0;         // a=rid lines
  size_t candidates = 0;

  const SdpFormat* format(int pt) const;
  // Value of `name` in format `pt`'s fmtp ("packetization-mode" → "1"); empty when absent.
  std::string fmtp_value(int pt, std::string_view name) const;
};

struct SdpOffer {
  bool ice_ufrag = false, ice_pwd = false, fingerprint = false, setup = false;  // session level
  std::vector<std::string> bundle;  // the first a=group:BUNDLE's mids
  std::vector<SdpMedia> media;
  size_t candidates = 0;  // in all m-lines
};

// Reads an offer. Errors (sdp_refusal_status gives the HTTP status): sdp_too_large (413), sdp_too_many_lines,
// sdp_line_too_long, sdp_too_many_media, sdp_too_many_formats, sdp_too_many_candidates, sdp_malformed
// (400: the message names the line). Unknown attributes are skipped.
core::Result<SdpOffer> parse_sdp_offer(std::string_view sdp, size_t max_bytes);

// One m-line sreda takes, and the payload type in it.
struct SdpTrack {
  int mline = -1;  // index of the m-line in the offer; -1 = no such track
  std::string mid;
  int pt = -1;
  int rtx_pt = -1;          // its retransmission format (a=fmtp:<rtx> apt=<pt>), -1 when none
  int twcc_extmap_id = -1;  // the m-line's transport-wide congestion control extmap id, -1 when none
  SdpFormat format;
  bool present() const { return mline >= 0; }
};

struct WhipChoice {
  SdpTrack video;             // H.264, packetization-mode 1
  SdpTrack audio;             // Opus/48000/2
  std::string video_profile;  // GStreamer's name of the offered profile ("constrained-baseline")
};
// A publisher's offer (WHIP): at most one sending video m-line, H.264 packetization-mode 1 in a profile
// browsers play, and at most one sending audio m-line with Opus/48000/2; at least one of them. The first
// such format in the offerer's order wins. Refusals: sdp_no_ice, sdp_no_fingerprint (400);
// whip_no_media, whip_too_many_tracks, whip_simulcast, whip_no_h264, whip_h264_profile, whip_no_opus (422).
core::Result<WhipChoice> choose_whip(const SdpOffer& offer);

// What the WHEP feed sends: the H.264 profile (GStreamer's name) and level_idc of its video.
struct WhepFeed {
  std::string video_profile = "constrained-baseline";
  int video_level_idc = 31;
};
struct WhepChoice {
  SdpTrack video;  // the viewer's H.264 packetization-mode 1 format that plays the feed
  SdpTrack audio;  // the viewer's Opus/48000/2
};
// A viewer's offer (WHEP): the receiving video m-line's first H.264 packetization-mode 1 format whose
// profile (constrained-baseline, baseline or main) decodes the feed's and whose level is at least the
// feed's (any level with level-asymmetry-allowed=1), and the receiving audio m-line's Opus. Refusals:
// sdp_no_ice, sdp_no_fingerprint (400); whep_no_media, whep_too_many_tracks, whep_no_h264, whep_no_opus
// (422; the page then plays LL-HLS).
core::Result<WhepChoice> choose_whep(const SdpOffer& offer, const WhepFeed& feed = {});

// The HTTP status for an error of parse_sdp_offer, choose_whip or choose_whep: 413, 400 or 422.
int sdp_refusal_status(const core::Error& error);

// profile-level-id ("42e01f") → GStreamer's profile name and level_idc; absent (empty) → RFC 6184's
// default, baseline level 1 ("42000a"); not six hex digits → an empty profile.
struct H264ProfileLevel {
  std::string profile;
  int level_idc = 0;
};
H264ProfileLevel h264_profile_level(std::string_view profile_level_id);

}  // namespace sreda::media
