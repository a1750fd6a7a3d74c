#include "pipelines/gst/plugin_check.h"

#include <gst/gst.h>

#include "pipelines/gst/gst_ref.h"

namespace sreda::gst {

const std::vector<RequiredElement>& required_elements() {
  static const std::vector<RequiredElement> kElements = {
      {"appsrc", "gstreamer1.0-plugins-base"},    {"appsink", "gstreamer1.0-plugins-base"},
      {"flvdemux", "gstreamer1.0-plugins-good"},  {"tsdemux", "gstreamer1.0-plugins-bad"},
      {"h264parse", "gstreamer1.0-plugins-bad"},  {"aacparse", "gstreamer1.0-plugins-good"},
      {"h265parse", "gstreamer1.0-plugins-bad"},  {"opusparse", "gstreamer1.0-plugins-bad"},
      {"mpegaudioparse", "gstreamer1.0-plugins-good"},
      {"textoverlay", "gstreamer1.0-x"},  // the archive's picture cards (archive/picture_card.h)
      // push relays (server/relay): FLV to rtmp2sink, MPEG-TS for SRT
      {"flvmux", "gstreamer1.0-plugins-good"},    {"mpegtsmux", "gstreamer1.0-plugins-bad"},
      {"rtmp2sink", "gstreamer1.0-plugins-bad"},
  };
  return kElements;
}

const std::vector<RequiredElement>& webrtc_elements() {
  static const std::vector<RequiredElement> kElements = {
      {"webrtcbin", "gstreamer1.0-plugins-bad"},     {"dtlssrtpenc", "gstreamer1.0-plugins-bad"},
      {"srtpenc", "gstreamer1.0-plugins-bad"},       {"nicesrc", "gstreamer1.0-nice"},
      {"nicesink", "gstreamer1.0-nice"},             {"rtpbin", "gstreamer1.0-plugins-good"},
      {"rtph264depay", "gstreamer1.0-plugins-good"}, {"rtph264pay", "gstreamer1.0-plugins-good"},
      {"rtpopusdepay", "gstreamer1.0-plugins-good"}, {"rtpopuspay", "gstreamer1.0-plugins-good"},
      {"opusenc", "gstreamer1.0-plugins-base"},      {"opusdec", "gstreamer1.0-plugins-base"},
      {"opusparse", "gstreamer1.0-plugins-bad"},
  };
  return kElements;
}

std::vector<std::string> missing_elements(const std::vector<RequiredElement>& wanted) {
  std::vector<std::string> out;
  for (const auto& w : wanted) {
    auto factory = GstRef<GstElementFactory>::adopt(gst_element_factory_find(w.element));
    if (!factory) {
      out.push_back(std::string("GStreamer element '") + w.element +
                    "' is missing: apt-get install " + w.debian_package);
    }
  }
  return out;
}

GstElement* add_element(GstElement* bin, const char* factory, const std::string& name, std::string& error) {
  GstElement* e = gst_element_factory_make(factory, name.c_str());
  if (!e) {
    if (error.empty()) error = std::string("GStreamer element ") + factory + " is missing";
    return nullptr;
  }
  gst_bin_add(GST_BIN(bin), e);
  return e;
}

}  // namespace sreda::gst
