// WebRtcPeer (pipelines/webrtc/webrtc_peer.h) against a second webrtcbin in the same process, on 127.0.0.1:
//  - receive (WHIP): a browser-like sendonly offerer (x264 without B-frames + Opus) publishes to the peer: the answer
//    carries candidates only on 127.0.0.1 and only in the configured port range, H.264 units (avcC, SPS/PPS, IDR) and
//    Opus packets arrive, request_keyframe() makes the peer send a PLI and the sender encodes a new IDR;
//  - send (WHEP): the peer answers a recvonly viewer with the viewer's payload types, the RTP pushed into it is
//    decoded by the viewer, and the viewer's PLI comes out as on_keyframe_wanted.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <unistd.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pipelines/gst/av_h264_dec.h"
#include "pipelines/gst/gst_ref.h"
#include "pipelines/webrtc/ice_setup.h"
#include "pipelines/webrtc/webrtc_peer.h"

namespace sreda::webrtc {
namespace {

using gst::GstRef;
using media::TrackKind;
using namespace std::chrono_literals;

constexpr auto kDeadline = 20s;  // generous: two cores shared with other test runs

// The owner's timer of the tests: each call a thread that waits (or is told to quit).
class TestTimer {
 public:
  ~TestTimer() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    cv_.notify_all();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(threads_mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  void run_after(std::chrono::milliseconds delay, std::function<void()> fn) {
    std::lock_guard lock(threads_mutex_);
    threads_.emplace_back([this, delay, fn = std::move(fn)] {
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, delay, [this] { return quit_; })) return;
      lock.unlock();
      fn();
    });
  }

 private:
  std::mutex mutex_, threads_mutex_;
  std::condition_variable cv_;
  bool quit_ = false;
  std::vector<std::thread> threads_;
};

// Waits for `pred` (checked under the caller's mutex through `cv`) at most kDeadline.
template <class Pred>
bool wait_for(std::mutex& m, std::condition_variable& cv, Pred pred) {
  std::unique_lock lock(m);
  return cv.wait_for(lock, kDeadline, pred);
}

// For counters kept by GStreamer probes (no condition variable to wait on): checks every 20 ms until kDeadline.
template <class Pred>
bool poll_until(Pred pred) {
  const auto end = std::chrono::steady_clock::now() + kDeadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

int thread_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

int port_base() { return 40000 + int(getpid() % 200) * 50; }

IceSettings loopback_ice(int port_min, int port_max) {
  IceSettings ice;
  ice.port_min = port_min;
  ice.port_max = port_max;
  ice.local_addresses = {"127.0.0.1"};
  ice.gather_timeout_ms = 5000;
  ice.jitter_latency_ms = 100;
  return ice;
}

std::vector<std::string> candidate_lines(const std::string& sdp) {
  std::vector<std::string> out;
  std::istringstream in(sdp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("a=candidate:", 0) == 0) out.push_back(line);
  }
  return out;
}

std::string sdp_text(GstWebRTCSessionDescription* d) {
  gchar* t = gst_sdp_message_as_text(d->sdp);
  std::string s = t;
  g_free(t);
  return s;
}

GstStructure* wait_reply(GstPromise* p) {
  gst_promise_wait(p);
  return const_cast<GstStructure*>(gst_promise_get_reply(p));
}

// The other side: a webrtcbin in a test pipeline (launch string) that makes the offer, like a browser.
class RemotePeer {
 public:
  explicit RemotePeer(const std::string& launch) {
    GError* error = nullptr;
    pipeline_ = GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_parse_launch(launch.c_str(), &error))));
    if (error) {
      ADD_FAILURE() << error->message;
      g_error_free(error);
    }
    if (!GST_IS_PIPELINE(pipeline_.get())) {  // a launch line of one element gives that element alone
      GstElement* only = pipeline_.release();
      pipeline_ = GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("remote"))));
      gst_bin_add(GST_BIN(pipeline_.get()), only);
      gst_object_unref(only);
    }
    webrtc_ = gst_bin_get_by_name(GST_BIN(pipeline_.get()), "w");
    gst_object_unref(webrtc_);  // the pipeline keeps it
    auto r = configure_ice(webrtc_, loopback_ice(0, 0));
    EXPECT_TRUE(r.ok());
    g_signal_connect(webrtc_, "on-ice-candidate", G_CALLBACK(+[](GstElement*, guint, gchar* c, gpointer self) {
                       auto* me = static_cast<RemotePeer*>(self);
                       std::lock_guard lock(me->mutex_);
                       if (c && *c) me->candidates_.push_back(c);
                       else me->empty_candidate_ = true;
                       me->cv_.notify_all();
                     }), this);
    g_signal_connect(webrtc_, "notify::ice-gathering-state", G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer self) {
                       auto* me = static_cast<RemotePeer*>(self);
                       GstWebRTCICEGatheringState s;
                       g_object_get(w, "ice-gathering-state", &s, nullptr);
                       std::lock_guard lock(me->mutex_);
                       if (s == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) me->gathered_ = true;
                       me->cv_.notify_all();
                     }), this);
  }
  ~RemotePeer() { stop(); }
  void stop() {
    if (!pipeline_) return;
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    g_signal_handlers_disconnect_by_data(webrtc_, this);
    pipeline_.reset();
  }
  GstElement* element(const char* name) {
    GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline_.get()), name);
    if (e) gst_object_unref(e);
    return e;
  }
  GstElement* webrtc() { return webrtc_; }
  GstElement* pipeline() { return pipeline_.get(); }

  // Creates the offer, sets it, waits for gathering; returns its text with the candidates in it.
  std::string offer() {
    GstPromise* p = gst_promise_new();
    g_signal_emit_by_name(webrtc_, "create-offer", nullptr, p);
    GstWebRTCSessionDescription* offer = nullptr;
    gst_structure_get(wait_reply(p), "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
    gst_promise_unref(p);
    if (!offer) return "";
    g_signal_emit_by_name(webrtc_, "set-local-description", offer, nullptr);
    gst_webrtc_session_description_free(offer);
    EXPECT_TRUE(wait_for(mutex_, cv_, [&] { return gathered_ && !candidates_.empty(); }));
    GstWebRTCSessionDescription* local = nullptr;
    g_object_get(webrtc_, "local-description", &local, nullptr);
    std::string text = sdp_text(local);
    gst_webrtc_session_description_free(local);
    std::lock_guard lock(mutex_);
    std::printf("[spike] offerer: %zu candidate(s) signalled, %zu in its local-description, empty candidate: %s\n",
                candidates_.size(), candidate_lines(text).size(), empty_candidate_ ? "yes" : "no");
    if (candidate_lines(text).empty()) {  // add them to the first m-section (bundle)
      auto second = text.find("\r\nm=", text.find("\r\nm=") + 2);
      std::string add;
      for (const auto& c : candidates_) add += "\r\na=" + c;
      text.insert(second == std::string::npos ? text.size() - 2 : second, add);
    }
    return text;
  }

  bool set_answer(const std::string& answer) {
    GstSDPMessage* sdp = nullptr;
    if (gst_sdp_message_new_from_text(answer.c_str(), &sdp) != GST_SDP_OK) return false;
    auto* d = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    GstPromise* p = gst_promise_new();
    g_signal_emit_by_name(webrtc_, "set-remote-description", d, p);
    GstStructure* reply = wait_reply(p);
    bool ok = !(reply && gst_structure_has_field(reply, "error"));
    gst_promise_unref(p);
    gst_webrtc_session_description_free(d);
    return ok;
  }

  GstStructure* stats() {  // transfer full
    GstPromise* p = gst_promise_new();
    g_signal_emit_by_name(webrtc_, "get-stats", nullptr, p);
    GstStructure* s = wait_reply(p);
    GstStructure* copy = s ? gst_structure_copy(s) : nullptr;
    gst_promise_unref(p);
    return copy;
  }

 private:
  GstRef<GstElement> pipeline_;
  GstElement* webrtc_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> candidates_;
  bool gathered_ = false, empty_candidate_ = false;
};

// What a WebRtcPeer told us, collected under one mutex.
struct Observed {
  std::mutex m;
  std::condition_variable cv;
  std::vector<PeerState> states;
  std::vector<ReceivedFormat> formats;
  int video_units = 0, audio_units = 0, idr_units = 0, keyframe_wanted = 0;
  int64_t last_video_pts = -1;
  bool pts_went_back = false;
  bool answered = false;
  core::Result<Answer> answer = core::Error{"none", "no answer yet", ""};

  WebRtcPeer::Callbacks callbacks(TestTimer& timer) {
    WebRtcPeer::Callbacks cb;
    cb.on_state = [this](PeerState s, const std::string& reason) {
      std::lock_guard lock(m);
      std::printf("[peer] state %s %s\n", peer_state_name(s), reason.c_str());
      states.push_back(s);
      cv.notify_all();
    };
    cb.on_format = [this](const ReceivedFormat& f) {
      std::lock_guard lock(m);
      std::printf("[peer] format %s\n", f.caps.c_str());
      formats.push_back(f);
      cv.notify_all();
    };
    cb.on_unit = [this](media::AccessUnit u) {
      std::lock_guard lock(m);
      if (u.track == TrackKind::audio) {
        ++audio_units;
      } else {
        ++video_units;
        if (u.pts_us < last_video_pts) {
          pts_went_back = true;
          std::printf("[peer] video pts went back: %lld after %lld (unit %d)\n", (long long)u.pts_us,
                      (long long)last_video_pts, video_units);
        }
        last_video_pts = u.pts_us;
        // AVC: 4-byte lengths; an IDR is a unit with a NAL of type 5
        for (size_t i = 0; i + 4 < u.data.size();) {
          size_t len = (size_t(u.data[i]) << 24) | (size_t(u.data[i + 1]) << 16) | (size_t(u.data[i + 2]) << 8) | u.data[i + 3];
          if ((u.data[i + 4] & 0x1f) == 5) {
            ++idr_units;
            break;
          }
          i += 4 + len;
        }
      }
      cv.notify_all();
    };
    cb.on_keyframe_wanted = [this](TrackKind) {
      std::lock_guard lock(m);
      ++keyframe_wanted;
      cv.notify_all();
    };
    cb.run_after = [&timer](std::chrono::milliseconds d, std::function<void()> fn) { timer.run_after(d, std::move(fn)); };
    return cb;
  }
  std::function<void(core::Result<Answer>)> on_answer() {
    return [this](core::Result<Answer> a) {
      std::lock_guard lock(m);
      answer = std::move(a);
      answered = true;
      cv.notify_all();
    };
  }
  // The answer's text once it came (printed), checking its payload types; "" and a failure otherwise.
  std::string answer_text(int video_pt, int audio_pt) {
    if (!wait([&] { return answered; })) {
      ADD_FAILURE() << "no answer";
      return "";
    }
    std::lock_guard lock(m);
    if (!answer.ok()) {
      ADD_FAILURE() << answer.error().message;
      return "";
    }
    EXPECT_EQ(answer->video_pt, video_pt);
    EXPECT_EQ(answer->audio_pt, audio_pt);
    std::printf("[spike] answer:\n%s\n", answer->sdp.c_str());
    return answer->sdp;
  }
  template <class Pred>
  bool wait(Pred pred) {
    return wait_for(m, cv, [&] { return pred(); });
  }
  bool connected() {
    for (auto s : states)
      if (s == PeerState::connected) return true;
    return false;
  }
};

PeerStats peer_stats(WebRtcPeer& peer) {
  std::mutex m;
  std::condition_variable cv;
  bool got = false;
  PeerStats out;
  peer.stats([&](PeerStats s) {
    std::lock_guard lock(m);
    out = s;
    got = true;
    cv.notify_all();
  });
  std::unique_lock lock(m);
  cv.wait_for(lock, kDeadline, [&] { return got; });
  return out;
}

class WebRtcPeerMediaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gst_init(nullptr, nullptr);
    gst::register_av_h264_dec();
  }
};

TEST_F(WebRtcPeerMediaTest, SupportCheckFindsEverythingOnThisMachine) {
  auto problems = check_webrtc_support();
  for (const auto& p : problems) ADD_FAILURE() << p;
}

// A WHIP publish: H.264 + Opus in, keyframe on request.
TEST_F(WebRtcPeerMediaTest, ReceivesH264AndOpusFromABrowserLikeOffererAndAsksForKeyframes) {
  const int base = port_base();
  RemotePeer browser(
      "webrtcbin name=w bundle-policy=max-bundle "
      "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! w. "
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc name=enc bframes=0 tune=zerolatency speed-preset=ultrafast key-int-max=100000 ! "
      "video/x-h264,profile=constrained-baseline ! rtph264pay pt=102 config-interval=-1 aggregate-mode=zero-latency ! "
      "application/x-rtp,media=video,encoding-name=H264,payload=102 ! w.");
  std::atomic<int> sender_idr{0};
  {
    auto pad = GstRef<GstPad>::adopt(gst_element_get_static_pad(browser.element("enc"), "src"));
    gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
                      [](GstPad*, GstPadProbeInfo* info, gpointer n) {
                        if (!GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info), GST_BUFFER_FLAG_DELTA_UNIT))
                          ++*static_cast<std::atomic<int>*>(n);
                        return GST_PAD_PROBE_OK;
                      }, &sender_idr, nullptr);
  }
  ASSERT_NE(gst_element_set_state(browser.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GArray* transceivers = nullptr;
  g_signal_emit_by_name(browser.webrtc(), "get-transceivers", &transceivers);
  ASSERT_TRUE(transceivers);
  for (guint i = 0; i < transceivers->len; ++i)
    g_object_set(g_array_index(transceivers, GstWebRTCRTPTransceiver*, i), "direction",
                 GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
  g_array_unref(transceivers);
  std::string offer = browser.offer();
  ASSERT_FALSE(offer.empty());
  // Chromium offers the transport-wide-cc header extension on every m-line; webrtcbin as offerer does not.
  const std::string extmap = "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n";
  for (size_t at = offer.find("a=mid:"); at != std::string::npos; at = offer.find("a=mid:", at + extmap.size() + 1))
    offer.insert(at, extmap);
  std::printf("[spike] offer:\n%s\n", offer.c_str());

  TestTimer timer;
  Observed seen;
  const int threads_before = thread_count();
  WebRtcPeer peer("test-whip", loopback_ice(base, base + 19), Direction::receive, seen.callbacks(timer));
  TrackChoice tracks;
  tracks.video_pt = 102;
  tracks.audio_pt = 111;
  tracks.twcc_extmap_id = 3;
  peer.answer(offer, tracks, seen.on_answer());
  const std::string answer = seen.answer_text(102, 111);
  ASSERT_FALSE(answer.empty());
  auto lines = candidate_lines(answer);
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {  // a=candidate:F C TRANSPORT PRIO ADDR PORT typ TYPE
    std::istringstream w(line);
    std::string f, c, t, prio, addr, port;
    w >> f >> c >> t >> prio >> addr >> port;
    EXPECT_EQ(addr, "127.0.0.1") << line;
    EXPECT_GE(std::stoi(port), base) << line;
    EXPECT_LE(std::stoi(port), base + 19) << line;
  }
  EXPECT_NE(answer.find("a=end-of-candidates"), std::string::npos);
  EXPECT_NE(answer.find("a=recvonly"), std::string::npos);
  EXPECT_NE(answer.find("a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
            std::string::npos);
  ASSERT_TRUE(browser.set_answer(answer));

  ASSERT_TRUE(seen.wait([&] { return seen.connected(); }));
  ASSERT_TRUE(seen.wait([&] { return seen.idr_units >= 1 && seen.audio_units >= 25 && seen.video_units >= 15; }))
      << "video " << seen.video_units << " (idr " << seen.idr_units << "), audio " << seen.audio_units;
  {
    std::lock_guard lock(seen.m);
    bool video = false, audio = false;
    for (const auto& f : seen.formats) {
      if (f.track == TrackKind::video) {
        video = true;
        EXPECT_EQ(f.codec, "h264");
        EXPECT_EQ(f.width, 320);
        EXPECT_EQ(f.height, 240);
        ASSERT_GT(f.codec_data.size(), 8u);  // avcC with one SPS and one PPS
        EXPECT_EQ(f.codec_data[0], 1);
        EXPECT_NE(f.caps.find("stream-format=(string)avc"), std::string::npos);
      } else {
        audio = true;
        EXPECT_EQ(f.codec, "opus");
        EXPECT_EQ(f.rate, 48000);
      }
    }
    EXPECT_TRUE(video && audio);
    EXPECT_FALSE(seen.pts_went_back);
  }
  std::printf("[spike] threads: %d before the peer, %d with both connected\n", threads_before, thread_count());

  // A keyframe on request: the peer sends a PLI, the sender's encoder makes a new IDR that arrives.
  const int idr_sent = sender_idr.load();
  int idr_seen = 0;
  {
    std::lock_guard lock(seen.m);
    idr_seen = seen.idr_units;
  }
  EXPECT_EQ(peer_stats(peer).pli_sent, 0u);
  peer.request_keyframe();
  ASSERT_TRUE(seen.wait([&] { return seen.idr_units > idr_seen; })) << "no new IDR after request_keyframe()";
  EXPECT_GT(sender_idr.load(), idr_sent);
  PeerStats stats = peer_stats(peer);
  std::printf("[spike] receive stats: bytes %llu packets %llu lost %lld pli_sent %u fir_sent %u nack_sent %u\n",
              (unsigned long long)stats.bytes_received, (unsigned long long)stats.packets_received,
              (long long)stats.packets_lost, stats.pli_sent, stats.fir_sent, stats.nack_sent);
  EXPECT_GE(stats.pli_sent, 1u);
  EXPECT_GT(stats.bytes_received, 10000u);

  const int threads_connected = thread_count();
  peer.stop();
  std::printf("[spike] threads: the receiving peer held %d (stop released them)\n", threads_connected - thread_count());
  browser.stop();
}

// A WHEP viewer: the peer sends RTP payloaded elsewhere (once per event) with the viewer's payload types.
TEST_F(WebRtcPeerMediaTest, SendsPayloadedRtpToARecvonlyViewerThatDecodesIt) {
  const int base = port_base() + 20;
  // The viewer: recvonly H.264 (pt 98) and Opus (pt 109), decoding what arrives.
  RemotePeer viewer("webrtcbin name=w bundle-policy=max-bundle");
  std::atomic<int> decoded_frames{0}, decoded_audio{0};
  struct Decoders {
    GstElement* pipeline;
    std::atomic<int>* frames;
    std::atomic<int>* audio;
    GstRef<GstPad> video_sink;  // where the viewer asks for keyframes
    std::mutex m;
  } decoders{viewer.pipeline(), &decoded_frames, &decoded_audio, {}, {}};
  g_signal_connect(viewer.webrtc(), "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer data) {
                     auto* d = static_cast<Decoders*>(data);
                     if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
                     auto caps = GstRef<GstCaps>::adopt(gst_pad_get_current_caps(pad));
                     const bool video = caps && std::string(gst_structure_get_string(
                                                    gst_caps_get_structure(caps.get(), 0), "media")) == "video";
                     std::printf("[viewer] pad %s: %s\n", GST_PAD_NAME(pad), video ? "video" : "audio");
                     GstElement* bin = gst_parse_bin_from_description(
                         video ? "rtph264depay ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
                                 "sredaavh264dec ! fakesink name=out sync=false"
                               : "rtpopusdepay ! opusdec ! fakesink name=out sync=false",
                         TRUE, nullptr);
                     gst_bin_add(GST_BIN(d->pipeline), bin);
                     GstElement* out = gst_bin_get_by_name(GST_BIN(bin), "out");
                     auto out_pad = GstRef<GstPad>::adopt(gst_element_get_static_pad(out, "sink"));
                     gst_pad_add_probe(out_pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
                                       [](GstPad*, GstPadProbeInfo*, gpointer n) {
                                         ++*static_cast<std::atomic<int>*>(n);
                                         return GST_PAD_PROBE_OK;
                                       },
                                       video ? d->frames : d->audio, nullptr);
                     if (video) {
                       std::lock_guard lock(d->m);
                       d->video_sink = out_pad;
                     }
                     gst_object_unref(out);
                     gst_element_sync_state_with_parent(bin);
                     auto sink = GstRef<GstPad>::adopt(gst_element_get_static_pad(bin, "sink"));
                     gst_pad_link(pad, sink.get());
                   }), &decoders);
  ASSERT_NE(gst_element_set_state(viewer.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  for (const char* c : {"application/x-rtp,media=video,encoding-name=H264,payload=98,clock-rate=90000,"
                        "packetization-mode=(string)1,profile-level-id=(string)42e01f",
                        "application/x-rtp,media=audio,encoding-name=OPUS,payload=109,clock-rate=48000,"
                        "encoding-params=(string)2"}) {
    auto caps = GstRef<GstCaps>::adopt(gst_caps_from_string(c));
    GstWebRTCRTPTransceiver* t = nullptr;
    g_signal_emit_by_name(viewer.webrtc(), "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                          caps.get(), &t);
    ASSERT_TRUE(t);
    gst_object_unref(t);
  }
  const std::string offer = viewer.offer();
  ASSERT_FALSE(offer.empty());
  std::printf("[spike] viewer's offer:\n%s\n", offer.c_str());

  TestTimer timer;
  Observed seen;
  WebRtcPeer peer("test-whep", loopback_ice(base, base + 19), Direction::send, seen.callbacks(timer));
  TrackChoice tracks;
  tracks.video_pt = 98;
  tracks.audio_pt = 109;
  tracks.video_ssrc = 1111111;
  tracks.audio_ssrc = 2222222;
  peer.answer(offer, tracks, seen.on_answer());
  const std::string answer = seen.answer_text(98, 109);
  ASSERT_FALSE(answer.empty());
  EXPECT_NE(answer.find("a=sendonly"), std::string::npos);
  ASSERT_TRUE(viewer.set_answer(answer));

  // The feed: payloaded once, pushed into the peer (as the WHEP fan-out does).
  GError* error = nullptr;
  auto feed = GstRef<GstElement>::adopt(gst_parse_launch(
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc name=enc bframes=0 tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
      "rtph264pay pt=98 ssrc=1111111 config-interval=-1 aggregate-mode=zero-latency mtu=1200 ! appsink name=v sync=false "
      "audiotestsrc is-live=true ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=109 ssrc=2222222 ! "
      "appsink name=a sync=false",
      &error));
  ASSERT_FALSE(error) << error->message;
  struct Feed {
    WebRtcPeer* peer;
    TrackKind kind;
    std::atomic<int> dropped{0}, pushed{0};
  } video_feed{&peer, TrackKind::video}, audio_feed{&peer, TrackKind::audio};
  for (auto [name, f] : {std::pair{"v", &video_feed}, std::pair{"a", &audio_feed}}) {
    GstElement* sink = gst_bin_get_by_name(GST_BIN(feed.get()), name);
    GstAppSinkCallbacks cb{};
    cb.new_sample = [](GstAppSink* s, gpointer data) {
      auto* f = static_cast<Feed*>(data);
      auto sample = GstRef<GstSample>::adopt(gst_app_sink_pull_sample(s));
      if (!sample) return GST_FLOW_EOS;
      if (!f->peer->push_rtp(f->kind, gst_buffer_ref(gst_sample_get_buffer(sample.get())))) ++f->dropped;
      else ++f->pushed;
      return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, f, nullptr);
    gst_object_unref(sink);
  }
  ASSERT_NE(gst_element_set_state(feed.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);

  ASSERT_TRUE(seen.wait([&] { return seen.connected(); }));
  ASSERT_TRUE(poll_until([&] { return decoded_frames >= 30 && decoded_audio >= 25; }))
      << "decoded " << decoded_frames << " frames, " << decoded_audio << " audio buffers; video pushed "
      << video_feed.pushed << " dropped " << video_feed.dropped << ", audio pushed " << audio_feed.pushed << " dropped "
      << audio_feed.dropped << "; sent " << peer_stats(peer).packets_sent << " packets";
  // The viewer asks for a keyframe (its PLI): on_keyframe_wanted.
  {
    GstRef<GstPad> pad;
    {
      std::lock_guard lock(decoders.m);
      pad = decoders.video_sink;
    }
    ASSERT_TRUE(pad);
    gst_pad_push_event(pad.get(), gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, FALSE, 1));
  }
  ASSERT_TRUE(seen.wait([&] { return seen.keyframe_wanted >= 1; })) << "the viewer's PLI did not reach the feed";
  PeerStats stats = peer_stats(peer);
  std::printf("[spike] send stats: bytes %llu packets %llu lost %lld pli_received %u rtt %.1f ms\n",
              (unsigned long long)stats.bytes_sent, (unsigned long long)stats.packets_sent,
              (long long)stats.packets_lost, stats.pli_received, stats.round_trip_ms);
  EXPECT_GT(stats.packets_sent, 30u);
  EXPECT_GE(stats.pli_received, 1u);
  gst_element_set_state(feed.get(), GST_STATE_NULL);
  const int threads_connected = thread_count();
  peer.stop();
  std::printf("[spike] threads: the sending peer held %d (stop released them)\n", threads_connected - thread_count());
  EXPECT_FALSE(peer.push_rtp(TrackKind::video, gst_buffer_new_allocate(nullptr, 100, nullptr)));
  viewer.stop();
}

}  // namespace
}  // namespace sreda::webrtc
