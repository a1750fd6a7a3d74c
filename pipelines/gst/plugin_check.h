// Start-up check that the GStreamer elements sreda uses exist, naming the Debian package to install.
// Call after gst_init, from the thread that starts the app.
#pragma once

#include <string>
#include <vector>

namespace sreda::gst {

struct RequiredElement {
  const char* element;
  const char* debian_package;
};

// The elements every build of sreda needs.
const std::vector<RequiredElement>& required_elements();

// One message per missing element, e.g. "GStreamer element 'x264enc' is missing: apt-get install
// gstreamer1.0-plugins-ugly". Empty when all are present.
std::vector<std::string> missing_elements(const std::vector<RequiredElement>& wanted);

}  // namespace sreda::gst
