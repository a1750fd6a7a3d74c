// sredaavh264dec: an in-process GStreamer H.264 decoder (a GstVideoDecoder) on libavcodec's h264 decoder.
//
// The ladder's one decode was openh264dec, which costs about twice libavcodec's h264 decoder per frame
// (what ffmpeg decodes with). gst-libav's avdec_h264 cannot be loaded into the server: libgstlibav links
// libavformat → libsrt-gnutls, whose globals interpose on our libsrt (see video_decoder_for in
// pipelines/ladder/ladder.cpp). libavcodec itself links no SRT, so this element links it directly.
//
// Sink: video/x-h264, alignment=au, stream-format avc (codec_data → extradata) or byte-stream. New caps
// (a reconnect with a new SPS/PPS) drain the decoder and reopen it with the new extradata. Source: I420
// (8- or 10-bit 4:2:0, 4:2:2, 4:4:4 and grey pictures are converted with libyuv — no browser decodes the
// others as H.264, so the ladder re-encodes them; other formats, e.g. 12-bit, are a clear element error). Frames come out
// in presentation order with their input PTS (each packet carries its frame's system_frame_number).
// Output planes are copied once into a buffer from the downstream pool (1 % of the ladder's CPU in perf;
// wrapping libavcodec's frames instead is left for later).
//
// Properties: threads (0 = libavcodec's auto, default 1: fewest CPU seconds per frame, see the .cpp),
// frame-threads (true: frame threading, false: slice threading; only when threads != 1).
#pragma once

namespace sreda::gst {

inline constexpr const char* kAvH264DecElement = "sredaavh264dec";

// Registers the element with this process's GStreamer (once; any thread, after gst_init). False if
// registration failed.
bool register_av_h264_dec();

}  // namespace sreda::gst
