// A WHIP publisher for tests (RFC 9725, no trickle): one webrtcbin offering H.264 (videotestsrc 320x240 →
// x264enc without B-frames → rtph264pay) and Opus (audiotestsrc → opusenc → rtpopuspay), as a browser sends.
// It POSTs its offer with all candidates to /whip/<studio> with the stream key as a Bearer token, applies the
// answer, publishes for the given time, then DELETEs its session (unless --no-delete: it just stops, as a
// browser whose network dropped). Only 127.0.0.1: libnice's candidates on loopback, HTTP to 127.0.0.1.
// --profile sends H.264 in another profile (high: as OBS's x264 may); --media-for S sends media only for the
// first S seconds after connecting (0: none at all) and then keeps the session (ICE, DTLS, RTCP) without
// media until the end, as a stuck encoder.
//
//   whip_client --port HTTP_PORT --studio ID --key KEY [--seconds N] [--keyint FRAMES] [--no-delete]
//               [--no-audio] [--no-video] [--profile constrained-baseline|baseline|main|high] [--media-for S]
//
// Output, one `name=value` per line on stdout (a test reads them): status=<POST status>, location=…,
// error=<the refusal's body>, connected=1 once ICE/DTLS connected, frames_sent=…, delete_status=…, done=1.
// Exit status: 0 when published (201) and, unless --no-delete, the DELETE answered 200; 3 when the POST was
// refused; 1 on any other failure. Built by CMake (target whip_client) or: g++ -O1 -std=c++17 whip_client.cpp
// $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-webrtc-1.0 gstreamer-sdp-1.0) -o whip_client
#include "webrtc_tool.h"  // first: it sets GST_USE_UNSTABLE_API for gst/webrtc

#include <gst/sdp/sdp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using webrtc_tool::HttpAnswer;
using webrtc_tool::one_line;

GstPromise* wait_promise(GstPromise* p) {
  gst_promise_wait(p);
  return p;
}

std::mutex candidates_mutex;
std::vector<std::string> candidates;  // "a=candidate:…" lines gathered (for an offer whose SDP lacks them)
std::atomic<int> frames{0};

void on_ice_candidate(GstElement*, guint, gchar* candidate, gpointer) {
  if (!candidate || !*candidate) return;
  std::lock_guard lock(candidates_mutex);
  candidates.push_back(std::string("a=") + candidate);
}

GstPadProbeReturn count_frames(GstPad*, GstPadProbeInfo*, gpointer) {
  frames++;
  return GST_PAD_PROBE_OK;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, seconds = 5, keyint = 3000, media_for = -1;
  std::string studio, key, profile = "constrained-baseline";
  bool del = true, audio = true, video = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--port") port = std::atoi(next().c_str());
    else if (a == "--studio") studio = next();
    else if (a == "--key") key = next();
    else if (a == "--seconds") seconds = std::atoi(next().c_str());
    else if (a == "--keyint") keyint = std::atoi(next().c_str());
    else if (a == "--no-delete") del = false;
    else if (a == "--no-audio") audio = false;
    else if (a == "--no-video") video = false;
    else if (a == "--profile") profile = next();
    else if (a == "--media-for") media_for = std::atoi(next().c_str());
    else {
      std::fprintf(stderr, "whip_client: unknown argument %s\n", a.c_str());
      return 1;
    }
  }
  if (!port || studio.empty()) {
    std::fprintf(stderr, "usage: whip_client --port P --studio ID --key KEY [--seconds N] [--keyint F] "
                         "[--no-delete] [--profile P] [--media-for S]\n");
    return 1;
  }
  setvbuf(stdout, nullptr, _IOLBF, 0);
  gst_init(&argc, &argv);
  // ultrafast turns off what makes a stream Main or High (CABAC, 8x8 transforms): x264 then says Baseline.
  const std::string preset = profile == "constrained-baseline" || profile == "baseline" ? "ultrafast" : "superfast";
  std::string launch = "webrtcbin name=w bundle-policy=max-bundle ";
  if (video)
    launch += "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 ! "
              "x264enc name=venc tune=zerolatency bframes=0 speed-preset=" + preset + " key-int-max=" +
              std::to_string(keyint) +
              " ! video/x-h264,profile=" + profile +
              " ! rtph264pay config-interval=-1 pt=96 aggregate-mode=zero-latency ! "
              "application/x-rtp,media=video,encoding-name=H264,payload=96 ! valve name=vvalve "
              "drop-mode=forward-sticky-events ! w. ";
  if (audio)
    launch += "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! opusenc ! "
              "rtpopuspay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! valve "
              "name=avalve drop-mode=forward-sticky-events ! w. ";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!pipeline) {
    std::printf("error=%s\n", err ? err->message : "cannot build the pipeline");
    return 1;
  }
  GstElement* webrtc = gst_bin_get_by_name(GST_BIN(pipeline), "w");
  // The media stops (the valves drop every packet; caps still reach webrtcbin for the offer).
  auto stop_media = [pipeline] {
    for (const char* name : {"vvalve", "avalve"})
      if (GstElement* valve = gst_bin_get_by_name(GST_BIN(pipeline), name)) {
        g_object_set(valve, "drop", TRUE, nullptr);
        gst_object_unref(valve);
      }
  };
  if (media_for == 0) stop_media();
  g_signal_connect(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), nullptr);
  if (GstElement* venc = gst_bin_get_by_name(GST_BIN(pipeline), "venc")) {
    GstPad* src = gst_element_get_static_pad(venc, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, count_frames, nullptr, nullptr);
    gst_object_unref(src);
    gst_object_unref(venc);
  }
  webrtc_tool::gather_on_loopback(webrtc);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  // A publisher only sends.
  GArray* transceivers = nullptr;
  g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
  for (guint i = 0; transceivers && i < transceivers->len; ++i)
    g_object_set(g_array_index(transceivers, GstWebRTCRTPTransceiver*, i), "direction",
                 GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
  if (transceivers) g_array_unref(transceivers);
  // The offer once both payloaders have negotiated their caps (H.264's packetization-mode, profile-level-id
  // and sprop-parameter-sets come from them), bounded.
  for (int i = 0; i < 500; ++i) {
    bool all = true;
    GstIterator* it = gst_element_iterate_sink_pads(webrtc);
    GValue v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
      GstCaps* caps = gst_pad_get_current_caps(GST_PAD(g_value_get_object(&v)));
      if (caps) gst_caps_unref(caps);
      else all = false;
      g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  GstPromise* p = wait_promise([&] {
    GstPromise* pr = gst_promise_new();
    g_signal_emit_by_name(webrtc, "create-offer", nullptr, pr);
    return pr;
  }());
  GstWebRTCSessionDescription* offer = nullptr;
  const GstStructure* reply = gst_promise_get_reply(p);
  if (reply) gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  gst_promise_unref(p);
  if (!offer) {
    std::printf("error=no offer from webrtcbin\n");
    return 1;
  }
  p = gst_promise_new();
  g_signal_emit_by_name(webrtc, "set-local-description", offer, p);
  gst_promise_wait(p);
  gst_promise_unref(p);
  gst_webrtc_session_description_free(offer);
  webrtc_tool::wait_gathering(webrtc);
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc, "local-description", &local, nullptr);
  gchar* text = gst_sdp_message_as_text(local->sdp);
  std::string sdp;
  {
    std::lock_guard lock(candidates_mutex);
    sdp = webrtc_tool::with_candidates(candidates, text);
  }
  g_free(text);
  gst_webrtc_session_description_free(local);

  HttpAnswer r = webrtc_tool::http(port, "POST", "/whip/" + studio, sdp, "application/sdp", key);
  std::printf("status=%d\n", r.status);
  if (r.status != 201) {
    std::printf("error=%s\n", one_line(r.body).c_str());
    gst_element_set_state(pipeline, GST_STATE_NULL);
    return r.status ? 3 : 1;
  }
  const std::string location = r.headers["location"];
  std::printf("location=%s\netag=%s\n", location.c_str(), r.headers["etag"].c_str());
  GstSDPMessage* answer_sdp = nullptr;
  gst_sdp_message_new_from_text(r.body.c_str(), &answer_sdp);
  GstWebRTCSessionDescription* answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, answer_sdp);
  p = gst_promise_new();
  g_signal_emit_by_name(webrtc, "set-remote-description", answer, p);
  gst_promise_wait(p);
  gst_promise_unref(p);
  gst_webrtc_session_description_free(answer);

  GstBus* bus = gst_element_get_bus(pipeline);
  bool connected = false, media_stopped = media_for == 0;
  int code = 0;
  std::chrono::steady_clock::time_point connected_at;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (connected && !media_stopped && media_for > 0 &&
        std::chrono::steady_clock::now() - connected_at >= std::chrono::seconds(media_for)) {
      stop_media();
      media_stopped = true;
      std::printf("media_stopped=1\n");
    }
    if (GstMessage* m = gst_bus_timed_pop_filtered(bus, 50 * GST_MSECOND, GST_MESSAGE_ERROR)) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      std::printf("error=%s\n", e ? e->message : "media error");
      g_clear_error(&e);
      gst_message_unref(m);
      code = 1;
      break;
    }
    GstWebRTCPeerConnectionState state;
    g_object_get(webrtc, "connection-state", &state, nullptr);
    if (!connected && state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
      connected = true;
      connected_at = std::chrono::steady_clock::now();
      std::printf("connected=1\n");
    }
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED && !media_stopped) {
      std::printf("error=the connection failed\n");
      code = 1;
      break;
    }
  }
  gst_object_unref(bus);
  std::printf("frames_sent=%d\n", frames.load());
  if (!connected && code == 0) {
    std::printf("error=never connected\n");
    code = 1;
  }
  if (del) {
    HttpAnswer d = webrtc_tool::http(port, "DELETE", location, "");
    std::printf("delete_status=%d\n", d.status);
    if (d.status != 200 && code == 0) code = 1;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(webrtc);
  gst_object_unref(pipeline);
  std::printf("done=1\n");
  return code;
}
