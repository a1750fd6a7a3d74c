// A WHIP publisher's depayloaded tracks (webrtc::WebRtcPeer's on_format/on_unit) to the hub's PublisherInput:
// codec facts from the H.264 format's avcC (server/media's parsers: profile, level, picture size) and Opus's
// caps, the same shape the SRT source pipeline gives the ladder. Units are held until the session is prepared
// — every track the offer sends has its format, or kPrepareWindowUs of media came with one — as the
// source pipeline does (bounded in count and bytes: over max_held_bytes the media fails). A new SPS mid-stream
// (the browser changed its resolution) reports `prepared` again: a new session start for the consumers.
// It also tells the session what it needs for keyframe requests and its watchdog: when the last unit and the
// last keyframe came.
//
// Threads: on_format/on_unit from GStreamer streaming threads (video and audio on two), under one mutex; the
// listener is called under it only while held units are delivered (as SourcePipeline), otherwise unlocked.
// The readers (last_unit_ms, …) from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "server/media/held_units.h"
#include "server/media/source_listener.h"

namespace sreda::ingest::whip {

// One received track's format (what webrtc::ReceivedFormat carries; kept here so this stays GStreamer-free).
struct TrackFormat {
  media::TrackKind track = media::TrackKind::video;
  std::string codec;               // "h264" | "opus"
  std::string caps;                // GStreamer caps text (the ladder's decoder input)
  std::vector<uint8_t> codec_data; // avcC (video)
  int rate = 0, channels = 0;      // audio
};

class WhipMedia {
 public:
  static constexpr size_t kMaxHeldUnits = 600;
  static constexpr int64_t kPrepareWindowUs = 3'000'000;

  // `now_ms`: the wall clock (injected for tests). `on_failed` hears a media failure once (any thread).
  WhipMedia(media::SourceListener& listener, bool expect_video, bool expect_audio, size_t max_held_bytes,
            std::function<int64_t()> now_ms);

  void on_format(const TrackFormat& format);
  void on_unit(media::AccessUnit unit);

  bool prepared() const { return prepared_.load(); }
  bool failed() const { return failed_.load(); }
  bool held_bytes_exceeded() const { return held_bytes_exceeded_.load(); }
  int64_t last_unit_ms() const { return last_unit_ms_.load(); }         // 0: none yet
  int64_t last_keyframe_ms() const { return last_keyframe_ms_.load(); } // 0: none yet
  uint64_t units() const { return units_.load(); }
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t resolution_changes() const { return resolution_changes_.load(); }

 private:
  bool set_video_format_locked(const TrackFormat& f, std::string& error);
  void prepare_locked();
  void fail(const std::string& reason);

  media::SourceListener& listener_;
  const bool expect_video_, expect_audio_;
  std::function<int64_t()> now_ms_;

  std::mutex mutex_;
  media::MediaFacts facts_;
  bool video_format_ = false, audio_format_ = false;
  media::HeldUnits held_;
  std::atomic<bool> prepared_{false}, failed_{false}, held_bytes_exceeded_{false};
  std::atomic<int64_t> last_unit_ms_{0}, last_keyframe_ms_{0};
  std::atomic<uint64_t> units_{0}, dropped_{0}, resolution_changes_{0};
};

}  // namespace sreda::ingest::whip
