// sredayuvscale: an I420 scaler on libyuv (I420Scale, bilinear) for the ladder's rungs. GStreamer's
// videoscale costs ~3–4× libyuv here (PLATFORM.md: 720→480, 900 frames: 2.3 s vs 0.5 s), nearly all of the
// ladder's gap to ffmpeg. A GstBaseTransform on libgstbase only (no libgstvideo in the server process):
// I420 in GStreamer's default layout (no GstVideoMeta is offered upstream, so producers use it), the output
// size fixed by a capsfilter downstream; same size in and out is passthrough.
// register_yuv_scale() once before making one (any thread; idempotent).
#pragma once

namespace sreda::pipelines {

bool register_yuv_scale();

}  // namespace sreda::pipelines
