#include "pipelines/webrtc/ice_setup.h"

#include <string_view>

#include "pipelines/gst/gst_ref.h"
#include "pipelines/gst/plugin_check.h"
#include "server/core/text.h"
#include "server/media/sdp_answer.h"

namespace sreda::webrtc {
namespace {

std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string item = core::trim(list.substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

bool has_property(GObject* object, const char* name) {
  return g_object_class_find_property(G_OBJECT_GET_CLASS(object), name) != nullptr;
}

core::Error missing(const std::string& what) {
  return core::Error{"webrtc_unsupported", "WebRTC cannot run with this GStreamer/libnice: " + what, ""};
}

// The ICE object of `webrtcbin` (GstWebRTCNice in 1.22) and its NiceAgent, checked property by property.
core::Result<void> check_ice_object(GObject* ice) {
  for (const char* p : {"min-rtp-port", "max-rtp-port", "ice-tcp", "agent"})
    if (!has_property(ice, p)) return missing(std::string("the ICE agent has no '") + p + "' property");
  if (g_signal_lookup("add-local-ip-address", G_OBJECT_TYPE(ice)) == 0)
    return missing("the ICE agent has no 'add-local-ip-address' action");
  GObject* agent = nullptr;
  g_object_get(ice, "agent", &agent, nullptr);
  auto agent_ref = gst::GstRef<GObject>::adopt(agent);
  if (!agent) return missing("the ICE agent has no NiceAgent");
  for (const char* p : {"upnp", "keepalive-conncheck"})
    if (!has_property(agent, p)) return missing(std::string("libnice's agent has no '") + p + "' property");
  return {};
}

}  // namespace

IceSettings IceSettings::from(const config::WebRtcConfig& c) {
  IceSettings s;
  s.port_min = c.port_min;
  s.port_max = c.port_max;
  s.local_addresses = split_list(c.local_addresses);
  s.public_addresses = media::split_public_addresses(c.public_addresses);
  s.stun_server = c.stun_server;
  s.gather_timeout_ms = c.gather_timeout_ms;
  s.jitter_latency_ms = c.jitter_latency_ms;
  return s;
}

std::vector<std::string> check_webrtc_support() {
  auto problems = gst::missing_elements(gst::webrtc_elements());
  if (!problems.empty()) return problems;
  GstElement* made = gst_element_factory_make("webrtcbin", nullptr);
  if (!made) return {"GStreamer element 'webrtcbin' cannot be made"};
  auto bin = gst::GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(made)));
  GObject* ice = nullptr;
  g_object_get(bin.get(), "ice-agent", &ice, nullptr);
  auto ice_ref = gst::GstRef<GObject>::adopt(ice);
  if (!ice) return {"webrtcbin has no ICE agent"};
  if (auto r = check_ice_object(ice); !r) problems.push_back(r.error().message);
  return problems;
}

core::Result<void> configure_ice(GstElement* webrtcbin, const IceSettings& ice) {
  GObject* obj = nullptr;
  g_object_get(webrtcbin, "ice-agent", &obj, nullptr);
  auto ice_ref = gst::GstRef<GObject>::adopt(obj);
  if (!obj) return missing("webrtcbin has no ICE agent");
  if (auto r = check_ice_object(obj); !r) return r;
  if (ice.port_min > 0 && ice.port_max >= ice.port_min && ice.port_max <= 65535) {
    // max first: the ICE object refuses a min above the current max (65535 by default, so min first is fine
    // too; this order also works when a test narrows the range to low ports).
    g_object_set(obj, "min-rtp-port", guint(ice.port_min), "max-rtp-port", guint(ice.port_max), nullptr);
  }
  g_object_set(obj, "ice-tcp", FALSE, nullptr);
  for (const auto& address : ice.local_addresses) {
    gboolean added = FALSE;
    g_signal_emit_by_name(obj, "add-local-ip-address", address.c_str(), &added);
    if (!added)
      return core::Error{"webrtc_config", "webrtc.local_addresses: '" + address + "' is not a usable address", ""};
  }
  if (!ice.stun_server.empty()) g_object_set(webrtcbin, "stun-server", ice.stun_server.c_str(), nullptr);
  GObject* agent = nullptr;
  g_object_get(obj, "agent", &agent, nullptr);
  auto agent_ref = gst::GstRef<GObject>::adopt(agent);
  g_object_set(agent, "upnp", FALSE, "keepalive-conncheck", TRUE, nullptr);
  return {};
}

}  // namespace sreda::webrtc
