#include "pipelines/ladder/yuv_scale.h"

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <libyuv/scale.h>

#include <cstdint>

namespace sreda::pipelines {
namespace {

constexpr const char* kCaps = "video/x-raw, format=(string)I420, width=(int)[1,32767], height=(int)[1,32767]";

// GStreamer's default I420 layout (video-info.c).
struct Layout {
  int width = 0, height = 0;
  int stride_y = 0, stride_uv = 0;
  size_t offset_u = 0, offset_v = 0, size = 0;
};

int round_up(int v, int n) { return (v + n - 1) / n * n; }

bool layout_of(GstCaps* caps, Layout& l) {
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (!s || !gst_structure_get_int(s, "width", &l.width) || !gst_structure_get_int(s, "height", &l.height))
    return false;
  l.stride_y = round_up(l.width, 4);
  l.stride_uv = round_up(round_up(l.width, 2) / 2, 4);
  const int chroma_h = round_up(l.height, 2) / 2;
  l.offset_u = static_cast<size_t>(l.stride_y) * round_up(l.height, 2);
  l.offset_v = l.offset_u + static_cast<size_t>(l.stride_uv) * chroma_h;
  l.size = l.offset_v + static_cast<size_t>(l.stride_uv) * chroma_h;
  return true;
}

struct YuvScale {
  GstBaseTransform parent;
  Layout in, out;
};
struct YuvScaleClass {
  GstBaseTransformClass parent_class;
};

GType yuv_scale_get_type();
G_DEFINE_TYPE(YuvScale, yuv_scale, GST_TYPE_BASE_TRANSFORM)

// Any size on the other side (the capsfilter downstream picks it); the rest (framerate…) stays.
GstCaps* transform_caps(GstBaseTransform*, GstPadDirection, GstCaps* caps, GstCaps* filter) {
  GstCaps* out = gst_caps_new_empty();
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    GstStructure* s = gst_structure_copy(gst_caps_get_structure(caps, i));
    gst_structure_set(s, "width", GST_TYPE_INT_RANGE, 1, 32767, "height", GST_TYPE_INT_RANGE, 1, 32767, nullptr);
    gst_structure_remove_field(s, "pixel-aspect-ratio");
    out = gst_caps_merge_structure(out, s);
  }
  if (filter) {
    GstCaps* f = gst_caps_intersect_full(filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(out);
    out = f;
  }
  return out;
}

gboolean get_unit_size(GstBaseTransform*, GstCaps* caps, gsize* size) {
  Layout l;
  if (!layout_of(caps, l)) return FALSE;
  *size = l.size;
  return TRUE;
}

gboolean set_caps(GstBaseTransform* trans, GstCaps* incaps, GstCaps* outcaps) {
  auto* self = reinterpret_cast<YuvScale*>(trans);
  if (!layout_of(incaps, self->in) || !layout_of(outcaps, self->out)) return FALSE;
  gst_base_transform_set_passthrough(trans, self->in.width == self->out.width && self->in.height == self->out.height);
  return TRUE;
}

GstFlowReturn transform(GstBaseTransform* trans, GstBuffer* inbuf, GstBuffer* outbuf) {
  auto* self = reinterpret_cast<YuvScale*>(trans);
  const Layout& a = self->in;
  const Layout& b = self->out;
  GstMapInfo in, out;
  if (!gst_buffer_map(inbuf, &in, GST_MAP_READ)) return GST_FLOW_ERROR;
  if (!gst_buffer_map(outbuf, &out, GST_MAP_WRITE)) {
    gst_buffer_unmap(inbuf, &in);
    return GST_FLOW_ERROR;
  }
  GstFlowReturn ret = GST_FLOW_OK;
  if (in.size < a.size || out.size < b.size) {
    GST_ELEMENT_ERROR(trans, STREAM, FORMAT, ("unexpected I420 buffer size"), (nullptr));
    ret = GST_FLOW_ERROR;
  } else {
    libyuv::I420Scale(in.data, a.stride_y, in.data + a.offset_u, a.stride_uv, in.data + a.offset_v, a.stride_uv,
                      a.width, a.height, out.data, b.stride_y, out.data + b.offset_u, b.stride_uv,
                      out.data + b.offset_v, b.stride_uv, b.width, b.height, libyuv::kFilterBilinear);
  }
  gst_buffer_unmap(outbuf, &out);
  gst_buffer_unmap(inbuf, &in);
  return ret;
}

void yuv_scale_class_init(YuvScaleClass* klass) {
  auto* element = GST_ELEMENT_CLASS(klass);
  auto* bt = GST_BASE_TRANSFORM_CLASS(klass);
  GstCaps* caps = gst_caps_from_string(kCaps);
  gst_element_class_add_pad_template(element, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(element, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);
  gst_element_class_set_static_metadata(element, "sreda I420 scaler", "Filter/Converter/Video/Scaler",
                                        "Scales I420 video with libyuv (bilinear)", "sreda");
  bt->transform_caps = transform_caps;
  bt->get_unit_size = get_unit_size;
  bt->set_caps = set_caps;
  bt->transform = transform;
  bt->passthrough_on_same_caps = TRUE;
}

void yuv_scale_init(YuvScale*) {}

}  // namespace

bool register_yuv_scale() {
  static const gboolean ok = gst_element_register(nullptr, "sredayuvscale", GST_RANK_NONE, yuv_scale_get_type());
  return ok;
}

}  // namespace sreda::pipelines
