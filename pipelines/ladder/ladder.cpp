// Long because it is one GStreamer pipeline: building its branches, the callbacks of its streaming threads and
// the overload policy share the Rung state defined here (a split of building from running is the next step).
#include "pipelines/ladder/ladder.h"

#include "pipelines/gst/av_h264_dec.h"
#include "pipelines/gst/plugin_check.h"
#include "pipelines/gst/yuv_scale.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>

namespace sreda::pipelines {

struct Ladder::Rung {
  Ladder* owner = nullptr;
  RungPlan plan;
  bool poster = false;
  GstElement* valve = nullptr;  // owned by the pipeline
  GstElement* queue = nullptr;
  std::atomic<bool> warm{false};  // its encoder has produced for a while: from then on its queue may drop (leaky)
  int warm_frames = 0;            // appsink thread: outputs so far, until warm
  int64_t first_out_us = 0;       // appsink thread: g_get_monotonic_time() of its first output
  std::atomic<bool> active{true};
  std::atomic<int64_t> frames{0};
  std::atomic<int64_t> dropped{0};
  std::deque<int64_t> drop_times_us;  // monotonic µs of recent drops; under owner->mutex_
  int64_t drops_seen = 0;             // under owner->mutex_
  int64_t keyframe_cursor_us = INT64_MIN;  // encoder input thread only
  gst::GstRef<GstCaps> last_caps;          // appsink thread only
  mutable std::mutex stats_mutex;
  std::deque<std::pair<int64_t, size_t>> recent;  // (pts µs, bytes) over the last kStatsWindowUs
};

namespace {

constexpr int64_t kStatsWindowUs = 3'000'000;
constexpr size_t kKeyframesKept = 64;
constexpr int kWarmFrames = 60;  // outputs before a rung's queue may drop (2 s at 30 fps; audio: ~1.3 s)…
// …once caught up, or LadderOptions::warm_at_most_us after its first output regardless.
constexpr guint kCaughtUpFrames = 2;    // a queue holding no more than this has caught up
constexpr int64_t kCaughtUpUs = 400'000;  // …and its output is no further behind the newest input

GstFlowReturn sample_cb(GstAppSink* sink, gpointer rung) {
  auto* r = static_cast<Ladder::Rung*>(rung);
  return r->owner->on_sample(*r, sink);
}

GstPadProbeReturn encoder_probe_cb(GstPad* pad, GstPadProbeInfo* info, gpointer rung) {
  auto* r = static_cast<Ladder::Rung*>(rung);
  return r->owner->on_encoder_input(*r, pad, GST_PAD_PROBE_INFO_BUFFER(info));
}

GstPadProbeReturn poster_probe_cb(GstPad*, GstPadProbeInfo* info, gpointer ladder) {
  return static_cast<Ladder*>(ladder)->on_poster_input(GST_PAD_PROBE_INFO_BUFFER(info));
}

GstBusSyncReply bus_cb(GstBus*, GstMessage* m, gpointer self) {
  return static_cast<Ladder*>(self)->on_bus_message(m);
}

std::vector<uint8_t> buffer_bytes(GstBuffer* buf) {
  std::vector<uint8_t> out;
  GstMapInfo map;
  if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    out.assign(map.data, map.data + map.size);
    gst_buffer_unmap(buf, &map);
  }
  return out;
}

std::vector<uint8_t> codec_data(const GstStructure* s) {
  const GValue* v = gst_structure_get_value(s, "codec_data");
  return v && GST_VALUE_HOLDS_BUFFER(v) ? buffer_bytes(gst_value_get_buffer(v)) : std::vector<uint8_t>{};
}

GstBuffer* bytes_buffer(const std::vector<uint8_t>& bytes) {
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, bytes.size(), nullptr);
  gst_buffer_fill(buf, 0, bytes.data(), bytes.size());
  return buf;
}

int64_t to_us(GstClockTime t) { return GST_CLOCK_TIME_IS_VALID(t) ? static_cast<int64_t>(t / 1000) : -1; }

void set_caps(GstElement* capsfilter, const std::string& caps) {
  auto c = gst::GstRef<GstCaps>::adopt(gst_caps_from_string(caps.c_str()));
  g_object_set(capsfilter, "caps", c.get(), nullptr);
}

void leaky_queue(GstElement* q, guint frames, bool leaky) {
  g_object_set(q, "max-size-buffers", frames, "max-size-bytes", 0u, "max-size-time", guint64{0}, nullptr);
  if (leaky) gst_util_set_object_arg(G_OBJECT(q), "leaky", "downstream");
}

void queue_overrun_cb(GstElement*, gpointer rung);
void scaler_overrun_cb(GstElement*, gpointer ladder);

// A downstream force-key-unit event asking for an IDR with its SPS/PPS on the next frame.
GstEvent* force_key_unit_event() {
  return gst_video_event_new_downstream_force_key_unit(GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE,
                                                       TRUE, 0);
}

}  // namespace

// No gst-libav (avdec_*, avenc_*) in the server process: libgstlibav links libavformat, which links
// libsrt-gnutls, whose C++ globals interpose on our libsrt's (same symbols): loading it while the SRT
// server runs re-initialises libsrt's global mutex/condition (srt::sync::g_Sync) under its users, and the
// process hangs in libsrt's exit handler (measured: every server that ran a ladder with avdec_h264 hung at
// exit). H.264 is decoded by sredaavh264dec (pipelines/gst/av_h264_dec.h): libavcodec linked directly,
// which links no SRT (`ldd libavcodec.so.59`), about half openh264dec's CPU per frame; openh264dec is the
// fallback when it cannot be registered. openh264dec, faad, voaacenc, x264enc and jpegenc link no SRT.
// libde265dec (gstreamer1.0-plugins-bad, libde265), opusdec (libopus) and mpg123audiodec (libmpg123) link
// no SRT either.
std::string video_decoder_for(const std::string& codec) {
  if (codec == "h264") return gst::register_av_h264_dec() ? gst::kAvH264DecElement : "openh264dec";
  if (codec == "hevc") return "libde265dec";  // 8-bit 4:2:0 only (its output is I420)
  return "";
}

std::string video_parser_for(const std::string& codec) {
  if (codec == "h264") return "h264parse";
  if (codec == "hevc") return "h265parse";
  return "";
}

std::string audio_decoder_for(const std::string& codec) {
  if (codec == "aac") return "faad";
  if (codec == "opus") return "opusdec";
  if (codec == "mp3" || codec == "mp2") return "mpg123audiodec";
  return "";
}

Ladder::Ladder(std::string name, LadderSpec spec, const media::MediaFacts& source, LadderOptions options,
               LadderListener& listener)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      source_(source),
      options_(options),
      listener_(listener),
      rungs_(plan_rungs(spec_, source)) {
  for (const RungPlan& p : rungs_) {
    auto r = std::make_unique<Rung>();
    r->owner = this;
    r->plan = p;
    rung_state_.push_back(std::move(r));
  }
  if (source_.has_video && spec_.poster_interval_s > 0) {
    auto r = std::make_unique<Rung>();
    r->owner = this;
    r->poster = true;
    r->plan.spec.name = "poster";
    poster_ = r.get();
    rung_state_.push_back(std::move(r));
  }
  video_need_keyframe_ = true;
}

Ladder::~Ladder() { stop(0); }

GstElement* Ladder::add(const char* factory, const std::string& name, std::string& error) {
  return gst::add_element(pipeline_.get(), factory, name, error);
}

GstCaps* video_input_caps(const media::MediaFacts& f) {
  if (f.video_codec != "h264")
    return gst_caps_from_string(f.video_caps.c_str());  // the source pipeline's caps, codec_data included
  GstCaps* caps = gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment",
                                      G_TYPE_STRING, "au", nullptr);
  if (!f.video_codec_data.empty()) {
    auto buf = gst::GstRef<GstBuffer>::adopt(bytes_buffer(f.video_codec_data));
    gst_caps_set_simple(caps, "codec_data", GST_TYPE_BUFFER, buf.get(), nullptr);
  }
  if (f.width > 0 && f.height > 0)
    gst_caps_set_simple(caps, "width", G_TYPE_INT, f.width, "height", G_TYPE_INT, f.height, nullptr);
  if (f.fps_num > 0 && f.fps_den > 0)
    gst_caps_set_simple(caps, "framerate", GST_TYPE_FRACTION, f.fps_num, f.fps_den, nullptr);
  return caps;
}

GstCaps* audio_input_caps(const media::MediaFacts& f) {
  if (f.audio_codec != "aac") return gst_caps_from_string(f.audio_caps.c_str());
  GstCaps* caps = gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format", G_TYPE_STRING,
                                      "raw", nullptr);
  if (!f.audio_codec_data.empty()) {
    auto buf = gst::GstRef<GstBuffer>::adopt(bytes_buffer(f.audio_codec_data));
    gst_caps_set_simple(caps, "codec_data", GST_TYPE_BUFFER, buf.get(), nullptr);
  }
  if (f.audio_rate > 0) gst_caps_set_simple(caps, "rate", G_TYPE_INT, f.audio_rate, nullptr);
  if (f.audio_channels > 0) gst_caps_set_simple(caps, "channels", G_TYPE_INT, f.audio_channels, nullptr);
  return caps;
}

bool Ladder::start(std::string& error) {
  if (rungs_.empty() && !poster_) return true;
  if (!gst::register_yuv_scale()) {
    error = std::string("cannot register the ") + gst::kYuvScaleElement + " element";
    return false;
  }
  pipeline_ = gst::GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(name_.c_str()))));
  const bool video = poster_ || std::any_of(rungs_.begin(), rungs_.end(), [](const RungPlan& p) {
                       return !p.spec.audio_only;
                     });
  const bool audio = std::any_of(rungs_.begin(), rungs_.end(), [](const RungPlan& p) { return p.spec.audio_only; });
  if (video && !build_video(error)) return false;
  if (audio && !build_audio(error)) return false;
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  gst_bus_set_sync_handler(bus.get(), bus_cb, this, nullptr);
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    error = "the ladder pipeline did not start";
    return false;
  }
  return true;
}

namespace {

GstElement* make_appsrc(GstElement* src, GstCaps* caps) {
  g_object_set(src, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME, "block", FALSE, "do-timestamp",
               FALSE, nullptr);
  return src;
}

void make_appsink(GstElement* sink, Ladder::Rung* rung) {
  g_object_set(sink, "sync", FALSE, "async", FALSE, "max-buffers", 0u, "drop", FALSE, nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = sample_cb;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, rung, nullptr);
}

void queue_overrun_cb(GstElement*, gpointer rung) {
  auto* r = static_cast<Ladder::Rung*>(rung);
  if (r->warm.load()) r->dropped++;  // before, the queue blocks (not leaky yet): nothing is dropped
}

void scaler_overrun_cb(GstElement*, gpointer ladder) { static_cast<Ladder*>(ladder)->on_scaler_overrun(); }  // counts once warm

}  // namespace

bool Ladder::build_video(std::string& error) {
  const std::string decoder = video_decoder_for(source_.video_codec);
  if (decoder.empty()) {
    error = "no decoder for video codec '" + source_.video_codec + "'";
    return false;
  }
  vsrc_ = add("appsrc", "vsrc", error);
  GstElement* parse = add(video_parser_for(source_.video_codec).c_str(), "vparse", error);  // AVC → byte-stream
  GstElement* dec = add(decoder.c_str(), "vdec", error);
  GstElement* convert = add("videoconvert", "vconvert", error);
  GstElement* format = add("capsfilter", "vformat", error);
  GstElement* tee = add("tee", "vtee", error);
  if (!error.empty()) return false;
  auto caps = gst::GstRef<GstCaps>::adopt(video_input_caps(source_));
  if (!caps) return error = "bad video caps '" + source_.video_caps + "'", false;
  make_appsrc(vsrc_, caps.get());
  set_caps(format, "video/x-raw,format=I420");
  if (!gst_element_link_many(vsrc_, parse, dec, convert, format, tee, nullptr)) {
    error = "cannot link the video decoder";
    return false;
  }
  // The scaling cascade runs in one thread behind one leaky queue; each rung scales from the previous,
  // or from a taller rung of exactly twice its size (720p → 360p): libyuv halves with a 2×2 box row
  // kernel at a fraction of a general bilinear step's cost (854x480 → 640x360 reads fewer pixels but
  // filters every column).
  struct Made {
    GstElement* tee;
    int width, height;
  };
  std::vector<Made> made;
  GstElement* feed = nullptr;
  for (auto& r : rung_state_) {
    if (r->poster || r->plan.spec.audio_only) continue;
    const std::string n = r->plan.spec.name;
    if (!feed) {
      GstElement* q = add("queue", "scale_queue", error);
      if (!q) return false;
      leaky_queue(q, static_cast<guint>(options_.encoder_queue_frames), false);  // leaky once warm: on_sample
      scale_queue_ = q;
      // A frame the scaler drops is lost to every video rung: it counts for each (see health()).
      if (options_.drop_when_late) g_signal_connect(q, "overrun", G_CALLBACK(scaler_overrun_cb), this);
      if (!gst_element_link(tee, q)) return error = "cannot link the scaler queue", false;
      feed = q;
    }
    GstElement* scale = add(gst::kYuvScaleElement, n + "_scale", error);
    GstElement* size = add("capsfilter", n + "_size", error);
    GstElement* rtee = add("tee", n + "_tee", error);
    GstElement* valve = add("valve", n + "_valve", error);
    GstElement* q = add("queue", n + "_queue", error);
    GstElement* enc = add("x264enc", n + "_enc", error);
    GstElement* out = add("capsfilter", n + "_out", error);
    GstElement* sink = add("appsink", n + "_sink", error);
    if (!error.empty()) return false;
    set_caps(size, "video/x-raw,width=" + std::to_string(r->plan.width) + ",height=" +
                       std::to_string(r->plan.height) + ",pixel-aspect-ratio=1/1");
    gst_util_set_object_arg(G_OBJECT(valve), "drop-mode", "forward-sticky-events");
    // Blocking until the encoder's first output (x264's start-up on a busy machine outlasts 8 frames and
    // would cost the rung its first frames, or its first keyframe's place); leaky from then on (on_sample).
    leaky_queue(q, static_cast<guint>(options_.encoder_queue_frames), false);
    // A leaky queue that is full drops its oldest frame right after "overrun" (a blocking one just waits).
    if (options_.drop_when_late) g_signal_connect(q, "overrun", G_CALLBACK(queue_overrun_cb), r.get());
    gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", spec_.x264_preset.c_str());
    gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
    const int fps = source_.fps_num > 0 && source_.fps_den > 0 ? (source_.fps_num + source_.fps_den - 1) / source_.fps_den : 30;
    // One encoding thread per rung up to 720p30's pixel rate (one core encodes a 720p frame at veryfast in
    // ~7 ms here): zerolatency's sliced threads wake every thread for every frame of every rung, and the
    // rungs and the decoder run side by side anyway. perf, one 720p studio: the kernel's scheduling was 7.5 %
    // of the server's CPU with x264's automatic threads, 3.7 % with one (scripts/bench/NOTES.md). Larger or
    // faster rungs keep the automatic (sliced) threads, so one frame's encoding stays well within its interval.
    const int64_t pixel_rate = static_cast<int64_t>(r->plan.width) * r->plan.height * fps;
    const guint threads = pixel_rate <= int64_t{1280} * 720 * 30 ? 1u : 0u;
    g_object_set(enc, "bitrate", static_cast<guint>(r->plan.spec.bitrate_kbps), "vbv-buf-capacity",
                 static_cast<guint>(spec_.vbv_ms), "key-int-max", static_cast<guint>(fps * 10), "bframes", 0u,
                 "threads", threads, "option-string", "scenecut=0", nullptr);
    set_caps(out, "video/x-h264,stream-format=avc,alignment=au");
    make_appsink(sink, r.get());
    GstElement* from = feed;
    for (const Made& m : made)
      if (m.width == 2 * r->plan.width && m.height == 2 * r->plan.height) from = m.tee;
    if (!gst_element_link_many(from, scale, size, rtee, nullptr) ||
        !gst_element_link_many(rtee, valve, q, enc, out, sink, nullptr))
      return error = "cannot link rung " + n, false;
    auto encpad = gst::GstRef<GstPad>::adopt(gst_element_get_static_pad(enc, "sink"));
    gst_pad_add_probe(encpad.get(), GST_PAD_PROBE_TYPE_BUFFER, encoder_probe_cb, r.get(), nullptr);
    r->valve = valve;
    r->queue = q;
    made.push_back({rtee, r->plan.width, r->plan.height});
    feed = rtee;
  }
  if (poster_ && !build_poster(tee, error)) return false;
  return true;
}

bool Ladder::build_poster(GstElement* tee, std::string& error) {
  GstElement* q = add("queue", "poster_queue", error);
  GstElement* scale = add("videoscale", "poster_scale", error);
  GstElement* size = add("capsfilter", "poster_size", error);
  GstElement* jpeg = add("jpegenc", "poster_jpeg", error);
  GstElement* sink = add("appsink", "poster_sink", error);
  if (!error.empty()) return false;
  leaky_queue(q, 1, true);  // the poster never holds anything up, also in tests
  int w = std::min(spec_.poster_width, source_.width > 0 ? source_.width : spec_.poster_width);
  w = std::max(2, w / 2 * 2);
  int h = source_.width > 0 ? std::max(2, static_cast<int>(static_cast<int64_t>(w) * source_.height / source_.width) / 2 * 2) : w * 9 / 16;
  set_caps(size, "video/x-raw,width=" + std::to_string(w) + ",height=" + std::to_string(h) + ",pixel-aspect-ratio=1/1");
  g_object_set(jpeg, "quality", 80, nullptr);
  make_appsink(sink, poster_);
  if (!gst_element_link_many(tee, q, scale, size, jpeg, sink, nullptr)) return error = "cannot link the poster", false;
  // Frames between posters are dropped in front of the queue: its thread wakes once per poster.
  auto qpad = gst::GstRef<GstPad>::adopt(gst_element_get_static_pad(q, "sink"));
  gst_pad_add_probe(qpad.get(), GST_PAD_PROBE_TYPE_BUFFER, poster_probe_cb, this, nullptr);
  poster_->plan.width = w;
  poster_->plan.height = h;
  return true;
}

bool Ladder::build_audio(std::string& error) {
  const std::string decoder = audio_decoder_for(source_.audio_codec);
  if (decoder.empty()) {
    error = "no decoder for audio codec '" + source_.audio_codec + "'";
    return false;
  }
  Rung* rung = nullptr;
  for (auto& r : rung_state_)
    if (r->plan.spec.audio_only) rung = r.get();
  const char* encoder = "voaacenc";  // packaged, cheap; avenc_aac would load gst-libav (see above)
  asrc_ = add("appsrc", "asrc", error);
  GstElement* dec = add(decoder.c_str(), "adec", error);
  GstElement* convert = add("audioconvert", "aconvert", error);
  GstElement* resample = add("audioresample", "aresample", error);
  GstElement* raw = add("capsfilter", "araw", error);
  GstElement* q = add("queue", "audio_queue", error);
  GstElement* enc = add(encoder, "aenc", error);
  GstElement* out = add("capsfilter", "aout", error);
  GstElement* sink = add("appsink", "audio_sink", error);
  if (!error.empty()) return false;
  auto caps = gst::GstRef<GstCaps>::adopt(audio_input_caps(source_));
  if (!caps) return error = "bad audio caps '" + source_.audio_caps + "'", false;
  make_appsrc(asrc_, caps.get());
  set_caps(raw, "audio/x-raw,channels=[1," + std::to_string(std::max(1, spec_.audio_channels_max)) + "]");
  leaky_queue(q, 64, false);  // leaky once warm (on_sample)
  if (options_.drop_when_late) g_signal_connect(q, "overrun", G_CALLBACK(queue_overrun_cb), rung);
  g_object_set(enc, "bitrate", rung->plan.spec.bitrate_kbps * 1000, nullptr);
  set_caps(out, "audio/mpeg,mpegversion=4,stream-format=raw");
  make_appsink(sink, rung);
  // MP3 from RTMP may bring several frames per unit: mpegaudioparse makes them single frames again.
  GstElement* head = asrc_;
  if (source_.audio_codec == "mp3" || source_.audio_codec == "mp2") {
    GstElement* parse = add("mpegaudioparse", "aparse", error);
    if (!parse || !gst_element_link(asrc_, parse)) return error = error.empty() ? "cannot link mpegaudioparse" : error, false;
    head = parse;
  }
  if (!gst_element_link_many(head, dec, convert, resample, raw, q, enc, out, sink, nullptr))
    return error = "cannot link the audio rung", false;
  rung->queue = q;
  return true;
}

void Ladder::reconfigure(const media::MediaFacts& source) {
  // The decoders were chosen for the first session's codecs.
  if ((vsrc_ && source.has_video && source.video_codec != source_.video_codec) ||
      (asrc_ && source.has_audio && source.audio_codec != source_.audio_codec)) {
    fail("the publisher changed codec (" + source_.video_codec + "/" + source_.audio_codec + " → " +
         source.video_codec + "/" + source.audio_codec + ")");
    return;
  }
  if (vsrc_ && source.has_video && !stopped_) {
    auto caps = gst::GstRef<GstCaps>::adopt(video_input_caps(source));
    gst_app_src_set_caps(GST_APP_SRC(vsrc_), caps.get());
    video_need_keyframe_ = true;
  }
  if (asrc_ && source.has_audio && !stopped_) {
    auto caps = gst::GstRef<GstCaps>::adopt(audio_input_caps(source));
    gst_app_src_set_caps(GST_APP_SRC(asrc_), caps.get());
  }
}

void Ladder::push(const media::AccessUnit& unit) {
  if (stopped_ || failed_) return;
  GstElement* src = unit.track == media::TrackKind::video ? vsrc_ : asrc_;
  if (!src) return;
  if (!options_.drop_when_late) {
    // Lossless (tests, offline work): wait for room instead of dropping.
    while (!stopped_ && !failed_ &&
           gst_app_src_get_current_level_bytes(GST_APP_SRC(src)) + unit.data.size() > options_.max_input_bytes)
      g_usleep(2000);
  }
  if (unit.track == media::TrackKind::video) {
    const bool full = gst_app_src_get_current_level_bytes(GST_APP_SRC(src)) + unit.data.size() > options_.max_input_bytes;
    if (full) video_need_keyframe_ = true;  // overflow policy: drop up to the next keyframe
    if (video_need_keyframe_ && (!unit.keyframe || full)) {
      input_dropped_++;
      return;
    }
    video_need_keyframe_ = false;
    if (unit.keyframe) {
      std::lock_guard lock(mutex_);
      keyframes_us_.push_back(unit.pts_us);
      while (keyframes_us_.size() > kKeyframesKept) keyframes_us_.pop_front();
    }
  } else if (gst_app_src_get_current_level_bytes(GST_APP_SRC(src)) + unit.data.size() > options_.max_input_bytes) {
    input_dropped_++;
    return;
  }
  GstBuffer* buf = bytes_buffer(unit.data);
  GST_BUFFER_PTS(buf) = static_cast<GstClockTime>(std::max<int64_t>(0, unit.pts_us)) * 1000;
  GST_BUFFER_DTS(buf) = static_cast<GstClockTime>(std::max<int64_t>(0, unit.dts_us)) * 1000;
  if (unit.duration_us > 0) GST_BUFFER_DURATION(buf) = static_cast<GstClockTime>(unit.duration_us) * 1000;
  if (!unit.keyframe) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  gst_app_src_push_buffer(GST_APP_SRC(src), buf);  // takes the buffer
  (unit.track == media::TrackKind::video ? last_video_in_us_ : last_audio_in_us_).store(unit.dts_us);
}

GstPadProbeReturn Ladder::on_encoder_input(Rung& rung, GstPad* pad, GstBuffer* buffer) {
  const int64_t pts = to_us(GST_BUFFER_PTS(buffer));
  bool force = false;
  {
    std::lock_guard lock(mutex_);
    for (int64_t k : keyframes_us_)
      if (k > rung.keyframe_cursor_us && k <= pts) force = true;
  }
  if (force) {
    // The first frame at or after a source keyframe (the very one unless a leaky queue dropped it).
    rung.keyframe_cursor_us = pts;
    gst_pad_send_event(pad, force_key_unit_event());
  }
  note_encoder_drops(rung);
  return GST_PAD_PROBE_OK;
}

void Ladder::note_encoder_drops(Rung& rung) {
  if (!options_.drop_when_late) return;
  const int64_t dropped = rung.dropped.load() + scaler_dropped_.load();
  const int64_t now = g_get_monotonic_time();
  Rung* victim = nullptr;
  int64_t fresh = 0;
  {
    std::lock_guard lock(mutex_);
    auto& times = rung.drop_times_us;
    fresh = std::max<int64_t>(0, dropped - rung.drops_seen);
    for (int64_t i = rung.drops_seen; i < dropped && times.size() < kDropFramesToDegrade; ++i) times.push_back(now);
    rung.drops_seen = dropped;
    while (!times.empty() && now - times.front() > kDropCooldownUs) times.pop_front();
    const bool degrade = times.size() >= kDropFramesToDegrade &&
                         (last_rung_drop_us_ == INT64_MIN || now - last_rung_drop_us_ >= kDropCooldownUs);
    int active_video = 0;
    for (auto& r : rung_state_) {
      if (!degrade || r->poster || r->plan.spec.audio_only || !r->active) continue;
      ++active_video;
      if (!victim) victim = r.get();  // the tallest first (rungs are sorted)
    }
    if (active_video < 2) {
      victim = nullptr;  // the last video rung stays
    } else {
      victim->active = false;
      last_rung_drop_us_ = now;
      times.clear();
    }
  }
  if (fresh > 0) listener_.on_rung_late(rung.plan.spec.name, fresh);
  if (!victim) return;
  g_object_set(victim->valve, "drop", TRUE, nullptr);
  rungs_dropped_++;
  listener_.on_rung_dropped(victim->plan.spec.name, "rung " + rung.plan.spec.name + " fell behind real time (" +
                                                        std::to_string(dropped) + " frames dropped so far)");
}

GstPadProbeReturn Ladder::on_poster_input(GstBuffer* buffer) {
  const int64_t pts = to_us(GST_BUFFER_PTS(buffer));
  const int64_t last = last_poster_us_.load();
  if (last != INT64_MIN && pts >= last && pts - last < spec_.poster_interval_s * 1'000'000LL) return GST_PAD_PROBE_DROP;
  last_poster_us_ = pts;
  return GST_PAD_PROBE_OK;
}

// Whether a queue holds no more than a couple of frames: the start-up backlog has gone through.
static bool caught_up(GstElement* queue) {
  if (!queue) return true;
  guint frames = 0;
  g_object_get(queue, "current-level-buffers", &frames, nullptr);
  return frames <= kCaughtUpFrames;
}

void Ladder::warm_up(Rung& rung, int64_t out_us) {
  ++rung.warm_frames;
  const int64_t now = g_get_monotonic_time();
  if (!rung.first_out_us) rung.first_out_us = now;
  const bool waited = now - rung.first_out_us >= options_.warm_at_most_us;
  // Caught up: its queue is (nearly) empty and its output is close behind the newest input — an empty queue
  // alone is not enough while the scaler's queue still holds a backlog (a ladder that starts with seconds of
  // buffered media, four studios at once: a 480p rung turned leaky with its queue momentarily empty and
  // dropped 10 frames of the backlog that followed).
  const int64_t in_us = (rung.plan.spec.audio_only ? last_audio_in_us_ : last_video_in_us_).load();
  const bool near_input = in_us == INT64_MIN || in_us - out_us <= kCaughtUpUs;
  if (!rung.warm.load() && rung.warm_frames >= kWarmFrames &&
      ((near_input && caught_up(rung.queue)) || waited)) {
    if (rung.queue) gst_util_set_object_arg(G_OBJECT(rung.queue), "leaky", "downstream");
    rung.warm = true;
  }
  // The scaler's queue drops once every video rung's encoder is running and it has caught up too.
  if (!rung.warm.load() || scaler_warm_.load()) return;
  for (const auto& r : rung_state_)
    if (!r->poster && !r->plan.spec.audio_only && !r->warm.load()) return;
  if (!caught_up(scale_queue_) && !waited) return;
  if (scale_queue_) gst_util_set_object_arg(G_OBJECT(scale_queue_), "leaky", "downstream");
  scaler_warm_ = true;
}

GstFlowReturn Ladder::on_sample(Rung& rung, GstAppSink* sink) {
  auto sample = gst::GstRef<GstSample>::adopt(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  if (rung.poster) {
    listener_.on_poster(buffer_bytes(buf), to_us(gst_segment_to_running_time(gst_sample_get_segment(sample.get()),
                                                                            GST_FORMAT_TIME, GST_BUFFER_PTS(buf))));
    return GST_FLOW_OK;
  }
  const bool audio = rung.plan.spec.audio_only;
  GstCaps* caps = gst_sample_get_caps(sample.get());
  if (caps != rung.last_caps.get() && !(rung.last_caps && gst_caps_is_equal(caps, rung.last_caps.get()))) {
    rung.last_caps = gst::GstRef<GstCaps>::retain(caps);
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    media::MediaFacts f;
    if (audio) {
      f.has_audio = true;
      f.audio_codec = "aac";
      gst_structure_get_int(s, "rate", &f.audio_rate);
      gst_structure_get_int(s, "channels", &f.audio_channels);
      f.audio_codec_data = codec_data(s);
    } else {
      f.has_video = true;
      f.video_codec = "h264";
      if (const char* v = gst_structure_get_string(s, "profile")) f.video_profile = v;
      if (const char* v = gst_structure_get_string(s, "level")) f.video_level = v;
      gst_structure_get_int(s, "width", &f.width);
      gst_structure_get_int(s, "height", &f.height);
      gst_structure_get_fraction(s, "framerate", &f.fps_num, &f.fps_den);
      f.video_codec_data = codec_data(s);
    }
    listener_.on_rung_facts(rung.plan.spec.name, f);
  }
  media::AccessUnit unit;
  unit.track = audio ? media::TrackKind::audio : media::TrackKind::video;
  // Running time: x264enc shifts its output timestamps by 1000 h (room for negative DTS) and its segment
  // by as much; the running time is the input's timestamp again (appsrc's segment starts at 0).
  const GstSegment* segment = gst_sample_get_segment(sample.get());
  unit.pts_us = to_us(gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf)));
  unit.dts_us = to_us(gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_DTS(buf)));
  if (unit.dts_us < 0) unit.dts_us = unit.pts_us;
  unit.duration_us = std::max<int64_t>(0, to_us(GST_BUFFER_DURATION(buf)));
  unit.keyframe = audio || !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  // Warm after its first 2 s of output (x264 and the decoder settle over the first second: with leaky queues
  // from the first output on, a 360p rung still lost a third of its frames in that second, unloaded) and once
  // its queue has caught up: the frames decoded while x264 started come through in a burst, and a queue that
  // turned leaky in the middle of it dropped 17 of them (640x360 video only, unloaded). At the latest after
  // warm_at_most_us: a machine that never catches up drops from then on, and the overload policy sees it.
  if (options_.drop_when_late && !(rung.warm.load() && scaler_warm_.load())) warm_up(rung, unit.pts_us);
  unit.data = buffer_bytes(buf);
  rung.frames++;
  {
    std::lock_guard lock(rung.stats_mutex);
    rung.recent.emplace_back(unit.pts_us, unit.data.size());
    while (rung.recent.size() > 2 && rung.recent.back().first - rung.recent.front().first > kStatsWindowUs)
      rung.recent.pop_front();
  }
  if (rung.active) listener_.on_rung_unit(rung.plan.spec.name, unit);
  return GST_FLOW_OK;
}

GstBusSyncReply Ladder::on_bus_message(GstMessage* m) {
  switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ERROR: {
      GError* err = nullptr;
      gchar* dbg = nullptr;
      gst_message_parse_error(m, &err, &dbg);
      std::string reason = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + (err ? err->message : "unknown");
      g_clear_error(&err);
      g_free(dbg);
      fail("ladder media error: " + reason);
      break;
    }
    case GST_MESSAGE_EOS: {
      {
        std::lock_guard lock(mutex_);
        eos_seen_ = true;
      }
      eos_cv_.notify_all();
      break;
    }
    default:
      break;
  }
  return GST_BUS_DROP;
}

void Ladder::fail(const std::string& reason) {
  if (failed_.exchange(true)) return;
  listener_.on_failed(reason);
  eos_cv_.notify_all();
}

void Ladder::stop(int timeout_ms) {
  if (!pipeline_ || stopped_.exchange(true)) return;
  if (timeout_ms > 0 && !failed_) {
    if (vsrc_) gst_app_src_end_of_stream(GST_APP_SRC(vsrc_));
    if (asrc_) gst_app_src_end_of_stream(GST_APP_SRC(asrc_));
    std::unique_lock lock(mutex_);
    eos_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return eos_seen_ || failed_.load(); });
  }
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  gst_bus_set_sync_handler(bus.get(), nullptr, nullptr, nullptr);
  pipeline_.reset();
  vsrc_ = asrc_ = nullptr;
}

std::vector<RungHealth> Ladder::health() const {
  std::vector<RungHealth> out;
  for (const auto& r : rung_state_) {
    if (r->poster) continue;
    RungHealth h;
    h.name = r->plan.spec.name;
    h.width = r->plan.width;
    h.height = r->plan.height;
    h.target_kbps = r->plan.spec.bitrate_kbps;
    h.active = r->active;
    h.frames = r->frames;
    h.dropped_frames = r->dropped + (r->plan.spec.audio_only ? 0 : scaler_dropped_.load());
    if (r->queue && !stopped_) {
      guint level = 0;
      g_object_get(r->queue, "current-level-buffers", &level, nullptr);
      h.queue_depth = static_cast<int>(level);
    }
    std::lock_guard lock(r->stats_mutex);
    if (r->recent.size() >= 2) {
      const double span_s = (r->recent.back().first - r->recent.front().first) / 1e6;
      size_t bytes = 0;
      for (size_t i = 0; i + 1 < r->recent.size(); ++i) bytes += r->recent[i].second;
      if (span_s > 0) {
        h.fps = (r->recent.size() - 1) / span_s;
        h.kbps = bytes * 8.0 / 1000.0 / span_s;
      }
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace sreda::pipelines
