// A WHEP viewer for tests and the bench (draft-ietf-wish-whep, no trickle): recv-only webrtcbins offering H.264
// (payload type 102, on purpose not the server feed's 96: the server must write each viewer's own) and Opus
// (111). Each POSTs its offer with all candidates to /whep/<event>, applies the answer, receives for the given
// time, then DELETEs its session. One viewer decodes (rtph264depay → h264parse → avdec_h264; rtpopusdepay →
// opusdec) and counts pictures and audio frames; with --viewers N (N > 1) each only counts packets (no decode),
// as the bench's load. Only 127.0.0.1: libnice's candidates on loopback, HTTP to 127.0.0.1.
//
//   whep_client --port HTTP_PORT --event ID [--seconds N] [--viewers N] [--no-delete] [--progress]
//
// Output, one `name=value` per line on stdout: status=<each POST's status> (error=<its body> when not 201),
// location=…, connected=<viewers connected>, video_frames=, audio_frames= (decoded; one viewer),
// video_packets=, audio_packets= (all viewers), video_ts_jump_ms=, audio_ts_jump_ms= (one viewer: the largest
// difference between how far the RTP timestamps moved and how much time passed, from one packet to the next:
// near 0 for a stream that only paused; hours when the timestamps jumped), delete_status=…, done=1; with
// --progress, `progress=<pictures decoded>` every second.
// Exit status: 0 when every viewer got 201 (and its DELETE 200); 3 when a POST was refused; 1 otherwise.
#include "webrtc_tool.h"  // first: it sets GST_USE_UNSTABLE_API for gst/webrtc

#include <gst/sdp/sdp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using webrtc_tool::HttpAnswer;
using webrtc_tool::one_line;

std::atomic<int> video_frames{0}, audio_frames{0}, video_packets{0}, audio_packets{0};

// The decoding viewer's RTP timestamps against the time their packets arrived (streaming threads, one per track).
struct TimestampWatch {
  int64_t rate = 90000;
  bool have = false;
  uint32_t last_ts = 0;
  int64_t last_us = 0;
  std::atomic<int64_t> max_jump_ms{0};
};
TimestampWatch video_ts, audio_ts{48000};

GstPadProbeReturn watch_cb(GstPad*, GstPadProbeInfo* info, gpointer watch) {
  auto* w = static_cast<TimestampWatch*>(watch);
  uint8_t head[8];
  if (gst_buffer_extract(GST_PAD_PROBE_INFO_BUFFER(info), 0, head, sizeof head) != sizeof head) return GST_PAD_PROBE_OK;
  const uint32_t ts = uint32_t{head[4]} << 24 | uint32_t{head[5]} << 16 | uint32_t{head[6]} << 8 | head[7];
  const int64_t now = g_get_monotonic_time();
  if (w->have) {
    const int64_t moved_ms = int64_t{static_cast<int32_t>(ts - w->last_ts)} * 1000 / w->rate;
    const int64_t jump = std::llabs(moved_ms - (now - w->last_us) / 1000);
    if (jump > w->max_jump_ms) w->max_jump_ms = jump;
  }
  w->have = true;
  w->last_ts = ts;
  w->last_us = now;
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn count_cb(GstPad*, GstPadProbeInfo*, gpointer counter) {
  (*static_cast<std::atomic<int>*>(counter))++;
  return GST_PAD_PROBE_OK;
}

void count_on(GstElement* e, const char* pad, std::atomic<int>* counter) {
  GstPad* p = gst_element_get_static_pad(e, pad);
  gst_pad_add_probe(p, GST_PAD_PROBE_TYPE_BUFFER, count_cb, counter, nullptr);
  gst_object_unref(p);
}

struct Viewer {
  GstElement* pipeline = nullptr;  // the client's one pipeline (not owned)
  GstElement* webrtc = nullptr;
  bool decode = false;
  std::mutex mutex;
  std::vector<std::string> candidates;
  std::string location;
};

void on_ice_candidate(GstElement*, guint, gchar* candidate, gpointer viewer) {
  if (!candidate || !*candidate) return;
  auto* v = static_cast<Viewer*>(viewer);
  std::lock_guard lock(v->mutex);
  v->candidates.push_back(std::string("a=") + candidate);
}

// A received track: decoded (one viewer) or only counted (the bench's many).
void on_pad_added(GstElement*, GstPad* pad, gpointer viewer) {
  auto* v = static_cast<Viewer*>(viewer);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const char* media = gst_structure_get_string(s, "media");
  const bool video = media && std::string(media) == "video";
  gst_caps_unref(caps);
  std::string chain = !v->decode ? "fakesink sync=false async=false"
                      : video    ? "rtph264depay ! h264parse ! avdec_h264 name=dec ! fakesink sync=false async=false"
                                 : "rtpopusdepay ! opusdec name=dec ! fakesink sync=false async=false";
  GError* err = nullptr;
  GstElement* bin = gst_parse_bin_from_description(chain.c_str(), TRUE, &err);
  if (!bin) {
    std::printf("error=%s\n", err ? err->message : "cannot build the receiving branch");
    g_clear_error(&err);
    return;
  }
  gst_bin_add(GST_BIN(v->pipeline), bin);
  count_on(bin, "sink", video ? &video_packets : &audio_packets);
  if (v->decode)
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, watch_cb, video ? &video_ts : &audio_ts, nullptr);
  if (v->decode)
    if (GstElement* dec = gst_bin_get_by_name(GST_BIN(bin), "dec")) {
      count_on(dec, "src", video ? &video_frames : &audio_frames);
      gst_object_unref(dec);
    }
  gst_element_sync_state_with_parent(bin);
  GstPad* sink = gst_element_get_static_pad(bin, "sink");
  gst_pad_link(pad, sink);
  gst_object_unref(sink);
}

void add_transceiver(GstElement* webrtc, const char* caps_text) {
  GstCaps* caps = gst_caps_from_string(caps_text);
  GstWebRTCRTPTransceiver* t = nullptr;
  g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &t);
  gst_caps_unref(caps);
  if (t) gst_object_unref(t);
}

// Makes the viewer's offer, POSTs it, applies the answer. The POST's status (0: no answer at all).
int start_viewer(Viewer& v, int port, const std::string& event, int index) {
  v.webrtc = gst_element_factory_make("webrtcbin", ("w" + std::to_string(index)).c_str());
  g_object_set(v.webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
  gst_bin_add(GST_BIN(v.pipeline), v.webrtc);
  g_signal_connect(v.webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), &v);
  g_signal_connect(v.webrtc, "pad-added", G_CALLBACK(on_pad_added), &v);
  webrtc_tool::gather_on_loopback(v.webrtc);
  gst_element_sync_state_with_parent(v.webrtc);
  add_transceiver(v.webrtc,
                  "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=102,"
                  "packetization-mode=(string)1,profile-level-id=(string)42e01f,level-asymmetry-allowed=(string)1,"
                  "rtcp-fb-nack-pli=(boolean)true");
  add_transceiver(v.webrtc, "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,encoding-params=(string)2,"
                  "payload=111");
  GstPromise* p = gst_promise_new();
  g_signal_emit_by_name(v.webrtc, "create-offer", nullptr, p);
  gst_promise_wait(p);
  GstWebRTCSessionDescription* offer = nullptr;
  if (const GstStructure* reply = gst_promise_get_reply(p))
    gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  gst_promise_unref(p);
  if (!offer) return std::printf("error=no offer from webrtcbin\n"), 0;
  p = gst_promise_new();
  g_signal_emit_by_name(v.webrtc, "set-local-description", offer, p);
  gst_promise_wait(p);
  gst_promise_unref(p);
  gst_webrtc_session_description_free(offer);
  webrtc_tool::wait_gathering(v.webrtc);
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(v.webrtc, "local-description", &local, nullptr);
  gchar* text = gst_sdp_message_as_text(local->sdp);
  std::string sdp;
  {
    std::lock_guard lock(v.mutex);
    sdp = webrtc_tool::with_candidates(v.candidates, text);
  }
  g_free(text);
  gst_webrtc_session_description_free(local);

  HttpAnswer r = webrtc_tool::http(port, "POST", "/whep/" + event, sdp, "application/sdp");
  std::printf("status=%d\n", r.status);
  if (r.status != 201) {
    std::printf("error=%s\n", one_line(r.body).c_str());
    if (!r.headers["retry-after"].empty()) std::printf("retry_after=%s\n", r.headers["retry-after"].c_str());
    return r.status;
  }
  v.location = r.headers["location"];
  std::printf("location=%s\n", v.location.c_str());
  GstSDPMessage* answer_sdp = nullptr;
  gst_sdp_message_new_from_text(r.body.c_str(), &answer_sdp);
  GstWebRTCSessionDescription* answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, answer_sdp);
  p = gst_promise_new();
  g_signal_emit_by_name(v.webrtc, "set-remote-description", answer, p);
  gst_promise_wait(p);
  gst_promise_unref(p);
  gst_webrtc_session_description_free(answer);
  return r.status;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, seconds = 5, viewers = 1;
  std::string event;
  bool del = true, progress = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--port") port = std::atoi(next().c_str());
    else if (a == "--event") event = next();
    else if (a == "--seconds") seconds = std::atoi(next().c_str());
    else if (a == "--viewers") viewers = std::max(1, std::atoi(next().c_str()));
    else if (a == "--no-delete") del = false;
    else if (a == "--progress") progress = true;
    else return std::fprintf(stderr, "whep_client: unknown argument %s\n", a.c_str()), 1;
  }
  if (!port || event.empty())
    return std::fprintf(stderr, "usage: whep_client --port P --event ID [--seconds N] [--viewers N] [--no-delete] "
                                "[--progress]\n"), 1;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  gst_init(&argc, &argv);
  GstElement* pipeline = gst_pipeline_new("whep-client");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<std::unique_ptr<Viewer>> all;
  int code = 0;
  for (int i = 0; i < viewers; ++i) {
    auto v = std::make_unique<Viewer>();
    v->pipeline = pipeline;
    v->decode = viewers == 1;
    const int status = start_viewer(*v, port, event, i);
    all.push_back(std::move(v));
    if (status != 201) {
      code = status ? 3 : 1;
      break;
    }
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  int connected = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  auto next_progress = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (code == 0 && std::chrono::steady_clock::now() < until) {
    if (progress && std::chrono::steady_clock::now() >= next_progress) {
      std::printf("progress=%d\n", video_frames.load());
      next_progress += std::chrono::seconds(1);
    }
    if (GstMessage* m = gst_bus_timed_pop_filtered(bus, 100 * GST_MSECOND, GST_MESSAGE_ERROR)) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      std::printf("error=%s\n", e ? e->message : "media error");
      g_clear_error(&e);
      gst_message_unref(m);
      code = 1;
    }
    int now = 0;
    for (auto& v : all) {
      GstWebRTCPeerConnectionState state;
      g_object_get(v->webrtc, "connection-state", &state, nullptr);
      now += state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED;
    }
    if (now > connected) std::printf("connected=%d\n", connected = now);
  }
  gst_object_unref(bus);
  std::printf("video_frames=%d\naudio_frames=%d\nvideo_packets=%d\naudio_packets=%d\n", video_frames.load(),
              audio_frames.load(), video_packets.load(), audio_packets.load());
  std::printf("video_ts_jump_ms=%lld\naudio_ts_jump_ms=%lld\n", static_cast<long long>(video_ts.max_jump_ms.load()),
              static_cast<long long>(audio_ts.max_jump_ms.load()));
  if (code == 0 && connected < viewers) std::printf("error=only %d of %d connected\n", connected, viewers), code = 1;
  for (auto& v : all) {
    if (!del || v->location.empty()) continue;
    HttpAnswer d = webrtc_tool::http(port, "DELETE", v->location, "");
    std::printf("delete_status=%d\n", d.status);
    if (d.status != 200 && code == 0) code = 1;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  std::printf("done=1\n");
  return code;
}
