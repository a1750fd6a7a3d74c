#include "pipelines/source/source_pipeline.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

namespace sreda::pipelines {

using media::AccessUnit;
using media::TrackKind;

namespace {

GstElement* make(const char* factory, const std::string& name) {
  return gst_element_factory_make(factory, name.c_str());
}

std::vector<uint8_t> buffer_bytes(const GValue* v) {
  std::vector<uint8_t> out;
  if (!v || !GST_VALUE_HOLDS_BUFFER(v)) return out;
  GstBuffer* buf = gst_value_get_buffer(v);
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    out.assign(map.data, map.data + map.size);
    gst_buffer_unmap(buf, &map);
  }
  return out;
}

std::string caps_string(const GstStructure* s, const char* field) {
  const char* v = gst_structure_get_string(s, field);
  return v ? v : "";
}

int64_t to_us(GstClockTime t) { return GST_CLOCK_TIME_IS_VALID(t) ? static_cast<int64_t>(t / 1000) : -1; }

GstFlowReturn video_sample_cb(GstAppSink* sink, gpointer self) {
  return static_cast<SourcePipeline*>(self)->on_sample(TrackKind::video, GST_ELEMENT(sink));
}
GstFlowReturn audio_sample_cb(GstAppSink* sink, gpointer self) {
  return static_cast<SourcePipeline*>(self)->on_sample(TrackKind::audio, GST_ELEMENT(sink));
}
void pad_added_cb(GstElement*, GstPad* pad, gpointer self) { static_cast<SourcePipeline*>(self)->on_pad_added(pad); }
void no_more_pads_cb(GstElement*, gpointer self) { static_cast<SourcePipeline*>(self)->on_no_more_pads(); }
GstBusSyncReply bus_cb(GstBus*, GstMessage* m, gpointer self) {
  return static_cast<SourcePipeline*>(self)->on_bus_message(m);
}

}  // namespace

SourcePipeline::SourcePipeline(Container container, std::string name, media::SourceListener& listener,
                               size_t max_queued_bytes, size_t max_held_bytes)
    : container_(container), name_(std::move(name)), listener_(listener), max_queued_bytes_(max_queued_bytes),
      held_(kMaxHeldUnits, max_held_bytes) {}

SourcePipeline::~SourcePipeline() { stop(0); }

bool SourcePipeline::start(std::string& error) {
  pipeline_ = gst::GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(name_.c_str()))));
  GstElement* src = make("appsrc", "src");
  GstElement* demux = make(container_ == Container::flv ? "flvdemux" : "tsdemux", "demux");
  if (!src || !demux) {
    if (src) gst_object_unref(src);
    if (demux) gst_object_unref(demux);
    error = container_ == Container::flv ? "GStreamer element flvdemux or appsrc is missing"
                                         : "GStreamer element tsdemux or appsrc is missing";
    return false;
  }
  appsrc_ = src;
  auto caps = gst::GstRef<GstCaps>::adopt(container_ == Container::flv
                                               ? gst_caps_from_string("video/x-flv")
                                               : gst_caps_from_string("video/mpegts,systemstream=(boolean)true,packetsize=(int)188"));
  g_object_set(src, "caps", caps.get(), "is-live", TRUE, "format", GST_FORMAT_BYTES, "max-bytes",
               static_cast<guint64>(max_queued_bytes_), "block", FALSE, nullptr);
  gst_bin_add_many(GST_BIN(pipeline_.get()), src, demux, nullptr);
  if (!gst_element_link(src, demux)) {
    error = "cannot link appsrc to the demuxer";
    return false;
  }
  g_signal_connect(demux, "pad-added", G_CALLBACK(pad_added_cb), this);
  g_signal_connect(demux, "no-more-pads", G_CALLBACK(no_more_pads_cb), this);
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  gst_bus_set_sync_handler(bus.get(), bus_cb, this, nullptr);
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    error = "the source pipeline did not start";
    return false;
  }
  return true;
}

// What the demuxer's pad carries and how it is normalised: its parser and the caps the parser must give
// (whole access units; AVC/HEVC with the decoder configuration in codec_data, AAC raw).
struct SourcePipeline::Branch {
  TrackKind track = TrackKind::video;
  const char* codec = "";   // media::MediaFacts' name
  const char* parser = "";
  const char* caps = "";
};

bool SourcePipeline::link_branch(GstPad* pad, const Branch& branch) {
  const bool video = branch.track == TrackKind::video;
  std::string prefix = video ? "video" : "audio";
  GstElement* parse = make(branch.parser, prefix + "_parse");
  GstElement* filter = make("capsfilter", prefix + "_caps");
  GstElement* sink = make("appsink", prefix + "_sink");
  if (!parse || !filter || !sink) {
    for (GstElement* e : {parse, filter, sink})
      if (e) gst_object_unref(e);
    fail(std::string("GStreamer element ") + branch.parser + " is missing");
    return false;
  }
  // No queue: the demuxer's one streaming thread carries both tracks to the appsinks in the publisher's
  // interleaving order (appsinks never block: sync=false), so units reach consumers in order.
  auto caps = gst::GstRef<GstCaps>::adopt(gst_caps_from_string(branch.caps));
  g_object_set(filter, "caps", caps.get(), nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, "max-buffers", 200u, "drop", FALSE, nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = video ? video_sample_cb : audio_sample_cb;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, this, nullptr);
  gst_bin_add_many(GST_BIN(pipeline_.get()), parse, filter, sink, nullptr);
  if (!gst_element_link_many(parse, filter, sink, nullptr)) {
    fail("cannot link the " + prefix + " branch");
    return false;
  }
  for (GstElement* e : {sink, filter, parse}) gst_element_sync_state_with_parent(e);
  auto sinkpad = gst::GstRef<GstPad>::adopt(gst_element_get_static_pad(parse, "sink"));
  if (gst_pad_link(pad, sinkpad.get()) != GST_PAD_LINK_OK) {
    fail("cannot link the demuxer's " + prefix + " pad");
    return false;
  }
  return true;
}

void SourcePipeline::on_pad_added(GstPad* pad) {
  auto caps = gst::GstRef<GstCaps>::adopt(gst_pad_get_current_caps(pad));
  if (!caps) caps = gst::GstRef<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
  std::string media = gst_structure_get_name(s);
  int mpegversion = 0, layer = 0;
  gst_structure_get_int(s, "mpegversion", &mpegversion);
  gst_structure_get_int(s, "layer", &layer);
  // H.264/AAC go to players as they are; HEVC, Opus and MPEG audio are transcoded by the ladder.
  Branch b;
  if (media == "video/x-h264") {
    b = {TrackKind::video, "h264", "h264parse", "video/x-h264,stream-format=avc,alignment=au"};
  } else if (media == "video/x-h265") {
    b = {TrackKind::video, "hevc", "h265parse", "video/x-h265,stream-format=hvc1,alignment=au"};
  } else if (media == "audio/mpeg" && (mpegversion == 4 || mpegversion == 2)) {
    b = {TrackKind::audio, "aac", "aacparse", "audio/mpeg,mpegversion=4,stream-format=raw"};
  } else if (media == "audio/mpeg" && mpegversion == 1 && (layer == 3 || layer == 2 || layer == 0)) {
    b = {TrackKind::audio, layer == 2 ? "mp2" : "mp3", "mpegaudioparse", "audio/mpeg,mpegversion=1,parsed=true"};
  } else if (media == "audio/x-opus") {
    b = {TrackKind::audio, "opus", "opusparse", "audio/x-opus"};
  } else {
    fail("unsupported codec " + media + ": publish H.264 or HEVC video and AAC, Opus or MP3 audio");
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if ((b.track == TrackKind::video && facts_.has_video) || (b.track == TrackKind::audio && facts_.has_audio)) return;
    (b.track == TrackKind::video ? facts_.has_video : facts_.has_audio) = true;
    (b.track == TrackKind::video ? video_codec_ : audio_codec_) = b.codec;
    ++branches_;
  }
  link_branch(pad, b);
}

void SourcePipeline::on_no_more_pads() {
  std::lock_guard lock(mutex_);
  no_more_pads_ = true;
  maybe_prepared_locked();
}

GstFlowReturn SourcePipeline::on_sample(TrackKind track, GstElement* sink) {
  auto sample = gst::GstRef<GstSample>::adopt(gst_app_sink_pull_sample(GST_APP_SINK(sink)));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  AccessUnit unit;
  unit.track = track;
  unit.pts_us = to_us(GST_BUFFER_PTS(buf));
  unit.dts_us = to_us(GST_BUFFER_DTS(buf));
  if (unit.dts_us < 0) unit.dts_us = unit.pts_us;
  if (unit.pts_us < 0) unit.pts_us = unit.dts_us;
  unit.duration_us = std::max<int64_t>(0, to_us(GST_BUFFER_DURATION(buf)));
  unit.keyframe = track == TrackKind::audio || !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    unit.data.assign(map.data, map.data + map.size);
    gst_buffer_unmap(buf, &map);
  }
  std::unique_lock lock(mutex_);
  if (failed_) return GST_FLOW_ERROR;
  const bool first_caps = track == TrackKind::video ? facts_.video_codec.empty() : facts_.audio_codec.empty();
  if (first_caps) {
    GstCaps* caps = gst_sample_get_caps(sample.get());
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    gchar* caps_text = gst_caps_to_string(caps);
    if (track == TrackKind::video) {
      facts_.video_codec = video_codec_;
      facts_.video_caps = caps_text;
      facts_.video_profile = caps_string(s, "profile");
      facts_.video_level = caps_string(s, "level");
      gst_structure_get_int(s, "width", &facts_.width);
      gst_structure_get_int(s, "height", &facts_.height);
      gst_structure_get_fraction(s, "framerate", &facts_.fps_num, &facts_.fps_den);
      facts_.video_codec_data = buffer_bytes(gst_structure_get_value(s, "codec_data"));
    } else {
      facts_.audio_codec = audio_codec_;
      facts_.audio_caps = caps_text;
      gst_structure_get_int(s, "rate", &facts_.audio_rate);
      gst_structure_get_int(s, "channels", &facts_.audio_channels);
      facts_.audio_codec_data = buffer_bytes(gst_structure_get_value(s, "codec_data"));
    }
    g_free(caps_text);
    ++branches_with_caps_;
  }
  if (prepared_) {
    // A track that appeared after the facts were reported is not part of this session.
    if ((track == TrackKind::video && !facts_.has_video) || (track == TrackKind::audio && !facts_.has_audio))
      return GST_FLOW_OK;
    lock.unlock();
    listener_.on_access_unit(std::move(unit));
    return GST_FLOW_OK;
  }
  if (!held_.hold(std::move(unit))) {  // a publisher that holds the server's memory: close it
    held_bytes_exceeded_ = true;
    lock.unlock();
    fail(held_.over_bytes_reason());
    return GST_FLOW_ERROR;
  }
  maybe_prepared_locked();
  // A stream that never shows its second track (flvdemux cannot always tell): kPrepareWindowUs of media
  // is enough. tsdemux announced every track after the PMT: wait for all of them.
  const bool announced = container_ == Container::mpegts && no_more_pads_;
  if (!prepared_ && !announced && branches_with_caps_ > 0 &&
      held_.span_us() > kPrepareWindowUs) {
    prepared_ = true;
    deliver_held_locked();
  }
  return GST_FLOW_OK;
}

void SourcePipeline::maybe_prepared_locked() {
  if (prepared_ || failed_) return;
  const bool both = !facts_.video_codec.empty() && !facts_.audio_codec.empty();
  // tsdemux announces its last pad reliably (after the PMT); flvdemux's no-more-pads can come before its
  // second pad, so FLV waits for both tracks or for kPrepareWindowUs of media.
  const bool all_announced = container_ == Container::mpegts && no_more_pads_ && branches_ > 0 &&
                             branches_with_caps_ >= branches_;
  if (!both && !all_announced) return;
  prepared_ = true;
  deliver_held_locked();
}

void SourcePipeline::deliver_held_locked() {
  // Called with mutex_ held, from a streaming thread; the listener must not call back into us.
  facts_.has_video = !facts_.video_codec.empty();
  facts_.has_audio = !facts_.audio_codec.empty();
  held_.deliver(listener_, facts_);
}

void SourcePipeline::fail(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (failed_) return;
    failed_ = true;
  }
  listener_.on_failed(reason);
}

GstBusSyncReply SourcePipeline::on_bus_message(GstMessage* m) {
  switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ERROR: {
      GError* err = nullptr;
      gchar* dbg = nullptr;
      gst_message_parse_error(m, &err, &dbg);
      std::string reason = err ? err->message : "unknown media error";
      g_clear_error(&err);
      g_free(dbg);
      fail("media error: " + reason);
      break;
    }
    case GST_MESSAGE_EOS: {
      {
        std::lock_guard lock(mutex_);
        eos_seen_ = true;
      }
      eos_cv_.notify_all();
      if (!stopped_) listener_.on_eos();
      break;
    }
    default:
      break;
  }
  return GST_BUS_DROP;
}

bool SourcePipeline::push(const uint8_t* data, size_t size) {
  if (!appsrc_ || stopped_ || failed_) return false;
  if (queued_bytes() + size > max_queued_bytes_) return false;
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_fill(buf, 0, data, size);
  return gst_app_src_push_buffer(GST_APP_SRC(appsrc_), buf) == GST_FLOW_OK;  // takes the buffer
}

uint64_t SourcePipeline::queued_bytes() const {
  return appsrc_ ? gst_app_src_get_current_level_bytes(GST_APP_SRC(appsrc_)) : 0;
}

void SourcePipeline::end_of_stream() {
  if (appsrc_ && !stopped_) gst_app_src_end_of_stream(GST_APP_SRC(appsrc_));
}

void SourcePipeline::stop(int timeout_ms) {
  if (!pipeline_ || stopped_.exchange(true)) return;
  if (timeout_ms > 0 && appsrc_) {
    gst_app_src_end_of_stream(GST_APP_SRC(appsrc_));
    std::unique_lock lock(mutex_);
    eos_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return eos_seen_ || failed_; });
  }
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
  gst_bus_set_sync_handler(bus.get(), nullptr, nullptr, nullptr);
  pipeline_.reset();
  appsrc_ = nullptr;
}

}  // namespace sreda::pipelines
