#include "pipelines/webrtc/webrtc_peer.h"
// Long because one webrtcbin peer serves both directions (WHIP receive, WHEP send) and the send path trims
// webrtcbin once connected (send_path.h); the per-direction parts are already in their own files.

#define GST_USE_UNSTABLE_API  // libgstwebrtc's API is marked unstable (1.22); webrtcbin's signals are stable
#include <gst/app/gstappsink.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <mutex>
#include <utility>

#include "pipelines/gst/gst_ref.h"
#include "pipelines/webrtc/feed_pad.h"
#include "pipelines/webrtc/ice_setup.h"
#include "pipelines/webrtc/send_path.h"
#include "pipelines/webrtc/webrtc_caps.h"
#include "pipelines/webrtc/webrtc_stats.h"
#include "server/core/log.h"
#include "server/media/sdp_answer.h"

namespace sreda::webrtc {

using media::TrackKind;

const char* peer_state_name(PeerState s) {
  switch (s) {
    case PeerState::connecting:
      return "connecting";
    case PeerState::connected:
      return "connected";
    case PeerState::failed:
      return "failed";
    case PeerState::closed:
      return "closed";
  }
  return "?";
}

namespace {

// A GstPromise whose reply runs `fn` (on webrtcbin's thread). The function lives as long as the promise.
GstPromise* promise(std::function<void(GstPromise*)> fn) {
  auto* heap = new std::function<void(GstPromise*)>(std::move(fn));  // NOLINT: owned by the promise
  return gst_promise_new_with_change_func(
      [](GstPromise* p, gpointer data) { (*static_cast<std::function<void(GstPromise*)>*>(data))(p); }, heap,
      [](gpointer data) { delete static_cast<std::function<void(GstPromise*)>*>(data); });
}

std::string reply_error(GstPromise* p) {
  if (gst_promise_wait(p) != GST_PROMISE_RESULT_REPLIED) return "no reply";
  const GstStructure* reply = gst_promise_get_reply(p);
  if (!reply) return "";
  GError* error = nullptr;
  if (gst_structure_has_field(reply, "error"))
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
  if (!error) return "";
  std::string message = error->message ? error->message : "unknown error";
  g_error_free(error);
  return message;
}

GstElement* make(const char* factory, const char* name = nullptr) {
  return gst_element_factory_make(factory, name);
}

}  // namespace

struct WebRtcPeer::Impl : std::enable_shared_from_this<Impl> {
  Impl(std::string n, IceSettings i, Direction d, Callbacks c)
      : name(std::move(n)), ice(std::move(i)), direction(d), cb(std::move(c)), log("webrtc " + name) {}

  const std::string name;
  const IceSettings ice;
  const Direction direction;
  const Callbacks cb;
  const core::Logger log;
  TrackChoice tracks;

  gst::GstRef<GstElement> pipeline;
  GstElement* webrtc = nullptr;  // owned by pipeline

  // Callbacks to the owner run under this mutex, each after checking `stopped`: so none runs after stop()
  // set it. Never held while calling into GStreamer (streaming threads take it).
  std::mutex mutex;
  bool stopped = false;
  std::function<void(core::Result<Answer>)> done;
  std::string answer_sdp;
  bool local_set = false, gathering_complete = false, deadline_passed = false;
  bool answer_has_fec = true;  // the answer maps RED or ULPFEC (send: webrtcbin's FEC encoders stay in the path)
  std::vector<media::LocalCandidate> candidates;
  gst::GstRef<GstCaps> last_caps[2];
  int64_t last_pts_us[2] = {-1, -1};
  gst::GstRef<GstPad> video_sink_pad;  // receive: where request_keyframe() sends its upstream event
  PeerState reported = PeerState::connecting;
  bool reported_any = false;

  // Send: per track, the pad the fan-out pushes into (linked to webrtcbin's sink pad; no element, no thread of
  // its own), its caps, and a mutex against stop(). Packets flow only once the connection is up: before,
  // webrtcbin blocks its send path until DTLS has its keys, and the pushing thread (the feed's) must not wait.
  std::mutex push_mutex[2];
  gst::GstRef<GstPad> feeds[2];
  gst::GstRef<GstCaps> feed_caps[2];
  std::atomic<bool> sending{false};
  gst::GstRef<GstClock> clock;  // the pipeline's, and its base time, once connected (under both push_mutex)
  GstClockTime base_time = 0;
  uint32_t keyframe_requests = 0;  // receive: request_keyframe() calls
  uint32_t keyframes_wanted = 0;   // send: the viewer's PLI/FIR (under mutex)

  static int index(TrackKind t) { return t == TrackKind::video ? 0 : 1; }

  core::Result<void> build();
  core::Result<void> add_receive_transceiver(TrackKind kind, int pt);
  core::Result<void> add_send_source(TrackKind kind, int pt, uint32_t ssrc);
  void set_remote(const std::string& offer_sdp);
  void on_answer_created(GstPromise* p);
  void on_candidate(guint mline, const char* candidate);
  void on_gathering_state();
  void on_connection_state();
  void on_pad_added(GstPad* pad);
  GstFlowReturn on_sample(TrackKind track, GstAppSink* sink);
  void maybe_finish_locked();
  void fail_answer(const std::string& code, const std::string& message);
  void report_state(PeerState s, const std::string& reason);
  void start_sending();
  void stop();
};

core::Result<void> WebRtcPeer::Impl::build() {
  pipeline = gst::GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(name.c_str()))));
  webrtc = make("webrtcbin", "webrtc");
  if (!webrtc) return core::Error{"webrtc_pipeline", "GStreamer element 'webrtcbin' is missing", ""};
  gst_bin_add(GST_BIN(pipeline.get()), webrtc);
  gst_util_set_object_arg(G_OBJECT(webrtc), "bundle-policy", "max-bundle");
  g_object_set(webrtc, "latency", guint(ice.jitter_latency_ms), nullptr);
  if (auto r = configure_ice(webrtc, ice); !r) return r;
  if (direction == Direction::send) skip_rtx_sender(webrtc, log);

  g_signal_connect(webrtc, "on-ice-candidate",
                   G_CALLBACK(+[](GstElement*, guint mline, gchar* c, gpointer self) {
                     static_cast<Impl*>(self)->on_candidate(mline, c);
                   }),
                   this);
  g_signal_connect(webrtc, "notify::ice-gathering-state",
                   G_CALLBACK(+[](GstElement*, GParamSpec*, gpointer self) {
                     static_cast<Impl*>(self)->on_gathering_state();
                   }),
                   this);
  g_signal_connect(webrtc, "notify::connection-state",
                   G_CALLBACK(+[](GstElement*, GParamSpec*, gpointer self) {
                     static_cast<Impl*>(self)->on_connection_state();
                   }),
                   this);
  if (direction == Direction::receive)
    g_signal_connect(webrtc, "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer self) {
                       static_cast<Impl*>(self)->on_pad_added(pad);
                     }),
                     this);
  auto bus = gst::GstRef<GstBus>::adopt(gst_pipeline_get_bus(GST_PIPELINE(pipeline.get())));
  gst_bus_set_sync_handler(
      bus.get(),
      [](GstBus*, GstMessage* m, gpointer self) -> GstBusSyncReply {
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
          GError* error = nullptr;
          gst_message_parse_error(m, &error, nullptr);
          std::string text = std::string("media error in ") + GST_OBJECT_NAME(GST_MESSAGE_SRC(m)) + ": " +
                             (error && error->message ? error->message : "unknown");
          if (error) g_error_free(error);
          auto* impl = static_cast<Impl*>(self);
          impl->log.warn(text);
          impl->report_state(PeerState::failed, text);
        }
        gst_message_unref(m);
        return GST_BUS_DROP;
      },
      this, nullptr);

  for (TrackKind kind : {TrackKind::video, TrackKind::audio}) {
    int pt = kind == TrackKind::video ? tracks.video_pt : tracks.audio_pt;
    if (pt < 0) continue;
    auto r =
        direction == Direction::receive
            ? add_receive_transceiver(kind, pt)
            : add_send_source(kind, pt, kind == TrackKind::video ? tracks.video_ssrc : tracks.audio_ssrc);
    if (!r) return r;
  }
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return core::Error{"webrtc_pipeline", "the WebRTC pipeline did not start", ""};
  // Send: the feed pads' sticky events, now that webrtcbin's sink pads take them (as an appsrc would send them
  // on starting); a pad keeps any its peer did not take and delivers it before the first packet.
  for (int i = 0; i < 2; ++i) {
    std::lock_guard lock(push_mutex[i]);
    if (!feeds[i]) continue;
    push_feed_events(feeds[i].get(), name + (i == 0 ? "/video" : "/audio"), feed_caps[i].get());
  }
  return {};
}

core::Result<void> WebRtcPeer::Impl::add_receive_transceiver(TrackKind kind, int pt) {
  auto caps = gst::GstRef<GstCaps>::adopt(codec_caps(kind, pt, tracks.twcc_extmap_id, 0));
  GstWebRTCRTPTransceiver* trans = nullptr;
  g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps.get(),
                        &trans);
  if (!trans) return core::Error{"webrtc_pipeline", "webrtcbin refused a receiving transceiver", ""};
  if (kind == TrackKind::video) g_object_set(trans, "do-nack", TRUE, nullptr);
  gst_object_unref(trans);
  return {};
}

core::Result<void> WebRtcPeer::Impl::add_send_source(TrackKind kind, int pt, uint32_t ssrc) {
  // The fan-out's thread pushes each packet through webrtcbin (rtpbin, SRTP, the UDP send) itself (feed_pad.h).
  auto caps = gst::GstRef<GstCaps>::adopt(codec_caps(kind, pt, 0, ssrc));
  const int i = index(kind);
  // feed_caps keeps the caps alive as long as the pad.
  auto src_pad = gst::GstRef<GstPad>::adopt(make_feed_pad(kind == TrackKind::video ? "video" : "audio", caps.get()));
  auto sink_pad = gst::GstRef<GstPad>::adopt(gst_element_request_pad_simple(webrtc, "sink_%u"));
  if (!sink_pad || gst_pad_link(src_pad.get(), sink_pad.get()) != GST_PAD_LINK_OK)
    return core::Error{"webrtc_pipeline", "cannot link the RTP source to webrtcbin", ""};
  GstWebRTCRTPTransceiver* trans = nullptr;
  g_object_get(sink_pad.get(), "transceiver", &trans, nullptr);
  if (!trans) return core::Error{"webrtc_pipeline", "webrtcbin's sink pad has no transceiver", ""};
  g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "codec-preferences",
               caps.get(), nullptr);
  gst_object_unref(trans);
  // The viewer's PLI/FIR: rtpsession pushes an upstream force-key-unit out of webrtcbin's sink pad.
  const TrackKind k = kind;
  gst_pad_add_probe(
      src_pad.get(), GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
      [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
        auto* pair = static_cast<std::pair<Impl*, TrackKind>*>(data);
        if (gst_video_event_is_force_key_unit(GST_PAD_PROBE_INFO_EVENT(info))) {
          std::lock_guard lock(pair->first->mutex);
          ++pair->first->keyframes_wanted;
          if (!pair->first->stopped && pair->first->cb.on_keyframe_wanted)
            pair->first->cb.on_keyframe_wanted(pair->second);
        }
        return GST_PAD_PROBE_OK;
      },
      new std::pair<Impl*, TrackKind>(this, k),  // NOLINT: owned by the probe
      [](gpointer data) { delete static_cast<std::pair<Impl*, TrackKind>*>(data); });
  std::lock_guard lock(push_mutex[i]);
  feed_caps[i] = std::move(caps);
  feeds[i] = std::move(src_pad);
  return {};
}

void WebRtcPeer::Impl::set_remote(const std::string& offer_sdp) {
  GstSDPMessage* sdp = nullptr;
  gst_sdp_message_new_from_text(offer_sdp.c_str(), &sdp);
  if (!sdp) return fail_answer("webrtc_negotiation", "the offer is not SDP webrtcbin can read");
  GstWebRTCSessionDescription* offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  std::weak_ptr<Impl> weak = weak_from_this();
  GstPromise* p = promise([weak](GstPromise* p) {
    auto self = weak.lock();
    if (!self) return;
    if (auto e = reply_error(p); !e.empty())
      return self->fail_answer("webrtc_negotiation", "the offer was refused: " + e);
    GstPromise* created = promise([weak](GstPromise* p) {
      if (auto self = weak.lock()) self->on_answer_created(p);
    });
    g_signal_emit_by_name(self->webrtc, "create-answer", nullptr, created);
    gst_promise_unref(created);
  });
  g_signal_emit_by_name(webrtc, "set-remote-description", offer, p);
  gst_promise_unref(p);
  gst_webrtc_session_description_free(offer);
}

void WebRtcPeer::Impl::on_answer_created(GstPromise* p) {
  if (auto e = reply_error(p); !e.empty())
    return fail_answer("webrtc_negotiation", "no answer to this offer: " + e);
  GstWebRTCSessionDescription* answer = nullptr;
  const GstStructure* reply = gst_promise_get_reply(p);
  if (reply) gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
  if (!answer) return fail_answer("webrtc_negotiation", "no answer to this offer (nothing in common?)");
  gchar* text = gst_sdp_message_as_text(answer->sdp);
  Answer pts;
  pts.video_pt = answer_pt(answer->sdp, "video");
  pts.audio_pt = answer_pt(answer->sdp, "audio");
  const bool fec = sdp_has_encoding(answer->sdp, "red") || sdp_has_encoding(answer->sdp, "ulpfec");
  std::weak_ptr<Impl> weak = weak_from_this();
  GstPromise* set = promise([weak, sdp = std::string(text), pts, fec](GstPromise* p) {
    auto self = weak.lock();
    if (!self) return;
    if (auto e = reply_error(p); !e.empty())
      return self->fail_answer("webrtc_negotiation", "our answer was refused: " + e);
    std::lock_guard lock(self->mutex);
    self->answer_sdp = sdp;
    self->tracks.video_pt = pts.video_pt;
    self->tracks.audio_pt = pts.audio_pt;
    self->answer_has_fec = fec;
    self->local_set = true;
    if (self->cb.run_after)
      self->cb.run_after(std::chrono::milliseconds(self->ice.gather_timeout_ms), [weak] {
        if (auto self = weak.lock()) {
          std::lock_guard lock(self->mutex);
          self->deadline_passed = true;
          self->maybe_finish_locked();
        }
      });
    self->maybe_finish_locked();
  });
  g_free(text);
  g_signal_emit_by_name(webrtc, "set-local-description", answer, set);
  gst_promise_unref(set);
  gst_webrtc_session_description_free(answer);
}

void WebRtcPeer::Impl::on_candidate(guint mline, const char* candidate) {
  std::lock_guard lock(mutex);
  if (!candidate || !*candidate) {
    gathering_complete = true;  // an empty candidate: end of candidates (newer webrtcbin)
  } else if (candidates.size() < 64) {
    candidates.push_back({int(mline), candidate});
  }
  maybe_finish_locked();
}

void WebRtcPeer::Impl::on_gathering_state() {
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) return;
  std::lock_guard lock(mutex);
  gathering_complete = true;
  maybe_finish_locked();
}

void WebRtcPeer::Impl::maybe_finish_locked() {
  if (!done || stopped || !local_set) return;
  if (!(deadline_passed || (gathering_complete && !candidates.empty()))) return;
  auto finish = std::exchange(done, nullptr);
  if (candidates.empty())
    return finish(core::Error{"webrtc_no_candidates",
                              "the server gathered no network address for WebRTC within " +
                                  std::to_string(ice.gather_timeout_ms) + " ms (see webrtc.local_addresses)",
                              ""});
  auto completed = media::complete_answer(answer_sdp, candidates, ice.public_addresses);
  if (!completed) return finish(completed.error());
  Answer a;
  a.sdp = std::move(completed->sdp);
  a.candidates = int(completed->candidates);
  a.video_pt = tracks.video_pt;
  a.audio_pt = tracks.audio_pt;
  log.info("answered with " + std::to_string(a.candidates) + " candidate(s)" +
           (gathering_complete
                ? ""
                : " (gathering not complete after " + std::to_string(ice.gather_timeout_ms) + " ms)"));
  finish(std::move(a));
}

void WebRtcPeer::Impl::fail_answer(const std::string& code, const std::string& message) {
  std::lock_guard lock(mutex);
  if (stopped || !done) return;
  log.warn(message);
  std::exchange(done, nullptr)(core::Error{code, message, ""});
}

void WebRtcPeer::Impl::report_state(PeerState s, const std::string& reason) {
  std::lock_guard lock(mutex);
  if (stopped || (reported_any && reported == s)) return;
  reported = s;
  reported_any = true;
  if (cb.on_state) cb.on_state(s, reason);
}

void WebRtcPeer::Impl::on_connection_state() {
  GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  g_object_get(webrtc, "connection-state", &state, nullptr);
  switch (state) {
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING:
      return report_state(PeerState::connecting, "");
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED:
      start_sending();
      return report_state(PeerState::connected, "");
    case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED:
      sending = false;
      return report_state(PeerState::failed, "the connection failed (no network path, or the peer vanished)");
    case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED:
      return report_state(PeerState::closed, "the connection closed");
    default:
      return;
  }
}

void WebRtcPeer::Impl::on_pad_added(GstPad* pad) {
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  auto caps = gst::GstRef<GstCaps>::adopt(gst_pad_get_current_caps(pad));
  if (!caps) caps = gst::GstRef<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s =
      caps && gst_caps_get_size(caps.get()) > 0 ? gst_caps_get_structure(caps.get(), 0) : nullptr;
  const std::string encoding = s ? caps_string(s, "encoding-name") : "";
  const bool video = encoding == "H264";
  if (!video && encoding != "OPUS") {
    log.warn("ignoring an incoming track with encoding '" + encoding + "'");
    return;
  }
  GstElement* depay = make(video ? "rtph264depay" : "rtpopusdepay");
  GstElement* parse = make(video ? "h264parse" : "opusparse");
  GstElement* filter = make("capsfilter");
  GstElement* sink = make("appsink");
  if (!depay || !parse || !filter || !sink) {
    for (GstElement* e : {depay, parse, filter, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    report_state(PeerState::failed, "a GStreamer element for the incoming track is missing");
    return;
  }
  if (video) {
    g_object_set(depay, "request-keyframe", TRUE, "wait-for-keyframe", TRUE, nullptr);
    auto want =
        gst::GstRef<GstCaps>::adopt(gst_caps_from_string("video/x-h264,stream-format=avc,alignment=au"));
    g_object_set(filter, "caps", want.get(), nullptr);
  }
  g_object_set(sink, "sync", FALSE, "max-buffers", 200u, "drop", TRUE, nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample =
      video ? +[](GstAppSink* s,
                  gpointer self) { return static_cast<Impl*>(self)->on_sample(TrackKind::video, s); }
            : +[](GstAppSink* s, gpointer self) {
                return static_cast<Impl*>(self)->on_sample(TrackKind::audio, s);
              };
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, this, nullptr);
  gst_bin_add_many(GST_BIN(pipeline.get()), depay, parse, filter, sink, nullptr);
  if (!gst_element_link_many(depay, parse, filter, sink, nullptr)) {
    report_state(PeerState::failed, "cannot link the incoming track's elements");
    return;
  }
  for (GstElement* e : {sink, filter, parse, depay}) gst_element_sync_state_with_parent(e);
  auto depay_sink = gst::GstRef<GstPad>::adopt(gst_element_get_static_pad(depay, "sink"));
  if (gst_pad_link(pad, depay_sink.get()) != GST_PAD_LINK_OK) {
    report_state(PeerState::failed, "cannot link the incoming track to its depayloader");
    return;
  }
  if (video) {
    std::lock_guard lock(mutex);
    video_sink_pad = gst::GstRef<GstPad>::adopt(gst_element_get_static_pad(sink, "sink"));
  }
  log.info(std::string("receiving ") + (video ? "H.264 video" : "Opus audio"));
}

GstFlowReturn WebRtcPeer::Impl::on_sample(TrackKind track, GstAppSink* sink) {
  auto sample = gst::GstRef<GstSample>::adopt(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buffer = gst_sample_get_buffer(sample.get());
  GstCaps* caps = gst_sample_get_caps(sample.get());
  if (!buffer || !caps) return GST_FLOW_OK;
  media::AccessUnit unit;
  unit.track = track;
  const GstSegment* segment = gst_sample_get_segment(sample.get());
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (segment && GST_CLOCK_TIME_IS_VALID(pts))
    pts = gst_segment_to_running_time(segment, GST_FORMAT_TIME, pts);
  // A unit without a timestamp: the jitter buffer released a burst (after a stall) with one repeated PTS, and
  // the parser (GstBaseParse) clears repeats. Keep the order strict: 1 ms after the track's last unit
  // (spike.md).
  unit.pts_us = GST_CLOCK_TIME_IS_VALID(pts) ? int64_t(pts / 1000) : -1;
  unit.dts_us = unit.pts_us;
  unit.keyframe = track == TrackKind::audio || !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  if (GST_BUFFER_DURATION_IS_VALID(buffer)) unit.duration_us = int64_t(GST_BUFFER_DURATION(buffer) / 1000);
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return GST_FLOW_OK;
  unit.data.assign(map.data, map.data + map.size);
  gst_buffer_unmap(buffer, &map);

  std::lock_guard lock(mutex);
  if (stopped) return GST_FLOW_FLUSHING;
  int64_t& last_pts = last_pts_us[index(track)];
  if (unit.pts_us < 0 || unit.pts_us <= last_pts) unit.pts_us = last_pts < 0 ? 0 : last_pts + 1000;
  last_pts = unit.pts_us;
  unit.dts_us = unit.pts_us;
  auto& last = last_caps[index(track)];
  if (!last || !gst_caps_is_equal(last.get(), caps)) {
    last = gst::GstRef<GstCaps>::retain(caps);
    const ReceivedFormat f = received_format(track, caps);
    if (cb.on_format) cb.on_format(f);
  }
  if (cb.on_unit) cb.on_unit(std::move(unit));
  return GST_FLOW_OK;
}

void WebRtcPeer::Impl::stop() {
  std::function<void(core::Result<Answer>)> pending;
  {
    std::lock_guard lock(mutex);
    if (stopped) return;
    stopped = true;
    pending = std::exchange(done, nullptr);
    video_sink_pad.reset();
  }
  if (pending) pending(core::Error{"webrtc_stopped", "the session ended before it was answered", ""});
  sending = false;
  gst::GstRef<GstPad> feeds_held[2];  // a push under way has finished once its mutex is ours
  for (int i = 0; i < 2; ++i) {
    std::lock_guard lock(push_mutex[i]);
    feeds_held[i] = std::move(feeds[i]);
  }
  if (!pipeline) return;
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  if (webrtc) g_signal_handlers_disconnect_by_data(webrtc, this);
  auto bus = gst::GstRef<GstBus>::adopt(gst_pipeline_get_bus(GST_PIPELINE(pipeline.get())));
  gst_bus_set_sync_handler(bus.get(), nullptr, nullptr, nullptr);
  webrtc = nullptr;
  pipeline.reset();
  for (auto& pad : feeds_held)
    if (pad) gst_pad_set_active(pad.get(), FALSE);
}

void WebRtcPeer::Impl::start_sending() {
  if (direction != Direction::send || sending) return;
  bool fec = true;
  {
    std::lock_guard lock(mutex);
    fec = answer_has_fec;
  }
  // Nothing is pushed until `sending` (below), so webrtcbin's links may change here.
  if (!fec && webrtc)
    log.debug("send path: " + std::to_string(bypass_fec_encoders(webrtc)) + " input(s) past the unused RED/ULPFEC");
  auto c = gst::GstRef<GstClock>::adopt(gst_element_get_clock(pipeline.get()));
  const GstClockTime base = gst_element_get_base_time(pipeline.get());
  std::scoped_lock lock(push_mutex[0], push_mutex[1]);
  clock = std::move(c);
  base_time = base;
  sending = clock.get() != nullptr;
}

WebRtcPeer::WebRtcPeer(std::string name, IceSettings ice, Direction direction, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(std::move(name), std::move(ice), direction, std::move(callbacks))) {}

WebRtcPeer::~WebRtcPeer() {
  stop();
}

void WebRtcPeer::answer(const std::string& offer_sdp, const TrackChoice& tracks,
                        std::function<void(core::Result<Answer>)> done) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped || impl_->pipeline) {
      done(core::Error{"webrtc_pipeline", "this peer was already used or stopped", ""});
      return;
    }
    impl_->done = std::move(done);
  }
  impl_->tracks = tracks;
  if (tracks.video_pt < 0 && tracks.audio_pt < 0)
    return impl_->fail_answer("webrtc_negotiation", "the offer has neither usable video nor audio");
  if (auto r = impl_->build(); !r) return impl_->fail_answer(r.error().code, r.error().message);
  impl_->set_remote(offer_sdp);
}

bool WebRtcPeer::push_rtp(TrackKind track, GstBuffer* rtp) {
  GstBufferList* list = gst_buffer_list_new_sized(1);
  gst_buffer_list_add(list, rtp);
  return push_rtp_list(track, list);
}

bool WebRtcPeer::push_rtp_list(TrackKind track, GstBufferList* rtp) {
  auto list = gst::GstRef<GstBufferList>::adopt(rtp);
  if (!impl_->sending) return false;
  const int i = Impl::index(track);
  std::lock_guard lock(impl_->push_mutex[i]);
  GstPad* pad = impl_->feeds[i].get();
  if (!pad || !impl_->clock) return false;
  // The feed's timestamps belong to its own pipeline's clock; webrtcbin's input clocksync would wait for them
  // (x264's start at 1000 h: forever). The packets are stamped with this pipeline's running time instead.
  const GstClockTime now = gst_clock_get_time(impl_->clock.get());
  return push_feed_list(pad, list.release(), now > impl_->base_time ? now - impl_->base_time : 0);
}

bool WebRtcPeer::sending() const {
  return impl_->sending;
}

void WebRtcPeer::request_keyframe() {
  gst::GstRef<GstPad> pad;
  uint32_t count = 0;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    pad = impl_->video_sink_pad;
    count = ++impl_->keyframe_requests;
  }
  if (!pad) return;
  // all-headers FALSE: rtpsession sends a PLI (TRUE makes it a FIR, spike.md); browsers and OBS answer
  // either.
  gst_pad_push_event(pad.get(),
                     gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, FALSE, count));
}

void WebRtcPeer::stats(std::function<void(PeerStats)> done) {
  GstElement* webrtc = nullptr;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped || !impl_->webrtc) return done(PeerStats{});
    webrtc = impl_->webrtc;
  }
  std::weak_ptr<Impl> weak = impl_;
  GstPromise* p = promise([weak, done = std::move(done)](GstPromise* p) {
    PeerStats stats;
    if (gst_promise_wait(p) == GST_PROMISE_RESULT_REPLIED) stats = sum_stats(gst_promise_get_reply(p));
    auto self = weak.lock();
    if (!self) return;
    std::lock_guard lock(self->mutex);
    stats.pli_received = self->keyframes_wanted;
    if (!self->stopped) done(stats);
  });
  g_signal_emit_by_name(webrtc, "get-stats", nullptr, p);
  gst_promise_unref(p);
}

void WebRtcPeer::stop() {
  impl_->stop();
}

}  // namespace sreda::webrtc
