#include "pipelines/webrtc/webrtc_stats.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <algorithm>

namespace sreda::webrtc {
namespace {

// A numeric field whatever its GLib type (webrtcbin mixes guint, guint64, gint64 and double).
double number(const GstStructure* s, const char* field) {
  const GValue* v = gst_structure_get_value(s, field);
  if (!v) return 0;
  switch (G_VALUE_TYPE(v)) {
    case G_TYPE_UINT64: return double(g_value_get_uint64(v));
    case G_TYPE_INT64: return double(g_value_get_int64(v));
    case G_TYPE_UINT: return double(g_value_get_uint(v));
    case G_TYPE_INT: return double(g_value_get_int(v));
    case G_TYPE_DOUBLE: return g_value_get_double(v);
    default: return 0;
  }
}

}  // namespace

PeerStats sum_stats(const GstStructure* reply) {
  PeerStats out;
  if (!reply) return out;
  gst_structure_foreach(
      reply,
      [](GQuark, const GValue* value, gpointer data) -> gboolean {
        if (!GST_VALUE_HOLDS_STRUCTURE(value)) return TRUE;
        const GstStructure* s = gst_value_get_structure(value);
        auto& o = *static_cast<PeerStats*>(data);
        GstWebRTCStatsType type = GstWebRTCStatsType(0);
        if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr)) return TRUE;
        switch (type) {
          case GST_WEBRTC_STATS_INBOUND_RTP:  // what we receive; its pli/fir/nack counts are the ones we sent
            o.bytes_received += uint64_t(number(s, "bytes-received"));
            o.packets_received += uint64_t(number(s, "packets-received"));
            o.packets_lost += std::max<int64_t>(0, int64_t(number(s, "packets-lost")));
            o.pli_sent += uint32_t(number(s, "pli-count"));
            o.fir_sent += uint32_t(number(s, "fir-count"));
            o.nack_sent += uint32_t(number(s, "nack-count"));
            break;
          // what we send. Its pli-count/fir-count stayed 0 in 1.22 although the viewer's PLI arrived (rtpsession
          // counts it on the remote source); WebRtcPeer counts keyframe requests itself (spike.md).
          case GST_WEBRTC_STATS_OUTBOUND_RTP:
            o.bytes_sent += uint64_t(number(s, "bytes-sent"));
            o.packets_sent += uint64_t(number(s, "packets-sent"));
            o.nack_received += uint32_t(number(s, "nack-count"));
            break;
          case GST_WEBRTC_STATS_REMOTE_INBOUND_RTP:  // the viewer's reports about what we send
            o.packets_lost += std::max<int64_t>(0, int64_t(number(s, "packets-lost")));  // -1: duplicates
            if (gst_structure_has_field(s, "round-trip-time"))
              o.round_trip_ms = number(s, "round-trip-time") * 1000.0;
            break;
          default:
            break;
        }
        return TRUE;
      },
      &out);
  return out;
}

}  // namespace sreda::webrtc
