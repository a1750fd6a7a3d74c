#include "server/relay/http_guard.h"

#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>

#include <cctype>
#include <mutex>

namespace sreda::relay {

namespace {

std::mutex g_mutex;
std::shared_ptr<const Destinations> g_allowed;  // guarded by g_mutex
GstPushSrcClass* g_parent = nullptr;            // souphttpsrc's class
GQuark g_checked_host;                          // qdata: the host last found allowed (a string)

std::shared_ptr<const Destinations> destinations() {
  std::lock_guard lock(g_mutex);
  if (!g_allowed) g_allowed = std::make_shared<const Destinations>();  // public addresses only
  return g_allowed;
}

std::string location_of(GstElement* src) {
  gchar* location = nullptr;
  g_object_get(src, "location", &location, nullptr);
  std::string out = location ? location : "";
  g_free(location);
  return out;
}

// Why the element's location may not be fetched, in words free of its path and query ("" when it may). A
// host once found allowed is not looked up again by the same element (hlsdemux's source asks per buffer).
std::string refusal(GstElement* src) {
  const std::string host = host_of_uri(location_of(src));
  if (host.empty()) return "the playlist names an address without a host";
  const char* checked = static_cast<const char*>(g_object_get_qdata(G_OBJECT(src), g_checked_host));
  if (checked && host == checked) return {};
  auto allowed = resolve_allowed(*destinations(), host);
  if (!allowed) return allowed.error().message;
  g_object_set_qdata_full(G_OBJECT(src), g_checked_host, g_strdup(host.c_str()), g_free);
  return {};
}

void post_refusal(GstElement* src, const std::string& why) {
  gst_element_post_message(
      src, gst_message_new_element(GST_OBJECT(src), gst_structure_new(kHttpRefused, "reason", G_TYPE_STRING,
                                                                      why.c_str(), nullptr)));
}

GstFlowReturn guarded_create(GstPushSrc* push, GstBuffer** out) {
  GstElement* src = GST_ELEMENT(push);
  if (const std::string why = refusal(src); !why.empty()) {
    post_refusal(src, why);
    GST_ELEMENT_ERROR(src, RESOURCE, OPEN_READ, ("%s", why.c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
  return g_parent->create(push, out);
}

// souphttpsrc may send a HEAD from these: not to a refused host.
gboolean guarded_is_seekable(GstBaseSrc* base) {
  if (!refusal(GST_ELEMENT(base)).empty()) return FALSE;
  return GST_BASE_SRC_CLASS(g_parent)->is_seekable(base);
}

gboolean guarded_get_size(GstBaseSrc* base, guint64* size) {
  if (!refusal(GST_ELEMENT(base)).empty()) return FALSE;
  return GST_BASE_SRC_CLASS(g_parent)->get_size(base, size);
}

// A redirect (not followed) says so in words, beside souphttpsrc's bare reason phrase ("Found").
gboolean guarded_post_message(GstElement* element, GstMessage* message) {
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR && GST_MESSAGE_SRC(message) == GST_OBJECT(element)) {
    const GstStructure* details = nullptr;
    gst_message_parse_error_details(message, &details);
    guint status = 0;
    if (details && gst_structure_get_uint(details, "http-status-code", &status) && status >= 300 && status < 400) {
      const gchar* to = gst_structure_get_string(details, "http-redirect-uri");
      const std::string host = to ? host_of_uri(to) : "";
      post_refusal(element, "the partner's server redirects (HTTP " + std::to_string(status) + ")" +
                                (host.empty() ? "" : " to \"" + host + "\"") +
                                "; a pull follows no redirects: give the address it redirects to");
    }
  }
  return GST_ELEMENT_CLASS(g_parent)->post_message(element, message);
}

void guarded_constructed(GObject* object) {
  if (G_OBJECT_CLASS(g_parent)->constructed) G_OBJECT_CLASS(g_parent)->constructed(object);
  g_object_set(object, "automatic-redirect", FALSE, nullptr);
}

void guarded_class_init(gpointer klass, gpointer) {
  g_parent = GST_PUSH_SRC_CLASS(g_type_class_peek_parent(klass));
  G_OBJECT_CLASS(klass)->constructed = guarded_constructed;
  GST_ELEMENT_CLASS(klass)->post_message = guarded_post_message;
  GST_BASE_SRC_CLASS(klass)->is_seekable = guarded_is_seekable;
  GST_BASE_SRC_CLASS(klass)->get_size = guarded_get_size;
  GST_PUSH_SRC_CLASS(klass)->create = guarded_create;
  gst_element_class_set_static_metadata(GST_ELEMENT_CLASS(klass), "HTTP client source, allowed hosts only",
                                        "Source/Network",
                                        "souphttpsrc that reaches only what relays.allowed_hosts allows and "
                                        "follows no redirects (sreda)",
                                        "sreda");
}

}  // namespace

core::Result<void> register_guarded_http_source() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    g_checked_host = g_quark_from_static_string("sreda-checked-host");
    GstElementFactory* factory = gst_element_factory_find("souphttpsrc");
    GstPluginFeature* loaded = factory ? gst_plugin_feature_load(GST_PLUGIN_FEATURE(factory)) : nullptr;
    if (factory) gst_object_unref(factory);
    if (!loaded) {
      error = "GStreamer element 'souphttpsrc' is missing: apt-get install gstreamer1.0-plugins-good libsoup-3.0-0";
      return;
    }
    const GType parent = gst_element_factory_get_element_type(GST_ELEMENT_FACTORY(loaded));
    gst_object_unref(loaded);
    GTypeQuery query;
    g_type_query(parent, &query);
    GTypeInfo info{};
    info.class_size = static_cast<guint16>(query.class_size);
    info.class_init = guarded_class_init;
    info.instance_size = static_cast<guint16>(query.instance_size);
    const GType type = g_type_register_static(parent, "SredaGuardedHttpSrc", &info, GTypeFlags(0));
    if (!gst_element_register(nullptr, kGuardedHttpSource, GST_RANK_PRIMARY + 100, type))
      error = "cannot register the element sredahttpsrc";
  });
  if (!error.empty()) return core::Error{"pull_failed", error};
  return {};
}

void set_http_destinations(std::shared_ptr<const Destinations> allowed) {
  std::lock_guard lock(g_mutex);
  g_allowed = std::move(allowed);
}

std::string host_of_uri(const std::string& uri) {
  const size_t start = uri.find("://");
  if (start == std::string::npos) return {};
  std::string authority = uri.substr(start + 3, uri.find_first_of("/?#", start + 3) - start - 3);
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  if (authority.empty()) return {};
  std::string host = authority[0] == '[' ? authority.substr(1, authority.find(']') - 1)
                                         : authority.substr(0, authority.find(':'));
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

}  // namespace sreda::relay
