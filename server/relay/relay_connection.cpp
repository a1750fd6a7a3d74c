#include "server/relay/relay_connection.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <srt/srt.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>

#include "pipelines/gst/gst_ref.h"

namespace sreda::relay {

using gst::GstRef;

namespace {

constexpr size_t kSrtPayload = 1316;  // 7 TS packets: libsrt's live-mode payload
constexpr gint64 kDrainWaitNs = 2 * GST_SECOND;
constexpr auto kStatsEvery = std::chrono::milliseconds(200);

// Feed::pads: the muxer's pads hold up to this much media (flvmux's `latency`), and the relay's thread puts
// in at most half of it ahead of what the muxer has put out, so that a push never waits. Roomy: the studio's
// audio may run ahead of a ladder rung's video by the encoder's delay.
constexpr gint64 kMuxLatencyNs = 4 * GST_SECOND;
constexpr int64_t kMuxAheadNs = kMuxLatencyNs / 2;

// A unit's bytes handed to GStreamer without a copy: the buffer owns the vector.
GstBuffer* wrap_bytes(std::vector<uint8_t>&& bytes) {
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, owned->data(), owned->size(), 0, owned->size(),
                                     owned, [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); });
}

GstRef<GstBuffer> bytes_buffer(const std::vector<uint8_t>& v) {
  return GstRef<GstBuffer>::adopt(gst_buffer_new_memdup(v.data(), v.size()));
}

GstRef<GstCaps> video_caps(const media::MediaFacts& f) {
  const bool hevc = f.video_codec == "hevc";
  auto caps = GstRef<GstCaps>::adopt(
      gst_caps_new_simple(hevc ? "video/x-h265" : "video/x-h264", "stream-format", G_TYPE_STRING,
                          hevc ? "hvc1" : "avc", "alignment", G_TYPE_STRING, "au", nullptr));
  if (!f.video_codec_data.empty()) {
    auto data = bytes_buffer(f.video_codec_data);
    gst_caps_set_simple(caps.get(), "codec_data", GST_TYPE_BUFFER, data.get(), nullptr);
  }
  if (f.width > 0 && f.height > 0)
    gst_caps_set_simple(caps.get(), "width", G_TYPE_INT, f.width, "height", G_TYPE_INT, f.height, nullptr);
  if (f.fps_num > 0)
    gst_caps_set_simple(caps.get(), "framerate", GST_TYPE_FRACTION, f.fps_num, f.fps_den, nullptr);
  return caps;
}

GstRef<GstCaps> audio_caps(const media::MediaFacts& f) {
  GstRef<GstCaps> caps;
  if (f.audio_codec == "aac") {
    caps = GstRef<GstCaps>::adopt(gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4,
                                                      "stream-format", G_TYPE_STRING, "raw", nullptr));
    if (!f.audio_codec_data.empty()) {
      auto data = bytes_buffer(f.audio_codec_data);
      gst_caps_set_simple(caps.get(), "codec_data", GST_TYPE_BUFFER, data.get(), nullptr);
    }
  } else if (f.audio_codec == "mp3") {
    caps =
        GstRef<GstCaps>::adopt(gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 1, "layer",
                                                   G_TYPE_INT, 3, "parsed", G_TYPE_BOOLEAN, TRUE, nullptr));
  } else {
    caps = GstRef<GstCaps>::adopt(gst_caps_from_string(f.audio_caps.c_str()));
    return caps;
  }
  if (f.audio_rate > 0) gst_caps_set_simple(caps.get(), "rate", G_TYPE_INT, f.audio_rate, nullptr);
  if (f.audio_channels > 0)
    gst_caps_set_simple(caps.get(), "channels", G_TYPE_INT, f.audio_channels, nullptr);
  return caps;
}

const char* parser_for(const std::string& codec) {
  if (codec == "h264") return "h264parse";
  if (codec == "hevc") return "h265parse";
  if (codec == "aac") return "aacparse";
  if (codec == "mp3" || codec == "mp2") return "mpegaudioparse";
  if (codec == "opus") return "opusparse";
  return nullptr;
}

// The relay's units into a muxer, then a sink; the relay's thread drives it. Two ways in:
// - Feed::pads (RTMP): the relay's thread pushes each unit itself through a pad of its own linked to the
//   muxer (flvmux takes AVC and raw AAC as the hub has them: the caps carry codec_data, so no parser), so the
//   only other threads are the muxer's and the sink's. A push never blocks: at most kMuxAheadNs of media
//   goes in ahead of what the muxer has put out (a pad probe notes it), and the muxer's pads hold twice that
//   (its `latency`); beyond it the unit waits in the relay's queue, and the target counts as backlogged.
// - Feed::appsrc (SRT): appsrc → parser (mpegtsmux takes H.264 as byte-stream: h264parse converts) →
//   muxer.
class MuxPipeline {
 public:
  enum class Feed { pads, appsrc };
  MuxPipeline(const RelayUrl& url) : url_(url) {}
  ~MuxPipeline() { stop(); }

  core::Result<void> build(const media::MediaFacts& f, const char* mux_name, GstElement* sink, Feed feed) {
    feed_ = feed;
    pipeline_ = GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("relay"))));
    GstElement* mux = gst_element_factory_make(mux_name, nullptr);
    if (!mux || !sink) return core::Error{"relay_failed", std::string("cannot make ") + mux_name};
    gst_bin_add_many(GST_BIN(pipeline_.get()), mux, sink, nullptr);
    if (!gst_element_link(mux, sink)) return core::Error{"relay_failed", "cannot link the muxer to its sink"};
    mux_ = mux;
    if (std::strcmp(mux_name, "flvmux") == 0) g_object_set(mux, "streamable", TRUE, nullptr);
    if (std::strcmp(mux_name, "mpegtsmux") == 0) g_object_set(mux, "alignment", 7, nullptr);
    if (feed_ == Feed::pads) {
      g_object_set(mux, "latency", static_cast<guint64>(kMuxLatencyNs), nullptr);
      auto src = GstRef<GstPad>::adopt(gst_element_get_static_pad(mux, "src"));
      gst_pad_add_probe(src.get(), GST_PAD_PROBE_TYPE_BUFFER, &MuxPipeline::on_muxed, this, nullptr);
    }
    const bool flv = std::strcmp(mux_name, "flvmux") == 0;
    if (f.has_video)
      if (auto r = add_track(f.video_codec, video_caps(f), flv ? "video" : "sink_%d", video_); !r) return r;
    if (f.has_audio)
      if (auto r = add_track(f.audio_codec, audio_caps(f), flv ? "audio" : "sink_%d", audio_); !r) return r;
    bus_ = GstRef<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
    return {};
  }

  core::Result<void> start() {
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      return error_or("the relay's pipeline did not start");
    if (feed_ == Feed::pads) {
      for (Track* t : {&video_, &audio_}) {
        if (!t->pad) continue;
        const std::string id = t == &video_ ? "relay-video" : "relay-audio";
        GstSegment segment;
        gst_segment_init(&segment, GST_FORMAT_TIME);
        if (!gst_pad_push_event(t->pad.get(), gst_event_new_stream_start(id.c_str())) ||
            !gst_pad_push_event(t->pad.get(), gst_event_new_caps(t->caps.get())) ||
            !gst_pad_push_event(t->pad.get(), gst_event_new_segment(&segment)))
          return error_or("the relay's muxer refused the stream");
      }
    }
    return {};
  }

  // Whether a unit with this decode time (since the connection's base) can go in now without waiting.
  bool can_take(int64_t dts_us) const {
    if (feed_ != Feed::pads) return true;
    const int64_t ahead_ns = int64_t{dts_us} * 1000 - muxed_ns_.load(std::memory_order_relaxed);
    return ahead_ns < kMuxAheadNs;
  }

  core::Result<void> push(media::AccessUnit&& u, int64_t base_us) {
    Track& t = u.track == media::TrackKind::video ? video_ : audio_;
    if (!t.src && !t.pad) return {};
    const bool delta = u.track == media::TrackKind::video && !u.keyframe;
    GstBuffer* buf = wrap_bytes(std::move(u.data));
    GST_BUFFER_PTS(buf) = static_cast<GstClockTime>(std::max<int64_t>(0, u.pts_us - base_us)) * 1000;
    GST_BUFFER_DTS(buf) = static_cast<GstClockTime>(std::max<int64_t>(0, u.dts_us - base_us)) * 1000;
    if (u.duration_us > 0) GST_BUFFER_DURATION(buf) = static_cast<GstClockTime>(u.duration_us) * 1000;
    if (delta) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    const GstFlowReturn flow =
        t.pad ? gst_pad_push(t.pad.get(), buf) : gst_app_src_push_buffer(GST_APP_SRC(t.src), buf);
    if (flow != GST_FLOW_OK) return error_or("the relay's pipeline stopped");
    return {};
  }

  // The first error on the bus, if any (non-blocking).
  core::Result<void> check() {
    if (!bus_) return {};
    while (auto msg = GstRef<GstMessage>::adopt(gst_bus_pop_filtered(bus_.get(), GST_MESSAGE_ERROR))) {
      return core::Error{"relay_failed", error_text(msg.get())};
    }
    return {};
  }

  // EOS into every track, then waits (bounded) for it to reach the sink.
  void drain(const std::function<void()>& while_waiting = {}) {
    if (!pipeline_) return;
    for (Track* t : {&video_, &audio_}) {
      if (t->src) gst_app_src_end_of_stream(GST_APP_SRC(t->src));
      if (t->pad) gst_pad_push_event(t->pad.get(), gst_event_new_eos());
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(kDrainWaitNs);
    while (std::chrono::steady_clock::now() < deadline) {
      auto msg = GstRef<GstMessage>::adopt(gst_bus_timed_pop_filtered(
          bus_.get(), 20 * GST_MSECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
      if (while_waiting) while_waiting();
      if (msg) break;
    }
  }

  void stop() {
    if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    for (Track* t : {&video_, &audio_}) {
      if (t->pad) gst_pad_set_active(t->pad.get(), FALSE);
      *t = Track{};
    }
    bus_.reset();
    pipeline_.reset();
  }

  uint64_t queued_in_sources() const {
    uint64_t n = 0;
    for (const Track* t : {&video_, &audio_})
      if (t->src) n += gst_app_src_get_current_level_bytes(GST_APP_SRC(t->src));
    return n;
  }

 private:
  struct Track {
    GstElement* src = nullptr;  // Feed::appsrc: owned by the pipeline
    GstRef<GstPad> pad;         // Feed::pads: ours, linked to the muxer's
    GstRef<GstCaps> caps;
  };

  static GstPadProbeReturn on_muxed(GstPad*, GstPadProbeInfo* info, gpointer self) {
    GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
    const GstClockTime ts = GST_BUFFER_DTS_OR_PTS(buf);
    if (GST_CLOCK_TIME_IS_VALID(ts))
      static_cast<MuxPipeline*>(self)->muxed_ns_.store(static_cast<int64_t>(ts), std::memory_order_relaxed);
    return GST_PAD_PROBE_OK;
  }

  // Answers the muxer's questions about our pad: its caps, and that it is not live.
  static gboolean on_query(GstPad* pad, GstObject* parent, GstQuery* query) {
    if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
      gst_query_set_latency(query, FALSE, 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    }
    if (GST_QUERY_TYPE(query) == GST_QUERY_CAPS) {
      auto* caps = static_cast<GstCaps*>(gst_pad_get_element_private(pad));
      gst_query_set_caps_result(query, caps);
      return TRUE;
    }
    return gst_pad_query_default(pad, parent, query);
  }

  core::Result<void> add_track(const std::string& codec, GstRef<GstCaps> caps, const char* mux_pad,
                               Track& track) {
    const char* parser_name = parser_for(codec);
    if (!parser_name || !caps)
      return core::Error{"relay_failed", "the codec " + codec + " cannot be relayed"};
    track.caps = caps;
    if (feed_ == Feed::pads) {
      auto sink = GstRef<GstPad>::adopt(gst_element_request_pad_simple(mux_, mux_pad));
      track.pad = GstRef<GstPad>::adopt(GST_PAD(gst_object_ref_sink(gst_pad_new(nullptr, GST_PAD_SRC))));
      gst_pad_set_element_private(track.pad.get(), track.caps.get());
      gst_pad_set_query_function(track.pad.get(), &MuxPipeline::on_query);
      if (!sink || !gst_pad_set_active(track.pad.get(), TRUE) ||
          GST_PAD_LINK_FAILED(gst_pad_link(track.pad.get(), sink.get())))
        return core::Error{"relay_failed", "the target's format cannot carry " + codec};
      return {};
    }
    GstElement* src = gst_element_factory_make("appsrc", nullptr);
    GstElement* parser = gst_element_factory_make(parser_name, nullptr);
    if (!src || !parser) return core::Error{"relay_failed", std::string("cannot make ") + parser_name};
    g_object_set(src, "caps", caps.get(), "format", GST_FORMAT_TIME, "is-live", FALSE, "block", FALSE,
                 "max-bytes", static_cast<guint64>(256u << 20), nullptr);
    if (codec == "h264" || codec == "hevc") g_object_set(parser, "config-interval", -1, nullptr);
    gst_bin_add_many(GST_BIN(pipeline_.get()), src, parser, nullptr);
    if (!gst_element_link(src, parser) || !gst_element_link(parser, mux_))
      return core::Error{"relay_failed", "the target's format cannot carry " + codec};
    track.src = src;
    return {};
  }

  core::Result<void> error_or(const std::string& fallback) {
    if (auto r = check(); !r) return r;
    return core::Error{"relay_failed", fallback};
  }

  std::string error_text(GstMessage* msg) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    std::string text = err ? err->message : "error";
    if (err) g_error_free(err);
    g_free(debug);
    return strip_secrets(text, url_);
  }

  const RelayUrl& url_;
  Feed feed_ = Feed::appsrc;
  GstRef<GstElement> pipeline_;
  GstRef<GstBus> bus_;
  GstElement* mux_ = nullptr;  // owned by the pipeline
  Track video_, audio_;
  std::atomic<int64_t> muxed_ns_{0};  // the decode time of the muxer's latest output (its streaming thread)
};

class RtmpConnection : public RelayConnection {
 public:
  RtmpConnection(RelayUrl url, boost::asio::ip::address address, media::MediaFacts facts, int timeout_s)
      : url_(std::move(url)),
        address_(address),
        facts_(std::move(facts)),
        timeout_s_(timeout_s),
        pipe_(url_) {}
  ~RtmpConnection() override { close(false); }

  core::Result<void> open() override {
    GstElement* sink = gst_element_factory_make("rtmp2sink", nullptr);
    if (!sink)
      return core::Error{"relay_failed", "rtmp2sink is missing: apt-get install gstreamer1.0-plugins-bad"};
    sink_ = GstRef<GstElement>::retain(sink);
    const std::string host = url_.scheme == Scheme::rtmps ? url_.host : address_.to_string();
    gst_util_set_object_arg(G_OBJECT(sink), "scheme", url_.scheme == Scheme::rtmps ? "rtmps" : "rtmp");
    g_object_set(sink, "host", host.c_str(), "port", url_.port, "application", url_.app.c_str(), "stream",
                 url_.key.c_str(), "timeout", static_cast<guint>(std::max(1, timeout_s_)), "async-connect",
                 TRUE, "sync", FALSE, "async", FALSE, nullptr);
    // RTMP's default chunk of 128 bytes cuts a picture into ~100 chunks, each serialized and written; OBS and
    // ffmpeg publish with 4096.
    g_object_set(sink, "chunk-size", 4096u, nullptr);
    if (auto r = pipe_.build(facts_, "flvmux", sink, MuxPipeline::Feed::pads); !r) return r;
    return pipe_.start();
  }

  bool connected() override {
    read_stats();
    return in_bytes_ > 0;
  }
  core::Result<void> push(media::AccessUnit&& unit, int64_t base_us) override {
    return pipe_.push(std::move(unit), base_us);
  }
  bool can_take(const media::AccessUnit& unit, int64_t base_us) override {
    return pipe_.can_take(unit.dts_us - base_us);
  }
  core::Result<void> poll() override {
    // The stats are a new GstStructure each time: a few times a second is enough for bytes_sent.
    const auto now = std::chrono::steady_clock::now();
    if (now - stats_read_ >= kStatsEvery) {
      stats_read_ = now;
      read_stats();
    }
    return pipe_.check();
  }
  uint64_t bytes_sent() override { return out_bytes_; }
  // What waits in the appsrcs (none on the pads path, whose gate, can_take, keeps the rest in the relay's own
  // queue). Not bytes pushed − bytes out: FLV and RTMP headers make the second run ahead of the first by ~20
  // bytes a unit, some MB an hour, and the bound would slip by as much.
  uint64_t backlog_bytes() override { return pipe_.queued_in_sources(); }
  void close(bool drain) override {
    if (drain) pipe_.drain();
    pipe_.stop();
    sink_.reset();
  }

 private:
  void read_stats() {
    if (!sink_) return;
    GstStructure* s = nullptr;
    g_object_get(sink_.get(), "stats", &s, nullptr);
    if (!s) return;
    guint64 v = 0;
    if (gst_structure_get_uint64(s, "in-bytes-total", &v)) in_bytes_ = v;
    if (gst_structure_get_uint64(s, "out-bytes-total", &v)) out_bytes_ = std::max<uint64_t>(out_bytes_, v);
    gst_structure_free(s);
  }

  RelayUrl url_;
  boost::asio::ip::address address_;
  media::MediaFacts facts_;
  int timeout_s_;
  MuxPipeline pipe_;
  GstRef<GstElement> sink_;
  uint64_t in_bytes_ = 0, out_bytes_ = 0;
  std::chrono::steady_clock::time_point stats_read_{};
};

class SrtConnection : public RelayConnection {
 public:
  SrtConnection(RelayUrl url, boost::asio::ip::address address, media::MediaFacts facts, int timeout_s,
                int latency_ms)
      : url_(std::move(url)),
        address_(address),
        facts_(std::move(facts)),
        timeout_s_(timeout_s),
        latency_ms_(url_.latency_ms > 0 ? url_.latency_ms : latency_ms),
        pipe_(url_) {}
  ~SrtConnection() override { close(false); }

  core::Result<void> open() override {
    if (srt_startup() < 0) return core::Error{"relay_failed", "libsrt did not start"};
    started_ = true;
    socket_ = srt_create_socket();
    if (socket_ == SRT_INVALID_SOCK) return srt_error("cannot make an SRT socket");
    const int yes = 1, no = 0;
    const int timeout_ms = std::max(1, timeout_s_) * 1000;
    srt_setsockflag(socket_, SRTO_SENDER, &yes, sizeof yes);
    srt_setsockflag(socket_, SRTO_CONNTIMEO, &timeout_ms, sizeof timeout_ms);
    if (latency_ms_ > 0) srt_setsockflag(socket_, SRTO_LATENCY, &latency_ms_, sizeof latency_ms_);
    if (!url_.streamid.empty() && srt_setsockflag(socket_, SRTO_STREAMID, url_.streamid.data(),
                                                  static_cast<int>(url_.streamid.size())) < 0)
      return srt_error("the streamid was refused");
    if (!url_.passphrase.empty() && srt_setsockflag(socket_, SRTO_PASSPHRASE, url_.passphrase.data(),
                                                    static_cast<int>(url_.passphrase.size())) < 0)
      return srt_error("the passphrase was refused");
    sockaddr_storage ss{};
    int len = 0;
    if (address_.is_v4()) {
      auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
      sa->sin_family = AF_INET;
      sa->sin_port = htons(static_cast<uint16_t>(url_.port));
      const auto bytes = address_.to_v4().to_bytes();
      std::memcpy(&sa->sin_addr, bytes.data(), bytes.size());
      len = sizeof(sockaddr_in);
    } else {
      auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
      sa->sin6_family = AF_INET6;
      sa->sin6_port = htons(static_cast<uint16_t>(url_.port));
      const auto bytes = address_.to_v6().to_bytes();
      std::memcpy(&sa->sin6_addr, bytes.data(), bytes.size());
      len = sizeof(sockaddr_in6);
    }
    if (srt_connect(socket_, reinterpret_cast<sockaddr*>(&ss), len) == SRT_ERROR) {
      const int reason = srt_getrejectreason(socket_);
      std::string what = srt_getlasterror_str();
      if (reason != SRT_REJ_UNKNOWN && reason != SRT_REJ_TIMEOUT)
        what += " (" + std::string(srt_rejectreason_str(reason)) + ")";
      srt_clearlasterror();
      return core::Error{"relay_failed", strip_secrets("SRT: " + what, url_)};
    }
    srt_setsockflag(socket_, SRTO_SNDSYN, &no, sizeof no);  // sends never block: what waits is backlog
    GstElement* sink = gst_element_factory_make("appsink", nullptr);
    if (!sink) return core::Error{"relay_failed", "appsink is missing"};
    g_object_set(sink, "sync", FALSE, "async", FALSE, "emit-signals", FALSE, "max-buffers", 0u, nullptr);
    appsink_ = GstRef<GstElement>::retain(sink);
    if (auto r = pipe_.build(facts_, "mpegtsmux", sink, MuxPipeline::Feed::appsrc); !r) return r;
    return pipe_.start();
  }

  bool connected() override { return socket_ != SRT_INVALID_SOCK && appsink_; }
  core::Result<void> push(media::AccessUnit&& unit, int64_t base_us) override {
    return pipe_.push(std::move(unit), base_us);
  }

  core::Result<void> poll() override {
    if (auto r = pipe_.check(); !r) return r;
    take_muxed();
    return send_pending();
  }
  uint64_t bytes_sent() override { return sent_; }
  uint64_t backlog_bytes() override { return pending_bytes_ + pipe_.queued_in_sources(); }

  void close(bool drain) override {
    if (drain && socket_ != SRT_INVALID_SOCK && appsink_) {
      pipe_.drain([this] {
        take_muxed();
        (void)send_pending();
      });
      take_muxed();
      (void)send_pending();
    }
    pipe_.stop();
    appsink_.reset();
    if (socket_ != SRT_INVALID_SOCK) srt_close(socket_);
    socket_ = SRT_INVALID_SOCK;
    if (started_) srt_cleanup();
    started_ = false;
  }

 private:
  core::Result<void> srt_error(const std::string& what) {
    std::string text = what + ": " + srt_getlasterror_str();
    srt_clearlasterror();
    return core::Error{"relay_failed", strip_secrets(text, url_)};
  }

  void take_muxed() {
    if (!appsink_) return;
    while (auto sample =
               GstRef<GstSample>::adopt(gst_app_sink_try_pull_sample(GST_APP_SINK(appsink_.get()), 0))) {
      GstBuffer* buf = gst_sample_get_buffer(sample.get());
      GstMapInfo map;
      if (!buf || !gst_buffer_map(buf, &map, GST_MAP_READ)) continue;
      for (size_t off = 0; off < map.size; off += kSrtPayload) {
        const size_t n = std::min(kSrtPayload, map.size - off);
        pending_.emplace_back(map.data + off, map.data + off + n);
        pending_bytes_ += n;
      }
      gst_buffer_unmap(buf, &map);
    }
  }

  core::Result<void> send_pending() {
    if (socket_ == SRT_INVALID_SOCK) return {};
    const SRT_SOCKSTATUS st = srt_getsockstate(socket_);
    if (st == SRTS_BROKEN || st == SRTS_CLOSED || st == SRTS_NONEXIST)
      return core::Error{"relay_failed", "SRT: the target closed the connection"};
    while (!pending_.empty()) {
      const auto& p = pending_.front();
      if (srt_send(socket_, reinterpret_cast<const char*>(p.data()), static_cast<int>(p.size())) ==
          SRT_ERROR) {
        const int code = srt_getlasterror(nullptr);
        if (code == SRT_EASYNCSND) {
          srt_clearlasterror();
          return {};  // the send buffer is full: later
        }
        return srt_error("SRT");
      }
      sent_ += p.size();
      pending_bytes_ -= p.size();
      pending_.pop_front();
    }
    return {};
  }

  RelayUrl url_;
  boost::asio::ip::address address_;
  media::MediaFacts facts_;
  int timeout_s_;
  int latency_ms_;
  MuxPipeline pipe_;
  bool started_ = false;
  SRTSOCKET socket_ = SRT_INVALID_SOCK;
  GstRef<GstElement> appsink_;
  std::deque<std::vector<uint8_t>> pending_;
  uint64_t pending_bytes_ = 0;
  uint64_t sent_ = 0;
};

}  // namespace

core::Result<void> codecs_supported(Scheme scheme, const media::MediaFacts& f) {
  const bool srt = scheme == Scheme::srt;
  if (f.has_video && f.video_codec != "h264" && !(srt && f.video_codec == "hevc"))
    return core::Error{"relay_codec", "the studio's video (" + f.video_codec + ") cannot go out over " +
                                          scheme_name(scheme) + (srt ? "" : "; SRT can carry H.265")};
  if (f.has_audio && f.audio_codec != "aac" && f.audio_codec != "mp3" && !(srt && f.audio_codec == "opus"))
    return core::Error{"relay_codec", "the studio's audio (" + f.audio_codec + ") cannot go out over " +
                                          scheme_name(scheme)};
  if (!f.has_video && !f.has_audio) return core::Error{"relay_codec", "the studio sends no media"};
  return {};
}

std::unique_ptr<RelayConnection> make_connection(const RelayUrl& url, const boost::asio::ip::address& address,
                                                 const media::MediaFacts& facts, int connect_timeout_s,
                                                 int srt_latency_ms) {
  if (url.scheme == Scheme::srt)
    return std::make_unique<SrtConnection>(url, address, facts, connect_timeout_s, srt_latency_ms);
  return std::make_unique<RtmpConnection>(url, address, facts, connect_timeout_s);
}

}  // namespace sreda::relay
