#include "pipelines/gst/av_h264_dec.h"

#include <gst/gst.h>
#include <gst/video/gstvideodecoder.h>
#include <gst/video/video.h>
#include <libyuv/convert.h>
#include <libyuv/planar_functions.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
}

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "pipelines/gst/gst_ref.h"

namespace {

GST_DEBUG_CATEGORY_STATIC(sreda_av_dec_debug);
#define GST_CAT_DEFAULT sreda_av_dec_debug

// One decoding thread costs the fewest CPU seconds per frame: frame threading (libavcodec's default,
// and ffmpeg's) adds hand-offs and wake-ups per frame for wall-time speed the ladder does not need — a
// 720p30 decode takes a tenth of one core. Measured (2026-12-01, 900 frames of the ladder bench's 1280x720
// x264 input, load 2.6–3): 1 thread 2.62–2.85 CPU s, 2 frame threads 2.84–3.17, auto (3 frame threads)
// 2.73–3.24; slice threads change nothing for x264's one-slice streams; openh264dec 5.31.
constexpr guint kDefaultThreads = 1;
constexpr gboolean kDefaultFrameThreads = TRUE;
// A pending frame libavcodec never returned (undecodable, skipped) is released once a frame this many
// frames younger came out: more than any DPB (16) plus frame-thread delay holds back.
constexpr guint32 kStaleFrames = 64;

enum { PROP_0, PROP_THREADS, PROP_FRAME_THREADS };

struct SredaAvH264Dec {
  GstVideoDecoder parent;
  guint threads;
  gboolean frame_threads;
  AVCodecContext* ctx;
  AVPacket* pkt;
  AVFrame* frame;
  GstVideoCodecState* input_state;
  GstBuffer* codec_data;  // what ctx was opened with (nullptr: byte-stream)
  // The negotiated output (0 × 0: renegotiate on the next frame).
  int out_width, out_height, out_par_n, out_par_d;
  gboolean out_full_range;
};

struct SredaAvH264DecClass {
  GstVideoDecoderClass parent_class;
};

GType sreda_av_h264_dec_get_type();
G_DEFINE_TYPE(SredaAvH264Dec, sreda_av_h264_dec, GST_TYPE_VIDEO_DECODER)

#define SREDA_AV_DEC(obj) (reinterpret_cast<SredaAvH264Dec*>(obj))

#define SINK_CAPS "video/x-h264, stream-format=(string){ avc, byte-stream }, alignment=(string)au"
#define SRC_CAPS "video/x-raw, format=(string)I420, width=(int)[1, 32768], height=(int)[1, 32768], " \
                 "framerate=(fraction)[0/1, 2147483647/1]"

const char* av_error(int code, char (&buf)[AV_ERROR_MAX_STRING_SIZE]) {
  av_strerror(code, buf, sizeof buf);
  return buf;
}

// libavcodec's messages go to this element's debug category instead of stderr.
void av_log_to_gst(void*, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_WARNING) return;
  const GstDebugLevel gst_level = level <= AV_LOG_ERROR ? GST_LEVEL_WARNING : GST_LEVEL_INFO;
  if (gst_debug_category_get_threshold(sreda_av_dec_debug) < gst_level) return;
  char line[512];
  std::vsnprintf(line, sizeof line, fmt, args);
  const size_t n = std::strlen(line);
  if (n > 0 && line[n - 1] == '\n') line[n - 1] = '\0';
  GST_CAT_LEVEL_LOG(sreda_av_dec_debug, gst_level, nullptr, "libavcodec: %s", line);
}

bool same_bytes(GstBuffer* a, GstBuffer* b) {
  if (!a || !b) return a == b;
  const gsize size = gst_buffer_get_size(a);
  if (size != gst_buffer_get_size(b)) return false;
  GstMapInfo map;
  if (!gst_buffer_map(a, &map, GST_MAP_READ)) return false;
  const bool same = gst_buffer_memcmp(b, 0, map.data, map.size) == 0;
  gst_buffer_unmap(a, &map);
  return same;
}

void close_codec(SredaAvH264Dec* self) {
  avcodec_free_context(&self->ctx);
  gst_clear_buffer(&self->codec_data);
}

bool open_codec(SredaAvH264Dec* self, GstBuffer* codec_data) {
  close_codec(self);
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
  if (!codec) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("libavcodec has no H.264 decoder"), (nullptr));
    return false;
  }
  self->ctx = avcodec_alloc_context3(codec);
  if (!self->ctx) return false;
  if (codec_data) {
    GstMapInfo map;
    if (!gst_buffer_map(codec_data, &map, GST_MAP_READ)) return false;
    self->ctx->extradata = static_cast<uint8_t*>(av_mallocz(map.size + AV_INPUT_BUFFER_PADDING_SIZE));
    if (self->ctx->extradata) {
      std::memcpy(self->ctx->extradata, map.data, map.size);
      self->ctx->extradata_size = static_cast<int>(map.size);
    }
    gst_buffer_unmap(codec_data, &map);
    self->codec_data = gst_buffer_ref(codec_data);
  }
  self->ctx->thread_count = static_cast<int>(self->threads);
  self->ctx->thread_type = self->frame_threads ? FF_THREAD_FRAME : FF_THREAD_SLICE;
  const int r = avcodec_open2(self->ctx, codec, nullptr);
  if (r < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE];
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("cannot open libavcodec's H.264 decoder"), ("avcodec_open2: %s", av_error(r, buf)));
    close_codec(self);
    return false;
  }
  GST_DEBUG_OBJECT(self, "opened libavcodec h264 (threads %d, %s, extradata %d bytes)", self->ctx->thread_count,
                   self->ctx->active_thread_type == FF_THREAD_FRAME ? "frame" : self->ctx->active_thread_type == FF_THREAD_SLICE ? "slice" : "none",
                   self->ctx->extradata_size);
  return true;
}

// Output caps for this frame's size, aspect and range (again only when one of them changed).
GstFlowReturn negotiate(SredaAvH264Dec* self, const AVFrame* f) {
  const gboolean full = f->format == AV_PIX_FMT_YUVJ420P || f->format == AV_PIX_FMT_YUVJ422P ||
                       f->format == AV_PIX_FMT_YUVJ444P || f->color_range == AVCOL_RANGE_JPEG;
  int par_n = 0, par_d = 1;
  if (f->sample_aspect_ratio.num > 0 && f->sample_aspect_ratio.den > 0) {
    par_n = f->sample_aspect_ratio.num;
    par_d = f->sample_aspect_ratio.den;
  }
  if (self->out_width == f->width && self->out_height == f->height && self->out_par_n == par_n &&
      self->out_par_d == par_d && self->out_full_range == full)
    return GST_FLOW_OK;
  auto* dec = GST_VIDEO_DECODER(self);
  GstVideoCodecState* state =
      gst_video_decoder_set_output_state(dec, GST_VIDEO_FORMAT_I420, f->width, f->height, self->input_state);
  if (par_n > 0) {  // the SPS's aspect ratio; else the input caps' (h264parse reads the same VUI)
    state->info.par_n = par_n;
    state->info.par_d = par_d;
  }
  if (full) state->info.colorimetry.range = GST_VIDEO_COLOR_RANGE_0_255;
  gst_video_codec_state_unref(state);
  if (!gst_video_decoder_negotiate(dec)) {
    self->out_width = self->out_height = 0;
    return GST_FLOW_NOT_NEGOTIATED;
  }
  self->out_width = f->width;
  self->out_height = f->height;
  self->out_par_n = par_n;
  self->out_par_d = par_d;
  self->out_full_range = full;
  return GST_FLOW_OK;
}

// Frames libavcodec will never return (it dropped their packets) leave the pending list.
void release_stale(SredaAvH264Dec* self, guint32 newest) {
  auto* dec = GST_VIDEO_DECODER(self);
  GList* frames = gst_video_decoder_get_frames(dec);
  for (GList* l = frames; l; l = l->next) {
    auto* f = static_cast<GstVideoCodecFrame*>(l->data);
    if (f->system_frame_number + kStaleFrames < newest) {
      GST_DEBUG_OBJECT(self, "releasing frame %u: libavcodec never returned it", f->system_frame_number);
      gst_video_decoder_release_frame(dec, f);  // takes the list's reference
    } else {
      gst_video_codec_frame_unref(f);
    }
  }
  g_list_free(frames);
}

// The picture as 8-bit 4:2:0 (what every encoder of the ladder takes) into `vf`; with vf null, only whether
// this format can be. Studios send 4:2:2, 4:4:4 and 10-bit H.264 (OBS's Color Format I444 or P010/I010): no
// browser decodes those, so the ladder makes their renditions (a rung at the source's size) from this.
bool to_i420(const AVFrame* f, GstVideoFrame* vf) {
  uint8_t* dy = nullptr;
  uint8_t *du = nullptr, *dv = nullptr;
  int sy = 0, su = 0, sv = 0;
  if (vf) {
    dy = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(vf, 0));
    du = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(vf, 1));
    dv = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(vf, 2));
    sy = GST_VIDEO_FRAME_PLANE_STRIDE(vf, 0);
    su = GST_VIDEO_FRAME_PLANE_STRIDE(vf, 1);
    sv = GST_VIDEO_FRAME_PLANE_STRIDE(vf, 2);
  }
  const int w = f->width, h = f->height;
  auto p8 = [&](int i) { return static_cast<const uint8_t*>(f->data[i]); };
  auto p16 = [&](int i) { return reinterpret_cast<const uint16_t*>(f->data[i]); };
  auto l16 = [&](int i) { return f->linesize[i] / 2; };  // libyuv's 16-bit strides count samples
  switch (f->format) {
    case AV_PIX_FMT_YUV420P:
    case AV_PIX_FMT_YUVJ420P:
      if (vf) libyuv::I420Copy(p8(0), f->linesize[0], p8(1), f->linesize[1], p8(2), f->linesize[2], dy, sy, du, su, dv, sv, w, h);
      return true;
    case AV_PIX_FMT_YUV422P:
    case AV_PIX_FMT_YUVJ422P:
      if (vf) libyuv::I422ToI420(p8(0), f->linesize[0], p8(1), f->linesize[1], p8(2), f->linesize[2], dy, sy, du, su, dv, sv, w, h);
      return true;
    case AV_PIX_FMT_YUV444P:
    case AV_PIX_FMT_YUVJ444P:
      if (vf) libyuv::I444ToI420(p8(0), f->linesize[0], p8(1), f->linesize[1], p8(2), f->linesize[2], dy, sy, du, su, dv, sv, w, h);
      return true;
    case AV_PIX_FMT_GRAY8:
      if (vf) libyuv::I400ToI420(p8(0), f->linesize[0], dy, sy, du, su, dv, sv, w, h);
      return true;
    case AV_PIX_FMT_YUV420P10LE:
      if (vf) libyuv::I010ToI420(p16(0), l16(0), p16(1), l16(1), p16(2), l16(2), dy, sy, du, su, dv, sv, w, h);
      return true;
    case AV_PIX_FMT_YUV422P10LE:
      if (vf) libyuv::I210ToI420(p16(0), l16(0), p16(1), l16(1), p16(2), l16(2), dy, sy, du, su, dv, sv, w, h);
      return true;
    case AV_PIX_FMT_YUV444P10LE:
      if (vf) libyuv::I410ToI420(p16(0), l16(0), p16(1), l16(1), p16(2), l16(2), dy, sy, du, su, dv, sv, w, h);
      return true;
    default:
      return false;
  }
}

GstFlowReturn output_frame(SredaAvH264Dec* self, const AVFrame* f) {
  auto* dec = GST_VIDEO_DECODER(self);
  GstVideoCodecFrame* out = gst_video_decoder_get_frame(dec, static_cast<int>(f->pts));
  if (!out) {
    GST_WARNING_OBJECT(self, "libavcodec returned frame %" PRId64 ", which is not pending", f->pts);
    return GST_FLOW_OK;
  }
  if (!to_i420(f, nullptr)) {
    const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(f->format));
    GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                      ("unsupported H.264 picture format %s: 8 or 10 bits, 4:2:0, 4:2:2, 4:4:4 or grey are decoded",
                       name ? name : "?"),
                      (nullptr));
    gst_video_decoder_release_frame(dec, out);
    return GST_FLOW_ERROR;
  }
  GstFlowReturn ret = negotiate(self, f);
  if (ret == GST_FLOW_OK) ret = gst_video_decoder_allocate_output_frame(dec, out);
  if (ret != GST_FLOW_OK) {
    gst_video_decoder_release_frame(dec, out);
    return ret;
  }
  GstVideoCodecState* state = gst_video_decoder_get_output_state(dec);
  GstVideoFrame vf;
  const bool mapped = gst_video_frame_map(&vf, &state->info, out->output_buffer, GST_MAP_WRITE);
  gst_video_codec_state_unref(state);
  if (!mapped) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("cannot map an output frame"), (nullptr));
    gst_video_decoder_release_frame(dec, out);
    return GST_FLOW_ERROR;
  }
  to_i420(f, &vf);
  gst_video_frame_unmap(&vf);
  const guint32 number = out->system_frame_number;
  ret = gst_video_decoder_finish_frame(dec, out);
  release_stale(self, number);
  return ret;
}

// Every frame libavcodec has ready, in presentation order.
GstFlowReturn receive_frames(SredaAvH264Dec* self) {
  while (true) {
    const int r = avcodec_receive_frame(self->ctx, self->frame);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return GST_FLOW_OK;
    if (r < 0) {
      char buf[AV_ERROR_MAX_STRING_SIZE];
      GstFlowReturn ret = GST_FLOW_OK;
      GST_VIDEO_DECODER_ERROR(self, 1, STREAM, DECODE, ("cannot decode an H.264 picture"),
                              ("avcodec_receive_frame: %s", av_error(r, buf)), ret);
      return ret;
    }
    const GstFlowReturn ret = output_frame(self, self->frame);
    av_frame_unref(self->frame);
    if (ret != GST_FLOW_OK) return ret;
  }
}

// Decodes what is buffered (end of stream, new caps) and leaves the decoder ready for more input.
GstFlowReturn drain_codec(SredaAvH264Dec* self) {
  if (!self->ctx) return GST_FLOW_OK;
  avcodec_send_packet(self->ctx, nullptr);
  const GstFlowReturn ret = receive_frames(self);
  avcodec_flush_buffers(self->ctx);
  return ret;
}

gboolean dec_start(GstVideoDecoder* dec) {
  auto* self = SREDA_AV_DEC(dec);
  self->pkt = av_packet_alloc();
  self->frame = av_frame_alloc();
  self->out_width = self->out_height = 0;
  return self->pkt && self->frame;
}

gboolean dec_stop(GstVideoDecoder* dec) {
  auto* self = SREDA_AV_DEC(dec);
  close_codec(self);
  av_packet_free(&self->pkt);
  av_frame_free(&self->frame);
  g_clear_pointer(&self->input_state, gst_video_codec_state_unref);
  self->out_width = self->out_height = 0;
  return TRUE;
}

gboolean dec_set_format(GstVideoDecoder* dec, GstVideoCodecState* state) {
  auto* self = SREDA_AV_DEC(dec);
  const GstStructure* s = gst_caps_get_structure(state->caps, 0);
  const char* format = gst_structure_get_string(s, "stream-format");
  const bool avc = format && std::strcmp(format, "avc") == 0;
  if (avc && !state->codec_data) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("H.264 in AVC format without codec_data"), (nullptr));
    return FALSE;
  }
  GstBuffer* codec_data = avc ? state->codec_data : nullptr;
  g_clear_pointer(&self->input_state, gst_video_codec_state_unref);
  self->input_state = gst_video_codec_state_ref(state);
  self->out_width = self->out_height = 0;  // new reference state (frame rate, aspect) for the output caps
  if (self->ctx && same_bytes(codec_data, self->codec_data)) return TRUE;
  // A new SPS/PPS (a publisher reconnected): what the old configuration decoded goes out first.
  drain_codec(self);
  return open_codec(self, codec_data);
}

GstFlowReturn dec_handle_frame(GstVideoDecoder* dec, GstVideoCodecFrame* frame) {
  auto* self = SREDA_AV_DEC(dec);
  if (!self->ctx) {
    gst_video_decoder_drop_frame(dec, frame);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const gsize size = gst_buffer_get_size(frame->input_buffer);
  // A reference-counted packet with libavcodec's padding: avcodec_send_packet keeps it without a copy.
  if (av_new_packet(self->pkt, static_cast<int>(size)) < 0) {
    gst_video_decoder_drop_frame(dec, frame);
    return GST_FLOW_ERROR;
  }
  gst_buffer_extract(frame->input_buffer, 0, self->pkt->data, size);
  self->pkt->pts = frame->system_frame_number;
  if (GST_VIDEO_CODEC_FRAME_IS_SYNC_POINT(frame)) self->pkt->flags |= AV_PKT_FLAG_KEY;
  int r = avcodec_send_packet(self->ctx, self->pkt);
  GstFlowReturn ret = GST_FLOW_OK;
  if (r == AVERROR(EAGAIN)) {  // output first (not expected: every send is followed by receive_frames)
    ret = receive_frames(self);
    r = ret == GST_FLOW_OK ? avcodec_send_packet(self->ctx, self->pkt) : r;
  }
  av_packet_unref(self->pkt);
  if (ret != GST_FLOW_OK) {
    gst_video_decoder_drop_frame(dec, frame);
    return ret;
  }
  if (r < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE];
    GST_VIDEO_DECODER_ERROR(self, 1, STREAM, DECODE, ("cannot decode an H.264 access unit"),
                            ("avcodec_send_packet: %s", av_error(r, buf)), ret);
    gst_video_decoder_drop_frame(dec, frame);
    return ret;
  }
  gst_video_codec_frame_unref(frame);  // stays pending in the base class until libavcodec returns it
  return receive_frames(self);
}

GstFlowReturn dec_drain(GstVideoDecoder* dec) { return drain_codec(SREDA_AV_DEC(dec)); }

gboolean dec_flush(GstVideoDecoder* dec) {
  auto* self = SREDA_AV_DEC(dec);
  if (self->ctx) avcodec_flush_buffers(self->ctx);
  return TRUE;
}

void set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  auto* self = SREDA_AV_DEC(object);
  switch (id) {
    case PROP_THREADS:
      self->threads = g_value_get_uint(value);
      break;
    case PROP_FRAME_THREADS:
      self->frame_threads = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

void get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  auto* self = SREDA_AV_DEC(object);
  switch (id) {
    case PROP_THREADS:
      g_value_set_uint(value, self->threads);
      break;
    case PROP_FRAME_THREADS:
      g_value_set_boolean(value, self->frame_threads);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

void sreda_av_h264_dec_class_init(SredaAvH264DecClass* klass) {
  auto* object = G_OBJECT_CLASS(klass);
  auto* element = GST_ELEMENT_CLASS(klass);
  auto* decoder = GST_VIDEO_DECODER_CLASS(klass);
  object->set_property = set_property;
  object->get_property = get_property;
  g_object_class_install_property(
      object, PROP_THREADS,
      g_param_spec_uint("threads", "Threads", "libavcodec decoding threads (0 = automatic); used from the next caps",
                        0, 16, kDefaultThreads, static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      object, PROP_FRAME_THREADS,
      g_param_spec_boolean("frame-threads", "Frame threads", "Frame threading (else slice threading)",
                           kDefaultFrameThreads, static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  sreda::gst::set_element_class(element, "sreda libavcodec H.264 decoder", "Codec/Decoder/Video",
                                "Decodes H.264 to I420 with libavcodec (in process, no gst-libav)", SINK_CAPS, SRC_CAPS);
  decoder->start = dec_start;
  decoder->stop = dec_stop;
  decoder->set_format = dec_set_format;
  decoder->handle_frame = dec_handle_frame;
  decoder->finish = dec_drain;
  decoder->drain = dec_drain;
  decoder->flush = dec_flush;
}

void sreda_av_h264_dec_init(SredaAvH264Dec* self) {
  self->threads = kDefaultThreads;
  self->frame_threads = kDefaultFrameThreads;
  auto* dec = GST_VIDEO_DECODER(self);
  gst_video_decoder_set_packetized(dec, TRUE);
  gst_video_decoder_set_use_default_pad_acceptcaps(dec, TRUE);
  GST_PAD_SET_ACCEPT_TEMPLATE(GST_VIDEO_DECODER_SINK_PAD(dec));
}

}  // namespace

namespace sreda::gst {

bool register_av_h264_dec() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    GST_DEBUG_CATEGORY_INIT(sreda_av_dec_debug, kAvH264DecElement, 0, "sreda libavcodec H.264 decoder");
    av_log_set_callback(av_log_to_gst);
    ok = gst_element_register(nullptr, kAvH264DecElement, GST_RANK_NONE, sreda_av_h264_dec_get_type()) == TRUE;
  });
  return ok;
}

}  // namespace sreda::gst
