// webrtcbin's get-stats reply (a structure of per-object structures, W3C webrtc-stats names) summed into
// PeerStats. Internal to pipelines/webrtc. Any thread.
#pragma once

#include <gst/gst.h>

#include "pipelines/webrtc/webrtc_peer.h"

namespace sreda::webrtc {

PeerStats sum_stats(const GstStructure* reply);

}  // namespace sreda::webrtc
