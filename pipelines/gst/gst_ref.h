// RAII for GLib/GStreamer references (STYLE.md 1). adopt() takes a "transfer full" reference,
// retain() adds one to a "transfer none" pointer. Unref happens in exactly one place: here.
#pragma once

#include <gst/gst.h>

#include <utility>

namespace sreda::gst {

template <class T>
struct RefTraits {
  static void ref(T* p) { gst_object_ref(p); }
  static void unref(T* p) { gst_object_unref(p); }
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
