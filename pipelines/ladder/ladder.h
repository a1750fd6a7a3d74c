// The adaptive bitrate ladder of one live event: the source's access units in, one encoded stream per
// rung out (plus a JPEG poster now and then).
//
//   vsrc (appsrc, H.264 AVC) → h264parse → sredaavh264dec → videoconvert → tee ─┬→ queue → [cascade] videoscale → caps → tee(720p) ─┬→ queue → valve → x264enc → appsink
//                                                               │                                                 └→ videoscale → caps → tee(480p) → …
//                                                               └→ queue → (one frame per interval) videoscale → jpegenc → appsink (poster)
//   asrc (appsrc, AAC raw) → faad → audioconvert → audioresample → voaacenc → appsink (audio rung)
//
// One decode (H.264: sredaavh264dec, libavcodec in process, one thread) and one colour conversion for
// every rung; each rung is scaled (libyuv: sredayuvscale) from the next taller one (cascade: scaling
// 720p→480p reads ~2.25× fewer pixels than 1080p→480p), or from a taller rung of exactly twice its size
// (720p→360p: libyuv's 2×2 box path), in one scaling thread; each encoder has its own thread behind its
// own queue.
//
// Keyframes: every rung forces an IDR on the first frame at or after each source keyframe (a
// GstForceKeyUnit event sent into x264enc just before that frame), x264 makes no scene-cut keyframes
// (scenecut=0) and its own GOP limit is a far fallback (key-int-max = 10 s). So every rung's keyframes
// sit on exactly the source's keyframe timestamps: the `source` rendition (passed through) and all rungs
// cut their segments at the same times and stay in one ABR group. The alternative — a fixed GOP for the
// rungs — would leave the source rendition out whenever the studio's GOP differs (OBS users set 1–4 s).
//
// Overload (drop_when_late): the queues in front of the scaler and of each encoder are leaky (they drop
// the oldest frame rather than block) once each encoder has produced its first output (x264 starting on a
// busy machine would otherwise cost a rung its first frames: a gap, and its segments' PROGRAM-DATE-TIME
// a frame off the source's), and appsrc never blocks the caller: the source rendition is never
// stalled by the ladder. A rung that drops frames is behind real time; then the tallest active rung is
// dropped (its valve closes, the listener hears on_rung_dropped) to free the CPU for the others — at most
// one rung per kDropCooldownUs, never the last video rung. Tests of exact output turn drop_when_late off
// (lossless queues that block, fed as fast as the machine goes).
//
// Cost: about ffmpeg's one decode + `split` for the same rungs (scripts/bench/ladder); the history of that
// figure (videoscale → libyuv, openh264dec → libavcodec, perf profiles) is in scripts/bench/NOTES.md (ladder).
//
// Non-H.264 / non-AAC inputs (HEVC, Opus, MP3 from SRT): the parser and decoder are chosen from the
// source's codec (video_decoder_for / audio_decoder_for: libde265dec, opusdec, mpg123audiodec), the input
// caps are the source pipeline's. Such a source has no `source` rendition, so plan_rungs() adds a rung at
// its own size (and an AAC rung when the ladder has none); everything after the decoder is the same.
// A publisher that reconnects with another codec fails the ladder (the decoders are built once).
//
// Threads: construct, start(), stop() on the control thread (never a streaming thread; sreda's LiveOutput
// posts the start there). push() and reconfigure() one call at a time, in order (the owner serialises them:
// the session's media thread, or the control thread replaying what came while the ladder started).
// LadderListener calls come on GStreamer streaming threads, one thread per rung; keep them short.
// health() from any thread.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipelines/gst/gst_ref.h"
#include "pipelines/ladder/ladder_plan.h"
#include "server/media/access_unit.h"
#include "server/media/facts.h"

namespace sreda::pipelines {

class LadderListener {
 public:
  virtual ~LadderListener() = default;
  // The rung's codec facts (only its own track is set), before its first unit, and again if they change.
  virtual void on_rung_facts(const std::string& rung, const media::MediaFacts& facts) = 0;
  virtual void on_rung_unit(const std::string& rung, const media::AccessUnit& unit) = 0;
  // The rung stopped for good (overload); `reason` is for logs and the curator.
  virtual void on_rung_dropped(const std::string& rung, const std::string& reason) = 0;
  // The rung's queue (or the scaler's, which every rung shares) dropped `frames` frames because the rung was
  // behind real time (drop_when_late only; heard as the rung's next frame reaches its encoder). The rung is
  // dropped after kDropFramesToDegrade such frames within kDropCooldownUs; the owner may act earlier.
  virtual void on_rung_late(const std::string& rung, int64_t frames) {
    (void)rung;
    (void)frames;
  }
  virtual void on_poster(std::vector<uint8_t> jpeg, int64_t pts_us) = 0;
  // A media error: the ladder is failed (the source rendition goes on); the owner stops it.
  virtual void on_failed(const std::string& reason) = 0;
};

struct RungHealth {
  std::string name;
  int width = 0, height = 0;
  int target_kbps = 0;
  bool active = true;          // false once dropped under overload
  double fps = 0;              // encoded frames per second over the last few seconds (media time)
  double kbps = 0;             // encoded bitrate over the same window
  int queue_depth = 0;         // frames waiting for the encoder
  int64_t frames = 0;          // encoded so far
  int64_t dropped_frames = 0;  // frames the rung skipped because it was behind real time
};

struct LadderOptions {
  bool drop_when_late = true;
  // Leaky queue depth in front of each encoder (1 s at 30 fps): room for a moment of contention (four studios
  // whose keyframes come at once) without a dropped frame; 15 dropped a few frames a minute at four studios.
  int encoder_queue_frames = 30;
  // A rung's queue (and the scaler's) turns leaky once it has caught up, or this long after the rung's first
  // output regardless (four studios starting at once, each with 2 s of media buffered while their bitrates
  // were measured, took ~4 s to catch up on 2 cores).
  int64_t warm_at_most_us = 8'000'000;
  size_t max_input_bytes = 8u << 20;
};

class Ladder {
 public:
  static constexpr int64_t kDropCooldownUs = 5'000'000;  // media time between two rung drops
  static constexpr size_t kDropFramesToDegrade = 10;        // frames a rung may lose within the cooldown

  Ladder(std::string name, LadderSpec spec, const media::MediaFacts& source, LadderOptions options,
         LadderListener& listener);
  ~Ladder();
  Ladder(const Ladder&) = delete;
  Ladder& operator=(const Ladder&) = delete;

  // The rungs this source gets (empty: nothing to do; start() is then a no-op).
  const std::vector<RungPlan>& rungs() const { return rungs_; }
  // Builds and starts the pipeline; an error names the missing element.
  bool start(std::string& error);
  // A new publisher session (reconnect): new codec configuration for the decoders.
  void reconfigure(const media::MediaFacts& source);
  // The source's access units (event media clock). Never blocks; late input is dropped up to the
  // next keyframe and counted.
  void push(const media::AccessUnit& unit);
  // Drain (EOS, wait at most timeout_ms), then NULL. Idempotent.
  void stop(int timeout_ms = 3000);

  std::vector<RungHealth> health() const;
  int64_t input_dropped() const { return input_dropped_.load(); }
  int64_t rungs_dropped() const { return rungs_dropped_.load(); }

  // Internal, called from GStreamer threads.
  struct Rung;
  GstFlowReturn on_sample(Rung& rung, GstAppSink* sink);
  GstPadProbeReturn on_encoder_input(Rung& rung, GstPad* pad, GstBuffer* buffer);
  GstPadProbeReturn on_poster_input(GstBuffer* buffer);
  GstBusSyncReply on_bus_message(GstMessage* message);
  void on_scaler_overrun() {
    if (scaler_warm_.load()) scaler_dropped_++;
  }

 private:
  bool build_video(std::string& error);
  bool build_audio(std::string& error);
  bool build_poster(GstElement* tee, std::string& error);
  GstElement* add(const char* factory, const std::string& name, std::string& error);
  void note_encoder_drops(Rung& rung);
  // appsink thread, each output (at `out_us`) until warm: its queue (and the scaler's) may drop once caught up.
  void warm_up(Rung& rung, int64_t out_us);
  void fail(const std::string& reason);

  std::string name_;
  LadderSpec spec_;
  media::MediaFacts source_;
  LadderOptions options_;
  LadderListener& listener_;
  std::vector<RungPlan> rungs_;
  std::vector<std::unique_ptr<Rung>> rung_state_;
  Rung* poster_ = nullptr;  // in rung_state_ when there is a poster branch

  gst::GstRef<GstElement> pipeline_;
  GstElement* vsrc_ = nullptr;  // owned by pipeline_
  GstElement* asrc_ = nullptr;

  mutable std::mutex mutex_;           // keyframe list, drop policy, eos
  std::deque<int64_t> keyframes_us_;   // recent source keyframe PTS, oldest first
  int64_t last_rung_drop_us_ = INT64_MIN;
  bool eos_seen_ = false;
  std::condition_variable eos_cv_;
  std::atomic<bool> video_need_keyframe_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> input_dropped_{0};
  std::atomic<int64_t> scaler_dropped_{0};
  GstElement* scale_queue_ = nullptr;  // owned by pipeline_; blocking until every video rung is warm
  std::atomic<bool> scaler_warm_{false};
  // The newest input's decode time per track (push), so a rung knows how far behind its input its output is.
  std::atomic<int64_t> last_video_in_us_{INT64_MIN}, last_audio_in_us_{INT64_MIN};
  std::atomic<int64_t> rungs_dropped_{0};
  std::atomic<int64_t> last_poster_us_{INT64_MIN};
};

// The GStreamer decoder (and video parser) for a source codec ("h264" → sredaavh264dec, registered on
// first call; openh264dec if that fails), or "" when there is none.
std::string video_decoder_for(const std::string& codec);
std::string video_parser_for(const std::string& codec);
std::string audio_decoder_for(const std::string& codec);
// The caps of a source's encoded tracks as the hub gives them (transfer full): H.264 AVC access units with
// the avcC, raw AAC with its AudioSpecificConfig; other codecs: the source pipeline's caps (MediaFacts).
// Also the WHEP feed's input (server/realtime).
GstCaps* video_input_caps(const media::MediaFacts& f);
GstCaps* audio_input_caps(const media::MediaFacts& f);

}  // namespace sreda::pipelines
