// sredayuvscale: an in-process GStreamer element that scales I420 video with libyuv.
//
// videoscale costs about three times ffmpeg's swscale for the same 720p → 480p/360p steps and was nearly
// all of the ladder's CPU gap to ffmpeg (see scripts/bench/ladder); libyuv's bilinear I420Scale costs
// about what swscale's does. Same caps as videoscale for I420 in system memory: width and height change,
// everything else passes; same caps on both sides → passthrough.
#pragma once

namespace sreda::gst {

inline constexpr const char* kYuvScaleElement = "sredayuvscale";

// Registers the element with this process's GStreamer (once; any thread, after gst_init). False if
// registration failed.
bool register_yuv_scale();

}  // namespace sreda::gst
