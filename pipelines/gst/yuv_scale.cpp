#include "pipelines/gst/yuv_scale.h"

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>
#include <libyuv/scale.h>

#include <cstdint>
#include <mutex>

#include "pipelines/gst/gst_ref.h"

namespace {

struct SredaYuvScale {
  GstVideoFilter parent;
};

struct SredaYuvScaleClass {
  GstVideoFilterClass parent_class;
};

GType sreda_yuv_scale_get_type();

#define SREDA_CAPS "video/x-raw, format=(string)I420, width=(int)[1, 32768], height=(int)[1, 32768], " \
                   "framerate=(fraction)[0/1, 2147483647/1]"

G_DEFINE_TYPE(SredaYuvScale, sreda_yuv_scale, GST_TYPE_VIDEO_FILTER)

// Either side may have any size; every other field (format, frame rate, colorimetry …) stays as it is.
// The pixel aspect ratio is left to the caps downstream (the ladder asks for square pixels and computes
// each rung's size from the source's display shape).
GstCaps* transform_caps(GstBaseTransform*, GstPadDirection, GstCaps* caps, GstCaps* filter) {
  GstCaps* out = gst_caps_new_empty();
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    GstStructure* s = gst_structure_copy(gst_caps_get_structure(caps, i));
    gst_structure_set(s, "width", GST_TYPE_INT_RANGE, 1, 32768, "height", GST_TYPE_INT_RANGE, 1, 32768, nullptr);
    gst_structure_remove_field(s, "pixel-aspect-ratio");
    gst_caps_append_structure_full(out, s, gst_caps_features_copy(gst_caps_get_features(caps, i)));
  }
  out = gst_caps_simplify(out);
  if (filter) {
    GstCaps* both = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = both;
  }
  return out;
}

const uint8_t* in_plane(GstVideoFrame* f, int i) {
  return static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(f, i));
}

uint8_t* out_plane(GstVideoFrame* f, int i) {
  return static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(f, i));
}

GstFlowReturn transform_frame(GstVideoFilter*, GstVideoFrame* in, GstVideoFrame* out) {
  int r = libyuv::I420Scale(in_plane(in, 0), GST_VIDEO_FRAME_PLANE_STRIDE(in, 0), in_plane(in, 1),
                            GST_VIDEO_FRAME_PLANE_STRIDE(in, 1), in_plane(in, 2), GST_VIDEO_FRAME_PLANE_STRIDE(in, 2),
                            GST_VIDEO_FRAME_WIDTH(in), GST_VIDEO_FRAME_HEIGHT(in), out_plane(out, 0),
                            GST_VIDEO_FRAME_PLANE_STRIDE(out, 0), out_plane(out, 1),
                            GST_VIDEO_FRAME_PLANE_STRIDE(out, 1), out_plane(out, 2),
                            GST_VIDEO_FRAME_PLANE_STRIDE(out, 2), GST_VIDEO_FRAME_WIDTH(out),
                            GST_VIDEO_FRAME_HEIGHT(out), libyuv::kFilterBilinear);
  return r == 0 ? GST_FLOW_OK : GST_FLOW_ERROR;
}

void sreda_yuv_scale_class_init(SredaYuvScaleClass* klass) {
  auto* element = GST_ELEMENT_CLASS(klass);
  auto* base = GST_BASE_TRANSFORM_CLASS(klass);
  auto* filter = GST_VIDEO_FILTER_CLASS(klass);
  sreda::gst::set_element_class(element, "sreda libyuv scaler", "Filter/Converter/Video/Scaler",
                                "Scales I420 video with libyuv (bilinear)", SREDA_CAPS, SREDA_CAPS);
  base->transform_caps = transform_caps;
  base->passthrough_on_same_caps = TRUE;
  filter->transform_frame = transform_frame;
}

void sreda_yuv_scale_init(SredaYuvScale*) {}

}  // namespace

namespace sreda::gst {

bool register_yuv_scale() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    ok = gst_element_register(nullptr, kYuvScaleElement, GST_RANK_NONE, sreda_yuv_scale_get_type()) == TRUE;
  });
  return ok;
}

}  // namespace sreda::gst
