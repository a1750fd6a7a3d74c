// Small pure helpers of the WHEP fan-out (server/realtime/whep_fanout.h): what one RTP packet of the feed
// starts, and the rate limit of keyframe requests. No GStreamer, any thread (the limiter is not thread-safe:
// its owner locks).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sreda::realtime {

// The RTP payload offset of a packet (after the fixed header, CSRCs and a header extension), or 0 when the
// packet is too short or not RTP version 2.
size_t rtp_payload_offset(const uint8_t* packet, size_t size);

// Whether an H.264 RTP packet (RFC 6184) begins a picture a decoder can start from: an SPS (rtph264pay
// config-interval=-1 puts SPS/PPS in front of every IDR), or an IDR slice — alone, first in a STAP-A, or the
// first fragment of an FU-A. A viewer that lost packets resumes at such a packet.
bool h264_rtp_starts_keyframe(const uint8_t* packet, size_t size);

// At most one request per `min_interval_ms`; a request inside the window is kept and due when the window
// ends (requests coalesce: due() says when to send the one that waited).
class KeyframeLimiter {
 public:
  explicit KeyframeLimiter(int64_t min_interval_ms) : min_interval_ms_(min_interval_ms) {}
  // A request at `now_ms`: true when it may be sent now (and is counted as sent), false when it waits.
  bool request(int64_t now_ms);
  // A waiting request whose window has passed: true once (it is then sent and counted).
  bool due(int64_t now_ms);
  bool waiting() const { return waiting_; }
  int64_t next_allowed_ms() const { return last_ms_ == kNever ? 0 : last_ms_ + min_interval_ms_; }

 private:
  static constexpr int64_t kNever = INT64_MIN;
  int64_t min_interval_ms_;
  int64_t last_ms_ = kNever;
  bool waiting_ = false;
};

}  // namespace sreda::realtime
