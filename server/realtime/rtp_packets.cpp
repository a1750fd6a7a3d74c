#include "server/realtime/rtp_packets.h"

namespace sreda::realtime {

size_t rtp_payload_offset(const uint8_t* p, size_t size) {
  if (size < 12 || (p[0] >> 6) != 2) return 0;
  size_t off = 12 + 4u * (p[0] & 0x0f);
  if (p[0] & 0x10) {  // header extension: 4 bytes + length words
    if (size < off + 4) return 0;
    off += 4 + 4u * ((size_t{p[off + 2]} << 8) | p[off + 3]);
  }
  return off < size ? off : 0;
}

bool h264_rtp_starts_keyframe(const uint8_t* p, size_t size) {
  const size_t off = rtp_payload_offset(p, size);
  if (!off) return false;
  const uint8_t* pl = p + off;
  const size_t n = size - off;
  const int type = pl[0] & 0x1f;
  if (type == 7 || type == 5) return true;  // SPS, or an IDR slice alone
  if (type == 24) {  // STAP-A: 2-byte sizes, each followed by its NAL (an AUD may come first)
    for (size_t i = 1; i + 2 < n;) {
      const size_t len = (size_t{pl[i]} << 8) | pl[i + 1];
      const int t = pl[i + 2] & 0x1f;
      if (t == 7 || t == 5) return true;
      i += 2 + len;
    }
    return false;
  }
  if (type == 28) return n >= 2 && (pl[1] & 0x80) && (pl[1] & 0x1f) == 5;          // FU-A start of an IDR
  return false;
}

bool KeyframeLimiter::request(int64_t now_ms) {
  if (last_ms_ == kNever || now_ms - last_ms_ >= min_interval_ms_) {
    last_ms_ = now_ms;
    waiting_ = false;
    return true;
  }
  waiting_ = true;
  return false;
}

bool KeyframeLimiter::due(int64_t now_ms) {
  if (!waiting_ || now_ms - last_ms_ < min_interval_ms_) return false;
  last_ms_ = now_ms;
  waiting_ = false;
  return true;
}

}  // namespace sreda::realtime
