#include "pipelines/webrtc/feed_pad.h"

namespace sreda::webrtc {

namespace {

gboolean feed_pad_query(GstPad* pad, GstObject*, GstQuery* query) {
  auto* caps = static_cast<GstCaps*>(gst_pad_get_element_private(pad));
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_CAPS: {
      GstCaps* filter = nullptr;
      gst_query_parse_caps(query, &filter);
      GstCaps* result = filter ? gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST) : gst_caps_ref(caps);
      gst_query_set_caps_result(query, result);
      gst_caps_unref(result);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS: {
      GstCaps* asked = nullptr;
      gst_query_parse_accept_caps(query, &asked);
      gst_query_set_accept_caps_result(query, gst_caps_can_intersect(asked, caps));
      return TRUE;
    }
    case GST_QUERY_LATENCY:
      gst_query_set_latency(query, TRUE, 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    default:
      return FALSE;
  }
}

}  // namespace

GstPad* make_feed_pad(const std::string& name, GstCaps* caps) {
  auto* pad = GST_PAD(gst_object_ref_sink(gst_pad_new(name.c_str(), GST_PAD_SRC)));
  gst_pad_set_element_private(pad, caps);
  gst_pad_set_query_function(pad, feed_pad_query);
  gst_pad_set_event_function(pad, +[](GstPad*, GstObject*, GstEvent* event) -> gboolean {
    gst_event_unref(event);
    return TRUE;
  });
  gst_pad_set_active(pad, TRUE);
  return pad;
}

void push_feed_events(GstPad* pad, const std::string& stream_id, GstCaps* caps) {
  gst_pad_push_event(pad, gst_event_new_stream_start(stream_id.c_str()));
  gst_pad_push_event(pad, gst_event_new_caps(caps));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_push_event(pad, gst_event_new_segment(&segment));
}

bool push_feed_list(GstPad* pad, GstBufferList* packets, GstClockTime running_time) {
  packets = gst_buffer_list_make_writable(packets);
  gst_buffer_list_foreach(
      packets,
      [](GstBuffer** b, guint, gpointer time) -> gboolean {
        *b = gst_buffer_make_writable(*b);
        GST_BUFFER_PTS(*b) = *static_cast<GstClockTime*>(time);
        GST_BUFFER_DTS(*b) = GST_CLOCK_TIME_NONE;
        return TRUE;
      },
      &running_time);
  return gst_pad_push_list(pad, packets) == GST_FLOW_OK;
}

}  // namespace sreda::webrtc
