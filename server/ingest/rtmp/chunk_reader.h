// RTMP chunk stream reader: reassembles chunks (fmt 0–3, extended timestamps, timestamp deltas) into
// messages. Sans-IO; one instance per connection, used by one thread at a time (the connection's strand).
//
// It applies the two protocol control messages that change how chunks are read, as soon as they complete:
// Set Chunk Size (type 1) and Abort (type 2). Both are still handed out with the other messages.
// Limits (ChunkLimits) make hostile input cheap: a declared message longer than max_message_size (or a
// command/data message longer than max_command_size) is refused as soon as its header is read, before any
// payload is buffered; a Set Chunk Size above max_chunk_size is refused; at most max_chunk_streams chunk
// streams; at most max_pending_bytes of partial messages held across all chunk streams.
// Every violation is returned as an Error whose code names the limit ("message_bytes", "command_bytes",
// "chunk_size", "chunk_streams", "pending_bytes"; "rtmp_chunk" for malformed input); after one, the
// reader stays failed (close the connection). set_limits() changes them between reads (RtmpSession starts
// with ChunkLimits::before_publish and raises them once a publish is accepted).
//
// Extended timestamps on fmt 3 chunks: read whenever the chunk stream's last fmt 0–2 header used one
// (what the spec, librtmp and ffmpeg do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "server/core/result.h"

namespace sreda::ingest::rtmp {

// Message type ids.
enum MessageType : uint8_t {
  kSetChunkSize = 1,
  kAbort = 2,
  kAcknowledgement = 3,
  kUserControl = 4,
  kWindowAckSize = 5,
  kSetPeerBandwidth = 6,
  kAudio = 8,
  kVideo = 9,
  kDataAmf3 = 15,
  kCommandAmf3 = 17,
  kDataAmf0 = 18,
  kCommandAmf0 = 20,
  kAggregate = 22,
};

struct RtmpMessage {
  uint32_t chunk_stream_id = 0;
  uint8_t type = 0;
  uint32_t stream_id = 0;
  uint32_t timestamp = 0;  // absolute (deltas resolved), wraps at 2^32 ms
  std::vector<uint8_t> payload;
};

struct ChunkLimits {
  uint32_t max_message_size = 8 * 1024 * 1024;
  uint32_t max_command_size = 64 * 1024;  // command and data messages (AMF0/AMF3: types 15, 17, 18, 20)
  uint32_t max_chunk_size = 16 * 1024 * 1024;  // largest Set Chunk Size we accept
  uint32_t max_chunk_streams = 64;
  size_t max_pending_bytes = 16 * 1024 * 1024;  // partial messages across all chunk streams

  // Before a publish is accepted, a client has no business sending more than commands: every message at
  // most max_command_size, chunks of at most 64 KiB (SRS's limit at all times), a few chunk streams and
  // two commands' worth of partial messages. A connection then costs at most ~100 KiB before its key.
  static ChunkLimits before_publish(uint32_t max_command_size);
};

class ChunkReader {
 public:
  explicit ChunkReader(ChunkLimits limits = {}) : limits_(limits) {}

  // Reads all of `data`, appending every completed message to `out`.
  core::Result<void> feed(std::span<const uint8_t> data, std::vector<RtmpMessage>& out);

  void set_limits(const ChunkLimits& limits) { limits_ = limits; }
  uint32_t chunk_size() const { return chunk_size_; }
  size_t chunk_stream_count() const { return streams_.size(); }
  bool failed() const { return failed_; }

 private:
  struct ChunkStream {
    uint32_t timestamp = 0;
    uint32_t delta = 0;
    uint32_t length = 0;
    uint8_t type = 0;
    uint32_t stream_id = 0;
    bool extended = false;  // last fmt 0–2 header carried an extended timestamp
    bool has_header = false;
    bool in_progress = false;  // a message is partly read
    std::vector<uint8_t> payload;
  };

  size_t header_bytes_needed() const;
  core::Result<void> on_header();
  core::Result<void> on_message_complete(ChunkStream& cs, uint32_t csid, std::vector<RtmpMessage>& out);
  core::Result<void> fail(std::string message, std::string code = "rtmp_chunk");

  ChunkLimits limits_;
  uint32_t chunk_size_ = 128;
  std::map<uint32_t, ChunkStream> streams_;
  std::vector<uint8_t> header_;  // the chunk header being read
  bool in_payload_ = false;
  uint32_t current_csid_ = 0;
  uint32_t chunk_left_ = 0;  // payload bytes left in the current chunk
  size_t pending_bytes_ = 0;
  bool failed_ = false;
};

}  // namespace sreda::ingest::rtmp
