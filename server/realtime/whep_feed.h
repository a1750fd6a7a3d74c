// One live event's WHEP feed: the event's access units in, RTP packets out — payloaded once for every
// real-time viewer of the event (the fan-out, whep_fanout.h, copies only their headers).
//
//   passthrough: vsrc (appsrc, H.264 AVC) ─────────────────────────────────────────────────────┐
//   encode:      vsrc → h264parse → sredaavh264dec → videoconvert → sredayuvscale (≤ height) →   │
//                queue (leaky) → x264enc (zerolatency, no B-frames, keyframes on request) →      │
//                video/x-h264,profile=constrained-baseline ───────────────────────────────────────┤
//                                   rtph264pay (pt 96, mtu 1200, SPS/PPS before every IDR) → appsink
//   audio: Opus  asrc → rtpopuspay (pt 111) → appsink; AAC/MP3: asrc → decoder → audioconvert →
//          audioresample → opusenc (20 ms, audio_kbps) → rtpopuspay → appsink
//
// Passthrough when the studio's H.264 has no B-frames and its keyframes can be asked for (a WHIP publisher:
// the service asks the hub); otherwise the encode, which is never one of the LL-HLS rungs (their keyframes
// stay on the source's). The encode's keyframes come only on request (force_keyframe(): a new viewer, a
// viewer's PLI, a viewer that lost packets), at most as often as the service's limiter lets them.
//
// A new publisher session (a reconnect, perhaps with other codecs) gets a new feed (the service rebuilds it);
// its viewers stay connected, their timestamps running on (the fan-out's new_source()).
//
// Late frames (encode): from kWarmUs after the encoder's first picture, judged a second at a time: the
// frames its leaky queue dropped in a second where it dropped at least a quarter as many as the encoder took
// are late (the encode ran below ~80 % of real time), not those of a moment's contention (its 4-frame queue
// drops a few frames whenever the machine is busy for a fifth of a second, which a tiny encode on a loaded
// 2-core machine is). The listener set with on_late() hears them, a second's at a time (the service reports
// them while the event has viewers: the overload rule, server/app/overload.h).
//
// Threads: construct, on_late(), start(), stop() on the rtc thread; push() from the event's media
// thread (one at a time, in order; appsrc never blocks it: a full input drops video to the next keyframe,
// counted); force_keyframe() from any thread; the FeedSink hears packets on the two appsinks' streaming
// threads.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "pipelines/gst/gst_ref.h"
#include "server/media/access_unit.h"
#include "server/media/facts.h"

namespace sreda::realtime {

enum class FeedMode { passthrough, encode };
const char* to_string(FeedMode mode);

struct FeedOptions {
  int max_height = 720;         // webrtc.whep_height
  int video_kbps = 1500;        // webrtc.whep_kbps
  std::string preset = "veryfast";  // webrtc.whep_preset (x264's speed preset)
  int audio_kbps = 64;          // webrtc.whep_audio_kbps
  int64_t max_input_bytes = 8 << 20;  // what may wait in each appsrc; beyond: drop to the next keyframe
};

// Where the payloaded packets go. Streaming threads (one per track); `packet` and `packets` are transfer none.
class FeedSink {
 public:
  virtual ~FeedSink() = default;
  virtual void on_rtp(media::TrackKind track, GstBuffer* packet) = 0;
  // The packets of one frame as the payloader pushed them (one RTP timestamp; the marker ends it).
  virtual void on_rtp_list(media::TrackKind track, GstBufferList* packets) {
    for (guint i = 0; i < gst_buffer_list_length(packets); ++i) on_rtp(track, gst_buffer_list_get(packets, i));
  }
  virtual void on_feed_error(const std::string& reason) = 0;
};

class WhepFeed {
 public:
  static constexpr int kVideoPt = 96;
  static constexpr int kAudioPt = 111;
  static constexpr int64_t kWarmUs = 5'000'000;  // no late frames counted this long after the first output

  // `video_ssrc`/`audio_ssrc`: kept across rebuilds of an event's feed (a viewer sees one stream).
  WhepFeed(int64_t event_id, FeedMode mode, const media::MediaFacts& facts, FeedOptions options,
           uint32_t video_ssrc, uint32_t audio_ssrc, FeedSink& sink);
  ~WhepFeed();
  WhepFeed(const WhepFeed&) = delete;
  WhepFeed& operator=(const WhepFeed&) = delete;

  // Hears the encode's late frames, a second's at a time (its queue's streaming thread). Before start().
  void on_late(std::function<void(int64_t frames)> listener) { late_listener_ = std::move(listener); }
  bool start(std::string& error);  // rtc thread
  void stop();                     // rtc thread; idempotent

  // Media thread. Video waits for a keyframe first (and after an overflow).
  void push(const media::AccessUnit& unit);
  // Encode mode: the next picture becomes an IDR with SPS/PPS. Any thread. (Passthrough: the source's
  // keyframes are asked for by the service.)
  void force_keyframe() { want_keyframe_ = true; }

  FeedMode mode() const { return mode_; }
  bool has_video() const { return vsrc_ != nullptr; }
  bool has_audio() const { return asrc_ != nullptr; }
  int width() const { return width_; }    // what viewers get (encode: the scaled size)
  int height() const { return height_; }
  int64_t input_dropped() const { return input_dropped_.load(); }
  int64_t keyframes_forced() const { return keyframes_forced_.load(); }
  int64_t late_frames() const { return late_frames_.load(); }  // see "Late frames" above

  // GStreamer callbacks (streaming threads).
  GstFlowReturn on_sample(media::TrackKind track, GstElement* appsink);
  GstPadProbeReturn on_encoder_input(GstPad* pad);
  void on_encoder_overrun();
  GstBusSyncReply on_bus_message(GstMessage* m);

 private:
  GstElement* add(const char* factory, const std::string& name, std::string& error);
  bool build_video(std::string& error);
  bool build_audio(std::string& error);

  const int64_t event_id_;
  const FeedMode mode_;
  const media::MediaFacts facts_;
  const FeedOptions options_;
  const uint32_t video_ssrc_, audio_ssrc_;
  FeedSink& sink_;
  gst::GstRef<GstElement> pipeline_;
  GstElement* vsrc_ = nullptr;  // owned by pipeline_
  GstElement* asrc_ = nullptr;
  int width_ = 0, height_ = 0;
  bool need_keyframe_ = true;  // media thread
  std::atomic<bool> want_keyframe_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> failed_{false};
  std::atomic<int64_t> input_dropped_{0};
  std::atomic<int64_t> keyframes_forced_{0};
  std::atomic<int64_t> late_frames_{0};
  std::atomic<bool> encoded_{false};  // the encode has produced its first picture …
  std::atomic<int64_t> encoded_at_us_{0};  // … then (monotonic)
  std::atomic<int64_t> encoder_took_{0};  // frames into the encoder (its thread)
  // The current second of the queue's drops (its upstream streaming thread only).
  int64_t second_start_us_ = 0, second_dropped_ = 0, second_took_at_ = 0;
  std::function<void(int64_t frames)> late_listener_;
};

// The size the encode scales a source of `width`x`height` to: at most `max_height` tall (never taller than
// the source), even sides, the source's shape.
void scaled_size(int width, int height, int max_height, int& out_width, int& out_height);

}  // namespace sreda::realtime
