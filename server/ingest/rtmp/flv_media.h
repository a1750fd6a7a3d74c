// RTMP's FLV media straight to access units, without GStreamer: H.264 (AVC) video tags carry an
// AVCDecoderConfigurationRecord and then length-prefixed NAL units with a composition time; AAC audio
// tags carry an AudioSpecificConfig and then raw AAC frames — what consumers take (server/media/).
//
// The codec configurations (avcC, SPS, AudioSpecificConfig, MPEG audio headers) are parsed by
// server/media. FlvMediaSource is the stateful part of one publish, with the same semantics as the
// GStreamer source pipeline for FLV: units are held until the stream is prepared (both tracks configured,
// or kPrepareWindowUs of media with one), a track that appears after that is not part of the session,
// other codecs fail with a clear reason.
// A changed sequence header mid-stream reports `prepared` again with the new facts (a new session start).
//
// Threads: FlvMediaSource is used from one thread at a time (the ingest thread); the listener is called on
// it, synchronously. frame_rate_from_double: any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "server/ingest/rtmp/flv_tag.h"
#include "server/media/source_listener.h"

namespace sreda::ingest::rtmp {

// A frame rate from onMetaData's `framerate` (a double): 25 → 25/1, 29.97 → 30000/1001; 0/1 when unusable.
void frame_rate_from_double(double fps, int& num, int& den);

class FlvMediaSource {
 public:
  static constexpr size_t kMaxHeldUnits = 600;  // as the source pipeline: ~10 s before "prepared"
  static constexpr int64_t kPrepareWindowUs = 3'000'000;
  static constexpr size_t kDefaultMaxHeldBytes = 16 << 20;

  // max_held_bytes bounds the units held before "prepared" (3 s of media at 40 Mbit/s fit): over it the
  // source fails ("… held before both tracks were configured …"), and held_bytes_exceeded() says why.
  explicit FlvMediaSource(media::SourceListener& listener, size_t max_held_bytes = kDefaultMaxHeldBytes)
      : listener_(listener), max_held_bytes_(max_held_bytes) {}

  // One tag in arrival order. False once the source has failed (the listener heard on_failed once).
  bool feed(const FlvTag& tag);

  bool failed() const { return failed_; }
  bool prepared() const { return prepared_; }
  bool held_bytes_exceeded() const { return held_bytes_exceeded_; }
  // Units dropped because they were malformed or came before their track's configuration.
  uint64_t dropped_units() const { return dropped_; }

 private:
  void on_script(const FlvTag& tag);
  void on_video(const FlvTag& tag);
  void on_audio(const FlvTag& tag);
  bool set_video_config(std::span<const uint8_t> avcc);
  bool set_audio_config(std::span<const uint8_t> asc);
  void on_mp3(const FlvTag& tag);
  void deliver(media::AccessUnit unit);
  void prepare();
  void fail(const std::string& reason);

  media::SourceListener& listener_;
  media::MediaFacts facts_;
  std::vector<uint8_t> raw_avcc_, raw_asc_;  // as received, to tell a repeated header from a new one
  int nal_length_size_ = 4;
  int meta_fps_num_ = 0, meta_fps_den_ = 1;
  bool sps_fps_ = false;
  bool prepared_ = false;
  bool failed_ = false;
  bool session_video_ = false, session_audio_ = false;  // the tracks `prepared` reported
  std::deque<media::AccessUnit> held_;
  size_t max_held_bytes_;
  size_t held_bytes_ = 0;
  bool held_bytes_exceeded_ = false;
  int64_t first_held_dts_us_ = -1;
  uint64_t dropped_ = 0;
};

}  // namespace sreda::ingest::rtmp
