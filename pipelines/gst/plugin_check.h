// Start-up check that the GStreamer elements sreda uses exist, naming the Debian package to install.
// Call after gst_init, from the thread that starts the app.
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

namespace sreda::gst {

struct RequiredElement {
  const char* element;
  const char* debian_package;
};

// The elements every build of sreda needs (one missing: the server does not start).
const std::vector<RequiredElement>& required_elements();

// The elements WebRTC (WHIP ingest, WHEP playback; pipelines/webrtc) needs. One missing turns WebRTC off with
// one log line (webrtc::check_webrtc_support); the rest of the server runs.
const std::vector<RequiredElement>& webrtc_elements();

// One message per missing element, e.g. "GStreamer element 'x264enc' is missing: apt-get install
// gstreamer1.0-plugins-ugly". Empty when all are present.
std::vector<std::string> missing_elements(const std::vector<RequiredElement>& wanted);

// Makes a `factory` element named `name` and adds it to `bin`; null when GStreamer has no such element, and
// then `error` (when still empty) names it.
GstElement* add_element(GstElement* bin, const char* factory, const std::string& name, std::string& error);

}  // namespace sreda::gst
