#include "pipelines/webrtc/send_path.h"

#include <string>
#include <vector>

#include "pipelines/gst/gst_ref.h"

namespace sreda::webrtc {
namespace {

bool made_by(GstElement* e, const char* factory) {
  GstElementFactory* f = gst_element_get_factory(e);
  return f && g_strcmp0(GST_OBJECT_NAME(f), factory) == 0;
}

std::vector<gst::GstRef<GstElement>> children(GstBin* bin) {
  std::vector<gst::GstRef<GstElement>> out;
  GstIterator* it = gst_bin_iterate_elements(bin);
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    out.push_back(gst::GstRef<GstElement>::retain(GST_ELEMENT(g_value_get_object(&v))));
    g_value_reset(&v);
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  return out;
}

// The element that owns the pad linked to `pad` (a bin's ghost pad: the bin), and that pad in `peer`.
gst::GstRef<GstElement> peer_element(GstPad* pad, gst::GstRef<GstPad>& peer) {
  peer = gst::GstRef<GstPad>::adopt(gst_pad_get_peer(pad));
  if (!peer) return {};
  return gst::GstRef<GstElement>::adopt(gst_pad_get_parent_element(peer.get()));
}

// True when `bin` holds only RED/ULPFEC encoders (what webrtcbin 1.22 puts after each input's clocksync).
bool is_fec_bin(GstElement* bin) {
  if (!GST_IS_BIN(bin)) return false;
  auto inside = children(GST_BIN(bin));
  if (inside.empty()) return false;
  for (auto& e : inside)
    if (!made_by(e.get(), "rtpredenc") && !made_by(e.get(), "rtpulpfecenc")) return false;
  return true;
}

}  // namespace

void skip_rtx_sender(GstElement* webrtcbin, const core::Logger& log) {
  auto rtpbin = gst::GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(webrtcbin), "rtpbin"));
  const guint id = rtpbin ? g_signal_lookup("request-aux-sender", G_OBJECT_TYPE(rtpbin.get())) : 0;
  if (id == 0 || g_signal_handlers_block_matched(rtpbin.get(),
                                                 GSignalMatchType(G_SIGNAL_MATCH_ID | G_SIGNAL_MATCH_DATA), id,
                                                 0, nullptr, nullptr, webrtcbin) == 0)
    log.warn("webrtcbin's rtpbin has no RTX sender to skip: the send path keeps it");
}

int bypass_fec_encoders(GstElement* webrtcbin) {
  int relinked = 0;
  for (auto& sync : children(GST_BIN(webrtcbin))) {
    if (!made_by(sync.get(), "clocksync")) continue;
    auto sync_src = gst::GstRef<GstPad>::adopt(gst_element_get_static_pad(sync.get(), "src"));
    gst::GstRef<GstPad> fec_sink;
    auto fec = sync_src ? peer_element(sync_src.get(), fec_sink) : gst::GstRef<GstElement>{};
    if (!fec || !is_fec_bin(fec.get())) continue;
    auto fec_src = gst::GstRef<GstPad>::adopt(gst_element_get_static_pad(fec.get(), "src"));
    gst::GstRef<GstPad> funnel_sink;
    auto funnel = fec_src ? peer_element(fec_src.get(), funnel_sink) : gst::GstRef<GstElement>{};
    if (!funnel || !made_by(funnel.get(), "rtpfunnel")) continue;
    if (!gst_pad_unlink(fec_src.get(), funnel_sink.get())) continue;
    if (!gst_pad_unlink(sync_src.get(), fec_sink.get())) {
      gst_pad_link(fec_src.get(), funnel_sink.get());
      continue;
    }
    if (gst_pad_link(sync_src.get(), funnel_sink.get()) == GST_PAD_LINK_OK) {
      ++relinked;
    } else {  // put it back as it was
      gst_pad_link(sync_src.get(), fec_sink.get());
      gst_pad_link(fec_src.get(), funnel_sink.get());
    }
  }
  return relinked;
}

}  // namespace sreda::webrtc
