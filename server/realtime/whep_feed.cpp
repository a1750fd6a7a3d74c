#include "server/realtime/whep_feed.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <algorithm>

#include "pipelines/gst/av_h264_dec.h"
#include "pipelines/gst/plugin_check.h"
#include "pipelines/gst/yuv_scale.h"
#include "pipelines/ladder/ladder.h"

namespace sreda::realtime {

namespace {

GstFlowReturn video_sample_cb(GstAppSink* sink, gpointer feed) {
  return static_cast<WhepFeed*>(feed)->on_sample(media::TrackKind::video, GST_ELEMENT(sink));
}
GstFlowReturn audio_sample_cb(GstAppSink* sink, gpointer feed) {
  return static_cast<WhepFeed*>(feed)->on_sample(media::TrackKind::audio, GST_ELEMENT(sink));
}
GstPadProbeReturn encoder_probe_cb(GstPad* pad, GstPadProbeInfo*, gpointer feed) {
  return static_cast<WhepFeed*>(feed)->on_encoder_input(pad);
}
void overrun_cb(GstElement*, gpointer feed) { static_cast<WhepFeed*>(feed)->on_encoder_overrun(); }
GstBusSyncReply bus_cb(GstBus*, GstMessage* m, gpointer feed) { return static_cast<WhepFeed*>(feed)->on_bus_message(m); }

GstBuffer* bytes_buffer(const std::vector<uint8_t>& bytes) {
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, bytes.size(), nullptr);
  gst_buffer_fill(buf, 0, bytes.data(), bytes.size());
  return buf;
}

void set_caps(GstElement* capsfilter, const std::string& caps) {
  auto c = gst::GstRef<GstCaps>::adopt(gst_caps_from_string(caps.c_str()));
  g_object_set(capsfilter, "caps", c.get(), nullptr);
}

GstCaps* audio_caps(const media::MediaFacts& f) {
  if (f.audio_codec == "opus" && f.audio_caps.empty())  // Opus as WebRTC carries it
    return gst_caps_new_simple("audio/x-opus", "channel-mapping-family", G_TYPE_INT, 0, "rate", G_TYPE_INT, 48000,
                               "channels", G_TYPE_INT, std::clamp(f.audio_channels, 1, 2), nullptr);
  return f.audio_codec == "aac" || !f.audio_caps.empty() ? pipelines::audio_input_caps(f) : nullptr;
}

void make_appsrc(GstElement* src, GstCaps* caps, int64_t max_bytes) {
  g_object_set(src, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME, "block", FALSE, "do-timestamp", FALSE,
               "max-bytes", static_cast<guint64>(max_bytes), nullptr);
}

void make_appsink(GstElement* sink, bool video, WhepFeed* feed) {
  // buffer-list: a payloader's frame stays one list, handed to every viewer's send path as one.
  g_object_set(sink, "sync", FALSE, "async", FALSE, "max-buffers", 0u, "drop", FALSE, "buffer-list", TRUE, nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = video ? video_sample_cb : audio_sample_cb;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, feed, nullptr);
}

}  // namespace

const char* to_string(FeedMode mode) { return mode == FeedMode::passthrough ? "passthrough" : "encode"; }

void scaled_size(int width, int height, int max_height, int& out_width, int& out_height) {
  if (width <= 0 || height <= 0) {
    out_width = out_height = 0;
    return;
  }
  out_height = std::max(2, std::min(height, max_height) / 2 * 2);
  out_width = std::max(2, static_cast<int>(static_cast<int64_t>(width) * out_height / height + 1) / 2 * 2);
}

WhepFeed::WhepFeed(int64_t event_id, FeedMode mode, const media::MediaFacts& facts, FeedOptions options,
                   uint32_t video_ssrc, uint32_t audio_ssrc, FeedSink& sink)
    : event_id_(event_id),
      mode_(mode),
      facts_(facts),
      options_(std::move(options)),
      video_ssrc_(video_ssrc),
      audio_ssrc_(audio_ssrc),
      sink_(sink) {}

WhepFeed::~WhepFeed() { stop(); }

GstElement* WhepFeed::add(const char* factory, const std::string& name, std::string& error) {
  return gst::add_element(pipeline_.get(), factory, name, error);
}

bool WhepFeed::start(std::string& error) {
  const std::string name = "whep-" + std::to_string(event_id_);
  pipeline_ = gst::GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(name.c_str()))));
  if (facts_.has_video && !build_video(error)) return false;
  if (facts_.has_audio && !build_audio(error)) return false;
  if (!vsrc_ && !asrc_) return error = "the event has neither H.264 video nor audio for real-time viewers", false;
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  gst_bus_set_sync_handler(bus.get(), bus_cb, this, nullptr);
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return error = "the real-time feed's pipeline did not start", false;
  return true;
}

bool WhepFeed::build_video(std::string& error) {
  if (facts_.video_codec != "h264") {
    // HEVC from SRT: the ladder's decoders could take it, but the encode's cost is kept to H.264 sources.
    error = "real time needs H.264 from the studio (it sends " + facts_.video_codec + ")";
    return false;
  }
  vsrc_ = add("appsrc", "vsrc", error);
  GstElement* pay = add("rtph264pay", "vpay", error);
  GstElement* sink = add("appsink", "vsink", error);
  if (!error.empty()) return false;
  auto caps = gst::GstRef<GstCaps>::adopt(pipelines::video_input_caps(facts_));
  make_appsrc(vsrc_, caps.get(), options_.max_input_bytes);
  g_object_set(pay, "pt", guint{kVideoPt}, "mtu", guint{1200}, "config-interval", -1, "ssrc", video_ssrc_, nullptr);
  gst_util_set_object_arg(G_OBJECT(pay), "aggregate-mode", "zero-latency");
  make_appsink(sink, true, this);
  if (mode_ == FeedMode::passthrough) {
    width_ = facts_.width;
    height_ = facts_.height;
    if (!gst_element_link_many(vsrc_, pay, sink, nullptr)) return error = "cannot link the real-time video", false;
    return true;
  }
  if (!gst::register_yuv_scale()) return error = std::string("cannot register ") + gst::kYuvScaleElement, false;
  GstElement* parse = add("h264parse", "vparse", error);
  GstElement* dec = add(pipelines::video_decoder_for("h264").c_str(), "vdec", error);
  GstElement* convert = add("videoconvert", "vconvert", error);
  GstElement* i420 = add("capsfilter", "vi420", error);
  GstElement* scale = add(gst::kYuvScaleElement, "vscale", error);
  GstElement* size = add("capsfilter", "vsize", error);
  GstElement* q = add("queue", "venc_queue", error);
  GstElement* enc = add("x264enc", "venc", error);
  GstElement* profile = add("capsfilter", "vprofile", error);
  if (!error.empty()) return false;
  set_caps(i420, "video/x-raw,format=I420");
  scaled_size(facts_.width, facts_.height, options_.max_height, width_, height_);
  if (width_ > 0)
    set_caps(size, "video/x-raw,width=" + std::to_string(width_) + ",height=" + std::to_string(height_) +
                       ",pixel-aspect-ratio=1/1");
  // The encoder runs in its own thread; when it falls behind, the oldest frame waiting goes (viewers see a
  // lower frame rate, never a growing delay). Each such frame after the first output is a late frame.
  g_object_set(q, "max-size-buffers", 4u, "max-size-bytes", 0u, "max-size-time", guint64{0}, nullptr);
  gst_util_set_object_arg(G_OBJECT(q), "leaky", "downstream");
  g_signal_connect(q, "overrun", G_CALLBACK(overrun_cb), this);
  const int fps = facts_.fps_num > 0 && facts_.fps_den > 0 ? (facts_.fps_num + facts_.fps_den - 1) / facts_.fps_den : 30;
  gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", options_.preset.c_str());
  gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
  // Keyframes only on request (a viewer joins or lost packets): key-int-max is a far fallback.
  g_object_set(enc, "bitrate", static_cast<guint>(options_.video_kbps), "vbv-buf-capacity", 300u, "key-int-max",
               static_cast<guint>(fps * 10), "bframes", 0u, "threads", 1u, "aud", FALSE, "option-string", "scenecut=0", nullptr);
  set_caps(profile, "video/x-h264,profile=constrained-baseline");
  if (!gst_element_link_many(vsrc_, parse, dec, convert, i420, scale, size, q, enc, profile, pay, sink, nullptr))
    return error = "cannot link the real-time video encode", false;
  auto encpad = gst::GstRef<GstPad>::adopt(gst_element_get_static_pad(enc, "sink"));
  gst_pad_add_probe(encpad.get(), GST_PAD_PROBE_TYPE_BUFFER, encoder_probe_cb, this, nullptr);
  return true;
}

bool WhepFeed::build_audio(std::string& error) {
  auto caps = gst::GstRef<GstCaps>::adopt(audio_caps(facts_));
  if (!caps) return error = "no caps for audio codec '" + facts_.audio_codec + "'", false;
  asrc_ = add("appsrc", "asrc", error);
  GstElement* pay = add("rtpopuspay", "apay", error);
  GstElement* sink = add("appsink", "asink", error);
  if (!error.empty()) return false;
  make_appsrc(asrc_, caps.get(), options_.max_input_bytes);
  g_object_set(pay, "pt", guint{kAudioPt}, "ssrc", audio_ssrc_, nullptr);
  make_appsink(sink, false, this);
  if (facts_.audio_codec == "opus") {  // Opus encoded once by the studio (WHIP, SRT): passed through
    if (!gst_element_link_many(asrc_, pay, sink, nullptr)) return error = "cannot link the real-time audio", false;
    return true;
  }
  const std::string decoder = pipelines::audio_decoder_for(facts_.audio_codec);
  if (decoder.empty()) return error = "no decoder for audio codec '" + facts_.audio_codec + "'", false;
  GstElement* head = asrc_;
  if (facts_.audio_codec == "mp3" || facts_.audio_codec == "mp2") {  // several frames per RTMP unit
    head = add("mpegaudioparse", "aparse", error);
    if (!head || !gst_element_link(asrc_, head)) return error = error.empty() ? "cannot link mpegaudioparse" : error, false;
  }
  GstElement* dec = add(decoder.c_str(), "adec", error);
  GstElement* convert = add("audioconvert", "aconvert", error);
  GstElement* resample = add("audioresample", "aresample", error);
  GstElement* raw = add("capsfilter", "araw", error);
  GstElement* enc = add("opusenc", "aenc", error);
  if (!error.empty()) return false;
  set_caps(raw, "audio/x-raw,rate=48000,channels=[1,2]");
  g_object_set(enc, "bitrate", options_.audio_kbps * 1000, nullptr);
  gst_util_set_object_arg(G_OBJECT(enc), "frame-size", "20");
  if (!gst_element_link_many(head, dec, convert, resample, raw, enc, pay, sink, nullptr))
    return error = "cannot link the real-time audio encode", false;
  return true;
}

void WhepFeed::stop() {
  if (stopped_.exchange(true) || !pipeline_) return;
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  gst_bus_set_sync_handler(bus.get(), nullptr, nullptr, nullptr);
}

void WhepFeed::push(const media::AccessUnit& unit) {
  if (stopped_ || failed_) return;
  const bool video = unit.track == media::TrackKind::video;
  GstElement* src = video ? vsrc_ : asrc_;
  if (!src) return;
  const bool full = gst_app_src_get_current_level_bytes(GST_APP_SRC(src)) + unit.data.size() >
                    static_cast<uint64_t>(options_.max_input_bytes);
  if (video) {
    if (full) need_keyframe_ = true;  // overflow: drop up to the next keyframe
    if (need_keyframe_ && (!unit.keyframe || full)) {
      input_dropped_++;
      return;
    }
    need_keyframe_ = false;
  } else if (full) {
    input_dropped_++;
    return;
  }
  GstBuffer* buf = bytes_buffer(unit.data);
  GST_BUFFER_PTS(buf) = static_cast<GstClockTime>(std::max<int64_t>(0, unit.pts_us)) * 1000;
  GST_BUFFER_DTS(buf) = static_cast<GstClockTime>(std::max<int64_t>(0, unit.dts_us)) * 1000;
  if (unit.duration_us > 0) GST_BUFFER_DURATION(buf) = static_cast<GstClockTime>(unit.duration_us) * 1000;
  if (!unit.keyframe) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  gst_app_src_push_buffer(GST_APP_SRC(src), buf);
}

GstPadProbeReturn WhepFeed::on_encoder_input(GstPad* pad) {
  encoder_took_++;
  if (want_keyframe_.exchange(false)) {
    keyframes_forced_++;
    gst_pad_send_event(pad, gst_video_event_new_downstream_force_key_unit(GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE,
                                                                          GST_CLOCK_TIME_NONE, TRUE, 0));
  }
  return GST_PAD_PROBE_OK;
}

void WhepFeed::on_encoder_overrun() {
  // Before the first output the encoder is starting (x264 on a busy machine): not behind real time yet.
  if (stopped_ || !encoded_.load()) return;
  const int64_t now = g_get_monotonic_time();
  // A new feed's first seconds (a studio's reconnect: the new session's first units may come in a burst) are
  // not a judgement on the machine; nor are the ladder's (LadderOptions::warm_at_most_us).
  if (now - encoded_at_us_.load() < kWarmUs) return;
  // Judged a second at a time, when that second is over: a second in which the queue dropped at least a quarter as
  // many frames as the encoder took (the encode ran below ~80 % of real time) was behind, and its drops are late
  // frames; a few drops in a second are a moment's contention.
  if (now - second_start_us_ >= 1'000'000) {
    const int64_t took = encoder_took_.load() - second_took_at_;
    const int64_t late = second_start_us_ && second_dropped_ * 4 >= took ? second_dropped_ : 0;
    second_start_us_ = now;
    second_dropped_ = 0;
    second_took_at_ = encoder_took_.load();
    if (late > 0) {
      late_frames_ += late;
      if (late_listener_) late_listener_(late);
    }
  }
  ++second_dropped_;
}

GstFlowReturn WhepFeed::on_sample(media::TrackKind track, GstElement* appsink) {
  auto sample = gst::GstRef<GstSample>::adopt(gst_app_sink_pull_sample(GST_APP_SINK(appsink)));
  if (!sample) return GST_FLOW_EOS;
  if (track == media::TrackKind::video && mode_ == FeedMode::encode && !encoded_.load()) {
    encoded_at_us_ = g_get_monotonic_time();
    encoded_ = true;
  }
  if (GstBufferList* list = gst_sample_get_buffer_list(sample.get()))
    sink_.on_rtp_list(track, list);  // a frame's packets, as the payloader pushed them
  else if (GstBuffer* buf = gst_sample_get_buffer(sample.get()))
    sink_.on_rtp(track, buf);
  return GST_FLOW_OK;
}

GstBusSyncReply WhepFeed::on_bus_message(GstMessage* m) {
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR && !failed_.exchange(true)) {
    GError* err = nullptr;
    gst_message_parse_error(m, &err, nullptr);
    std::string what = err ? err->message : "unknown error";
    if (err) g_error_free(err);
    sink_.on_feed_error(std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + what);
  }
  return GST_BUS_DROP;
}

}  // namespace sreda::realtime
