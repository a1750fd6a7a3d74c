// RTMP's FLV media straight to access units, without GStreamer: H.264 (AVC) video tags carry an
// AVCDecoderConfigurationRecord and then length-prefixed NAL units with a composition time; AAC audio
// tags carry an AudioSpecificConfig and then raw AAC frames — what consumers take (pipelines/source/media.h).
//
// The pure parsers (avcC, SPS, AudioSpecificConfig) are functions on bytes. FlvMediaSource is the stateful
// part of one publish, with the same semantics as the GStreamer source pipeline for FLV: units are held
// until the stream is prepared (both tracks configured, or kPrepareWindowUs of media with one), a track
// that appears after that is not part of the session, other codecs fail with a clear reason.
// A changed sequence header mid-stream reports `prepared` again with the new facts (a new session start).
//
// Threads: FlvMediaSource is used from one thread at a time (the ingest thread); the listener is called on
// it, synchronously. The parsers: any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "pipelines/source/media.h"
#include "server/core/result.h"
#include "server/ingest/rtmp/flv_tag.h"

namespace sreda::ingest::rtmp {

struct AvcConfig {
  int profile_idc = 0;
  int profile_compatibility = 0;
  int level_idc = 0;
  int nal_length_size = 4;  // 1, 2 or 4
  std::vector<std::vector<uint8_t>> sps, pps;
};
// An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1).
core::Result<AvcConfig> parse_avc_config(std::span<const uint8_t> data);

struct SpsInfo {
  int profile_idc = 0;
  int constraint_flags = 0;  // constraint_set0_flag in bit 7 … set5 in bit 2
  int level_idc = 0;
  int chroma_format_idc = 1;
  int width = 0;   // after cropping
  int height = 0;
  int fps_num = 0;  // from VUI timing (time_scale / 2·num_units_in_tick); 0 when absent
  int fps_den = 1;
};
// A sequence parameter set NAL unit (with its 1-byte NAL header and emulation-prevention bytes).
core::Result<SpsInfo> parse_sps(std::span<const uint8_t> nal);
// GStreamer's names (codec-utils): "baseline", "constrained-baseline", "main", "high", "high-10", …
std::string h264_profile_name(int profile_idc, int constraint_flags);
// "3", "3.1", "1b", …
std::string h264_level_name(int level_idc, int profile_idc, int constraint_flags);

struct AacConfig {
  int object_type = 0;    // 2 = AAC LC, 5 = SBR (HE-AAC), 29 = PS
  int sample_rate = 0;    // the core sampling rate
  int channels = 0;
};
// An AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), including escape object types and explicit rates.
core::Result<AacConfig> parse_audio_specific_config(std::span<const uint8_t> data);

struct MpegAudioHeader {
  int version = 1;    // 1, 2 or 25 (MPEG-2.5)
  int layer = 3;      // 1, 2, 3
  int sample_rate = 0;
  int channels = 0;
  int samples = 0;    // per frame
};
// The 4-byte header of an MPEG audio frame (MP3 in FLV carries whole frames and no configuration tag).
core::Result<MpegAudioHeader> parse_mpeg_audio_header(std::span<const uint8_t> data);

// A frame rate from onMetaData's `framerate` (a double): 25 → 25/1, 29.97 → 30000/1001; 0/1 when unusable.
void frame_rate_from_double(double fps, int& num, int& den);

class FlvMediaSource {
 public:
  static constexpr size_t kMaxHeldUnits = 600;  // as the source pipeline: ~10 s before "prepared"
  static constexpr int64_t kPrepareWindowUs = 3'000'000;
  static constexpr size_t kDefaultMaxHeldBytes = 16 << 20;

  // max_held_bytes bounds the units held before "prepared" (3 s of media at 40 Mbit/s fit): over it the
  // source fails ("… held before both tracks were configured …"), and held_bytes_exceeded() says why.
  explicit FlvMediaSource(pipelines::SourceListener& listener, size_t max_held_bytes = kDefaultMaxHeldBytes)
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
  void deliver(pipelines::AccessUnit unit);
  void prepare();
  void fail(const std::string& reason);

  pipelines::SourceListener& listener_;
  pipelines::MediaFacts facts_;
  std::vector<uint8_t> raw_avcc_, raw_asc_;  // as received, to tell a repeated header from a new one
  int nal_length_size_ = 4;
  int meta_fps_num_ = 0, meta_fps_den_ = 1;
  bool sps_fps_ = false;
  bool prepared_ = false;
  bool failed_ = false;
  bool session_video_ = false, session_audio_ = false;  // the tracks `prepared` reported
  std::deque<pipelines::AccessUnit> held_;
  size_t max_held_bytes_;
  size_t held_bytes_ = 0;
  bool held_bytes_exceeded_ = false;
  int64_t first_held_dts_us_ = -1;
  uint64_t dropped_ = 0;
};

}  // namespace sreda::ingest::rtmp
