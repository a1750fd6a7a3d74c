// The source pipeline of one publish: appsrc (FLV tags from RTMP or MPEG-TS from SRT) → demux →
// parser → appsinks, normalised to access units: H.264 (AVC) or HEVC (hvc1) video, AAC (raw), Opus or
// MPEG audio (MP3/MP2). Only H.264/AAC go to players as they are; the ladder transcodes the others.
//
// Status (STYLE.md 4): preparing → prepared (tracks and caps known) → playing → draining → stopped | failed.
// Access units are held back until the source is prepared, so a consumer always gets the codec configuration
// before the first unit. Held units are bounded in number (kMaxHeldUnits: the oldest is dropped) and in bytes
// (max_held_bytes, ingest.max_held_media_bytes: over it the source fails, and held_bytes_exceeded() says why —
// a publisher that announces a track it never sends cannot make the server hold 600 large units).
//
// Threads: construct, start(), stop() on the owner's thread (the hub's control thread), never from a
// streaming thread. push()/end_of_stream() from any one thread (the ingest thread). media::SourceListener
// callbacks come on GStreamer streaming threads; they must be quick and must not call stop().
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "pipelines/gst/gst_ref.h"
#include "server/media/held_units.h"
#include "server/media/source_listener.h"

namespace sreda::pipelines {

enum class Container { flv, mpegts };

class SourcePipeline {
 public:
  static constexpr size_t kMaxHeldUnits = 600;  // ~10 s of 30 fps video + audio before "prepared"
  static constexpr int64_t kPrepareWindowUs = 3'000'000;

  static constexpr size_t kDefaultMaxHeldBytes = 16 << 20;

  SourcePipeline(Container container, std::string name, media::SourceListener& listener,
                 size_t max_queued_bytes, size_t max_held_bytes = kDefaultMaxHeldBytes);
  ~SourcePipeline();
  SourcePipeline(const SourcePipeline&) = delete;
  SourcePipeline& operator=(const SourcePipeline&) = delete;

  // Builds and starts the pipeline; an error names the missing element.
  bool start(std::string& error);
  // Hands bytes to the demuxer. False (nothing queued) when more than max_queued_bytes wait: the caller
  // applies its overflow policy (RTMP: drop to the next keyframe). False too once the source has failed.
  bool push(const uint8_t* data, size_t size);
  void end_of_stream();
  // Drain: EOS, wait for it (at most timeout_ms), then NULL. Idempotent.
  void stop(int timeout_ms = 2000);

  uint64_t queued_bytes() const;
  // True once the source failed because more than max_held_bytes waited for "prepared".
  bool held_bytes_exceeded() const { return held_bytes_exceeded_; }
  bool failed() const { return failed_; }

  // Internal, called from GStreamer threads.
  void on_pad_added(GstPad* pad);
  void on_no_more_pads();
  GstFlowReturn on_sample(media::TrackKind track, GstElement* sink);
  GstBusSyncReply on_bus_message(GstMessage* message);

 private:
  struct Branch;
  bool link_branch(GstPad* pad, const Branch& branch);
  void fail(const std::string& reason);
  void maybe_prepared_locked();
  void deliver_held_locked();

  Container container_;
  std::string name_;
  media::SourceListener& listener_;
  size_t max_queued_bytes_;
  gst::GstRef<GstElement> pipeline_;
  GstElement* appsrc_ = nullptr;  // owned by pipeline_

  std::mutex mutex_;  // guards everything below (short; never held while calling GStreamer state changes)
  media::MediaFacts facts_;
  std::string video_codec_, audio_codec_;  // of the linked branches, until their first sample
  bool no_more_pads_ = false;
  int branches_ = 0;
  int branches_with_caps_ = 0;
  bool prepared_ = false;
  std::atomic<bool> failed_{false};  // written under mutex_; read without it by push()
  media::HeldUnits held_;
  std::atomic<bool> held_bytes_exceeded_{false};
  bool eos_seen_ = false;
  std::condition_variable eos_cv_;
  std::atomic<bool> stopped_{false};
};

}  // namespace sreda::pipelines
