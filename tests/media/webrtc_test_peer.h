// Test helpers for WebRtcPeer media tests (tests/media/webrtc_*): the other side of a connection (a webrtcbin
// in a launch-line pipeline that offers like a browser or a WHEP player, on 127.0.0.1), a recorder of a
// peer's callbacks, the owner's timer, bounded waits. Header-only; reuse it for WHIP/WHEP media tests.
#pragma once

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

#include "pipelines/gst/gst_ref.h"
#include "pipelines/webrtc/ice_setup.h"
#include "pipelines/webrtc/webrtc_peer.h"

namespace sreda::webrtc::test {

using gst::GstRef;
using media::TrackKind;
using namespace std::chrono_literals;  // NOLINT: test helpers

inline constexpr auto kDeadline = 20s;  // generous: two cores shared with other test runs

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
inline bool wait_for(std::mutex& m, std::condition_variable& cv, Pred pred) {
  std::unique_lock lock(m);
  return cv.wait_for(lock, kDeadline, pred);
}

// For counters kept by GStreamer probes (no condition variable to wait on): checks every 20 ms until
// kDeadline.
template <class Pred>
inline bool poll_until(Pred pred) {
  const auto end = std::chrono::steady_clock::now() + kDeadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

inline int thread_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

inline int port_base() {
  return 40000 + int(getpid() % 200) * 50;
}

inline IceSettings loopback_ice(int port_min, int port_max) {
  IceSettings ice;
  ice.port_min = port_min;
  ice.port_max = port_max;
  ice.local_addresses = {"127.0.0.1"};
  ice.gather_timeout_ms = 5000;
  ice.jitter_latency_ms = 100;
  return ice;
}

inline std::vector<std::string> candidate_lines(const std::string& sdp) {
  std::vector<std::string> out;
  std::istringstream in(sdp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("a=candidate:", 0) == 0) out.push_back(line);
  }
  return out;
}

inline std::string sdp_text(GstWebRTCSessionDescription* d) {
  gchar* t = gst_sdp_message_as_text(d->sdp);
  std::string s = t;
  g_free(t);
  return s;
}

inline GstStructure* wait_reply(GstPromise* p) {
  gst_promise_wait(p);
  return const_cast<GstStructure*>(gst_promise_get_reply(p));
}

// The other side: a webrtcbin in a test pipeline (launch string) that makes the offer, like a browser.
class RemotePeer {
 public:
  explicit RemotePeer(const std::string& launch) {
    GError* error = nullptr;
    pipeline_ =
        GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_parse_launch(launch.c_str(), &error))));
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
    g_signal_connect(webrtc_, "on-ice-candidate",
                     G_CALLBACK(+[](GstElement*, guint, gchar* c, gpointer self) {
                       auto* me = static_cast<RemotePeer*>(self);
                       std::lock_guard lock(me->mutex_);
                       if (c && *c)
                         me->candidates_.push_back(c);
                       else
                         me->empty_candidate_ = true;
                       me->cv_.notify_all();
                     }),
                     this);
    g_signal_connect(webrtc_, "notify::ice-gathering-state",
                     G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer self) {
                       auto* me = static_cast<RemotePeer*>(self);
                       GstWebRTCICEGatheringState s;
                       g_object_get(w, "ice-gathering-state", &s, nullptr);
                       std::lock_guard lock(me->mutex_);
                       if (s == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) me->gathered_ = true;
                       me->cv_.notify_all();
                     }),
                     this);
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

  // Adds a receive-only transceiver for RTP caps given as text; false when webrtcbin refuses them.
  bool add_recvonly(const char* caps_text) {
    auto caps = GstRef<GstCaps>::adopt(gst_caps_from_string(caps_text));
    GstWebRTCRTPTransceiver* t = nullptr;
    g_signal_emit_by_name(webrtc_, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps.get(), &t);
    if (!t) return false;
    gst_object_unref(t);
    return true;
  }

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
    std::printf(
        "[spike] offerer: %zu candidate(s) signalled, %zu in its local-description, empty candidate: %s\n",
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
          size_t len = (size_t(u.data[i]) << 24) | (size_t(u.data[i + 1]) << 16) |
                       (size_t(u.data[i + 2]) << 8) | u.data[i + 3];
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
    cb.run_after = [&timer](std::chrono::milliseconds d, std::function<void()> fn) {
      timer.run_after(d, std::move(fn));
    };
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

inline PeerStats peer_stats(WebRtcPeer& peer) {
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

}  // namespace sreda::webrtc::test
