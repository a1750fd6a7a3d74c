// libFuzzer target: the RTMP chunk reader and RtmpSession fed arbitrary bytes after a valid handshake.
// Input: byte 0 selects how the rest is split into reads (bits 0–3), whether the publish is rejected
// (bit 4) and whether the bytes go in raw, handshake included (bit 5); the rest is the client's stream.
// Seeds: real ffmpeg and GStreamer rtmp2sink publish sessions captured on 127.0.0.1.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "server/ingest/rtmp/chunk_reader.h"
#include "server/ingest/rtmp/flv_tag.h"
#include "server/ingest/rtmp/rtmp_session.h"

using namespace sreda::ingest::rtmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr size_t kPieces[16] = {1 << 30, 1,   2,   3,   5,    7,    11,   16,
                                         64,      127, 128, 129, 1000, 4096, 4097, 65536};
  uint8_t mode = data[0];
  size_t piece = kPieces[mode & 0x0F];
  bool reject = (mode & 0x10) != 0;
  bool raw = (mode & 0x20) != 0;
  std::span<const uint8_t> stream(data + 1, size - 1);

  ChunkLimits limits;
  limits.max_message_size = 1 << 20;  // smaller limits keep the fuzzer fast; the logic is the same
  limits.max_pending_bytes = 2 << 20;
  SessionOptions options;
  options.chunk = limits;

  // 1. The reader alone.
  ChunkReader reader(limits);
  std::vector<RtmpMessage> messages;
  for (size_t pos = 0; pos < stream.size(); pos += piece) {
    auto r = reader.feed(stream.subspan(pos, std::min(piece, stream.size() - pos)), messages);
    if (!r) break;
    messages.clear();
  }

  // 2. The session, after a valid plain handshake unless raw.
  RtmpSession session(options);
  SessionOutput out;
  if (!raw) {
    std::vector<uint8_t> hello(1 + 2 * kHandshakeSize, 0);
    hello[0] = 3;
    session.feed(hello, out);
    if (!session.handshake_done()) __builtin_trap();
  }
  std::vector<uint8_t> flv;
  for (size_t pos = 0; pos < stream.size() && !out.close; pos += piece) {
    out.send.clear();
    out.events.clear();
    bool was_publishing = session.state() == RtmpSession::State::publishing;
    session.feed(stream.subspan(pos, std::min(piece, stream.size() - pos)), out);
    for (auto& e : out.events) {
      if (std::holds_alternative<PublishRequest>(e)) {
        SessionOutput decision;
        if (reject) {
          session.reject("fuzz", decision);
        } else {
          session.accept(decision);
        }
        if (decision.close) out.close = decision.close;
      } else if (auto* tag = std::get_if<FlvTag>(&e)) {
        if (!was_publishing) __builtin_trap();  // no media unless accepted before this read
        flv.clear();
        append_flv_tag(*tag, flv);
      }
    }
  }
  return 0;
}
