// The pad a WHEP viewer's packets enter webrtcbin by (internal to pipelines/webrtc, WebRtcPeer's send mode): a
// source pad of no element, linked to webrtcbin's sink pad, pushed from the caller's thread. It answers what
// webrtcbin asks upstream (its caps; live, no latency of its own) and swallows upstream events (a probe on it
// sees them first). An appsrc in its place costs a queue and a streaming thread per track and viewer, so one
// thread hand-off per packet per viewer. Any thread.
#pragma once

#include <gst/gst.h>

#include <string>

namespace sreda::webrtc {

// A new, active source pad (transfer full) carrying `caps`; the caller keeps `caps` alive as long as the pad.
GstPad* make_feed_pad(const std::string& name, GstCaps* caps);

// Its sticky events (stream-start `stream_id`, caps, a TIME segment). Pushed while the peer is not yet
// streaming, they stay on the pad and go before its first buffer.
void push_feed_events(GstPad* pad, const std::string& stream_id, GstCaps* caps);

// Pushes `packets` (transfer full) out of the pad in one push, each stamped with `running_time` (PTS; no DTS).
bool push_feed_list(GstPad* pad, GstBufferList* packets, GstClockTime running_time);

}  // namespace sreda::webrtc
