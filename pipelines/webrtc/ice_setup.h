// webrtcbin's ICE agent set from IceSettings (internal to pipelines/webrtc): the UDP port range, the local
// addresses libnice gathers on (libnice skips loopback unless told), the server's STUN server, TCP candidates
// off, and on libnice's own NiceAgent UPnP off (no multicast discovery delaying gathering) and keepalive
// connectivity checks on (a vanished browser fails the connection; Debian's libnice has no consent freshness).
// Threads: the peer's owner, before the pipeline starts.
#pragma once

#include <gst/gst.h>

#include <string>

#include "pipelines/webrtc/webrtc_peer.h"

namespace sreda::webrtc {

// Applies `ice` to `webrtcbin` (not yet started). An error names what this GStreamer/libnice lacks.
core::Result<void> configure_ice(GstElement* webrtcbin, const IceSettings& ice);

}  // namespace sreda::webrtc
