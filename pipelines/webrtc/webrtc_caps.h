// Caps and SDP details of WebRtcPeer (internal to pipelines/webrtc): the codec preferences a transceiver
// gets, the payload types webrtcbin's answer uses, and a received track's format from its parser's caps. Any
// thread.
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <cstdint>
#include <string>

#include "pipelines/webrtc/webrtc_peer.h"

namespace sreda::webrtc {

// `application/x-rtp` for exactly the payload type chosen from the offer (transfer full). webrtcbin
// intersects it with the offer's caps for that number, so fmtp and rtcp-fb come from the offer.
// twcc_extmap_id > 0 adds the transport-wide-cc header extension (the answer then carries its a=extmap); ssrc
// != 0 announces it (a=ssrc).
GstCaps* codec_caps(media::TrackKind kind, int pt, int twcc_extmap_id, uint32_t ssrc);

// The payload type of the answer's first not-rejected m-line of `kind` ("video"/"audio"), or -1.
int answer_pt(const GstSDPMessage* sdp, const char* kind);

// Whether any m-line of `sdp` maps a payload type to `encoding` (a=rtpmap:<pt> <encoding>/…, any case).
bool sdp_has_encoding(const GstSDPMessage* sdp, const char* encoding);

// A string field of a caps structure, "" when absent.
std::string caps_string(const GstStructure* s, const char* field);

// The format of a received track from the caps its parser (h264parse / opusparse) gives.
ReceivedFormat received_format(media::TrackKind track, const GstCaps* caps);

}  // namespace sreda::webrtc
