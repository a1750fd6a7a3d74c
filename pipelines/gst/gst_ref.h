// RAII for GLib/GStreamer references (STYLE.md 1). adopt() takes a "transfer full" reference,
// retain() adds one to a "transfer none" pointer. Unref happens in exactly one place: here.
#pragma once

#include <gst/gst.h>

#include <utility>

namespace sreda::gst {

// An in-process element's class: its static metadata and one always-present sink and src pad template.
inline void set_element_class(GstElementClass* element, const char* name, const char* klass, const char* description,
                              const char* sink_caps, const char* src_caps) {
  gst_element_class_set_static_metadata(element, name, klass, description, "sreda");
  gst_element_class_add_pad_template(
      element, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, gst_caps_from_string(sink_caps)));
  gst_element_class_add_pad_template(
      element, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, gst_caps_from_string(src_caps)));
}

template <class T>
struct RefTraits {
  static void ref(T* p) { gst_object_ref(p); }
  static void unref(T* p) { gst_object_unref(p); }
};
template <>
struct RefTraits<GObject> {  // a plain GObject (libnice's agent, GstPromise replies are not GObjects)
  static void ref(GObject* p) { g_object_ref(p); }
  static void unref(GObject* p) { g_object_unref(p); }
};
template <>
struct RefTraits<GstCaps> {
  static void ref(GstCaps* p) { gst_caps_ref(p); }
  static void unref(GstCaps* p) { gst_caps_unref(p); }
};
template <>
struct RefTraits<GstBuffer> {
  static void ref(GstBuffer* p) { gst_buffer_ref(p); }
  static void unref(GstBuffer* p) { gst_buffer_unref(p); }
};
template <>
struct RefTraits<GstBufferList> {
  static void ref(GstBufferList* p) { gst_buffer_list_ref(p); }
  static void unref(GstBufferList* p) { gst_buffer_list_unref(p); }
};
template <>
struct RefTraits<GstSample> {
  static void ref(GstSample* p) { gst_sample_ref(p); }
  static void unref(GstSample* p) { gst_sample_unref(p); }
};
template <>
struct RefTraits<GstMessage> {
  static void ref(GstMessage* p) { gst_message_ref(p); }
  static void unref(GstMessage* p) { gst_message_unref(p); }
};

template <class T>
class GstRef {
 public:
  GstRef() = default;
  static GstRef adopt(T* p) { return GstRef(p); }
  static GstRef retain(T* p) {
    if (p) RefTraits<T>::ref(p);
    return GstRef(p);
  }
  GstRef(const GstRef& o) : p_(o.p_) {
    if (p_) RefTraits<T>::ref(p_);
  }
  GstRef(GstRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  GstRef& operator=(GstRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~GstRef() { reset(); }
  void reset() {
    if (p_) RefTraits<T>::unref(std::exchange(p_, nullptr));
  }
  T* get() const { return p_; }
  T* release() { return std::exchange(p_, nullptr); }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  explicit GstRef(T* p) : p_(p) {}
  T* p_ = nullptr;
};

}  // namespace sreda::gst
