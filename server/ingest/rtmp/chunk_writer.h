// RTMP chunk writer for outgoing messages. Sans-IO; used by one thread at a time (the connection's strand).
// Each message starts with a fmt 0 chunk and continues with fmt 3 chunks (extended timestamp repeated
// on them when used), so it never depends on what was sent before on the chunk stream.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sreda::ingest::rtmp {

class ChunkWriter {
 public:
  // Takes effect for the next write(); send Set Chunk Size to the peer before.
  void set_chunk_size(uint32_t size) { chunk_size_ = size == 0 ? 1 : size; }
  uint32_t chunk_size() const { return chunk_size_; }

  void write(uint32_t chunk_stream_id, uint8_t type, uint32_t stream_id, uint32_t timestamp,
             std::span<const uint8_t> payload, std::vector<uint8_t>& out) const;

 private:
  uint32_t chunk_size_ = 128;
};

}  // namespace sreda::ingest::rtmp
