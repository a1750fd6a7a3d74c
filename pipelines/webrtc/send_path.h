// Trims webrtcbin's (1.22) send path for a WHEP viewer (internal to pipelines/webrtc, WebRtcPeer's send mode).
// webrtcbin builds RED/ULPFEC encoders and an RTX sender into every sending session, whether or not the answer
// negotiated them. WebRtcPeer's send transceivers never negotiate them (no do-nack, no fec-type: the answer
// carries only the codec's payload type), so these elements only pass packets through — at a cost per packet
// per viewer, and RED/ULPFEC take no buffer lists, so each frame's list was split into single packets before
// rtpbin, SRTP and the UDP send. What the viewer receives does not change.
#pragma once

#include <gst/gst.h>

#include "server/core/log.h"

namespace sreda::webrtc {

// Before negotiation: webrtcbin's rtpbin gets no RTX sender (webrtcbin's "request-aux-sender" handler is
// blocked). A warning when this webrtcbin has none to skip.
void skip_rtx_sender(GstElement* webrtcbin, const core::Logger& log);

// Once connected, before the first packet (nothing may be pushed meanwhile): each input's clocksync is linked
// straight to webrtcbin's rtpfunnel, past the RED/ULPFEC bin. Call only when the answer has neither RED nor
// ULPFEC. Returns how many inputs were relinked.
int bypass_fec_encoders(GstElement* webrtcbin);

}  // namespace sreda::webrtc
