#include "server/ingest/rtmp/chunk_writer.h"

#include <algorithm>

namespace sreda::ingest::rtmp {
namespace {

void put_basic_header(uint8_t fmt, uint32_t csid, std::vector<uint8_t>& out) {
  if (csid >= 2 && csid <= 63) {
    out.push_back(static_cast<uint8_t>((fmt << 6) | csid));
  } else if (csid >= 64 && csid <= 319) {
    out.push_back(static_cast<uint8_t>(fmt << 6));
    out.push_back(static_cast<uint8_t>(csid - 64));
  } else {
    uint32_t v = std::clamp<uint32_t>(csid, 64, 65599) - 64;
    out.push_back(static_cast<uint8_t>((fmt << 6) | 1));
    out.push_back(static_cast<uint8_t>(v & 0xFF));
    out.push_back(static_cast<uint8_t>(v >> 8));
  }
}

void put_be(uint32_t v, int bytes, std::vector<uint8_t>& out) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

void ChunkWriter::write(uint32_t chunk_stream_id, uint8_t type, uint32_t stream_id, uint32_t timestamp,
                        std::span<const uint8_t> payload, std::vector<uint8_t>& out) const {
  bool extended = timestamp >= 0xFFFFFF;
  put_basic_header(0, chunk_stream_id, out);
  put_be(extended ? 0xFFFFFF : timestamp, 3, out);
  put_be(static_cast<uint32_t>(payload.size()), 3, out);
  out.push_back(type);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(stream_id >> (8 * i)));  // little endian
  if (extended) put_be(timestamp, 4, out);
  size_t pos = 0;
  while (true) {
    size_t n = std::min<size_t>(chunk_size_, payload.size() - pos);
    out.insert(out.end(), payload.begin() + static_cast<std::ptrdiff_t>(pos),
               payload.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
    if (pos >= payload.size()) break;
    put_basic_header(3, chunk_stream_id, out);
    if (extended) put_be(timestamp, 4, out);
  }
}

}  // namespace sreda::ingest::rtmp
