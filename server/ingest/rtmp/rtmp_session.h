// One RTMP publisher connection as a sans-IO state machine: bytes in → bytes to send + events out.
// Used by one thread at a time (the connection's strand in RtmpServer; a test or fuzzer directly).
//
// handshake → connecting (waits for `connect`) → connected → publish_pending (a PublishRequest event was
// emitted; the owner decides) → publishing (after accept()) → closed.
// Media (audio 8, video 9, data 18 @setDataFrame/onMetaData) becomes FlvTag events only while publishing;
// before accept() it is dropped and counted. FCUnpublish/deleteStream/closeStream emit Unpublished.
// Protocol errors set SessionOutput::close: send what is in `send`, then close the connection.
// Memory before the key is checked is bounded (ChunkLimits::before_publish; AMF0 decodes bounded in values
// and depth); a limit that closes the session names itself in SessionOutput::limit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/ingest/rtmp/amf0.h"
#include "server/ingest/rtmp/chunk_reader.h"
#include "server/ingest/rtmp/chunk_writer.h"
#include "server/ingest/rtmp/flv_tag.h"
#include "server/ingest/rtmp/handshake.h"

namespace sreda::ingest::rtmp {

struct PublishRequest {
  std::string app;             // "live"
  std::string stream_key;      // the publish name up to any '?'
  std::string query;           // what followed '?', without it
  std::string tc_url;          // "rtmp://host:1935/live"
  std::string publish_type;    // "live", "record", "append"
  std::string remote_address;  // "127.0.0.1:53122", filled in by the network layer
};

struct Unpublished {
  std::string reason;
};

using SessionEvent = std::variant<PublishRequest, FlvTag, Unpublished>;

struct SessionOutput {
  std::vector<uint8_t> send;
  std::vector<SessionEvent> events;
  std::optional<std::string> close;  // set: flush `send`, then close the connection, for this reason
  std::string limit;  // with close, when a limit closed it: "command_bytes", "chunk_size", "amf0", …
};

struct SessionOptions {
  // Once a publish is accepted. Before, ChunkLimits::before_publish(chunk.max_command_size) applies.
  ChunkLimits chunk;
  uint32_t out_chunk_size = 4096;
  uint32_t window_ack_size = 2500000;  // what we ask the client to acknowledge
  uint32_t peer_bandwidth = 2500000;
  uint32_t max_streams = 8;  // createStream calls per connection
};

class RtmpSession {
 public:
  enum class State { handshake, connecting, connected, publish_pending, publishing, closed };

  explicit RtmpSession(SessionOptions options = {});

  void feed(std::span<const uint8_t> data, SessionOutput& out);
  // The owner's answer to a PublishRequest. No-ops unless state() is publish_pending.
  void accept(SessionOutput& out);
  void reject(std::string_view reason, SessionOutput& out);

  State state() const { return state_; }
  bool handshake_done() const { return handshake_.done(); }
  bool used_digest_handshake() const { return handshake_.used_digest(); }
  uint64_t bytes_received() const { return bytes_received_; }
  uint64_t dropped_media_messages() const { return dropped_media_; }
  const std::string& app() const { return app_; }
  const std::string& stream_key() const { return stream_key_; }

 private:
  struct Track {  // unwraps 32-bit RTMP time into a never-decreasing 64-bit time
    bool started = false;
    uint32_t last_raw = 0;
    int64_t last = 0;
    uint32_t next(uint32_t raw);
  };

  void on_message(RtmpMessage& m, SessionOutput& out);
  void on_command(const RtmpMessage& m, std::span<const uint8_t> body, SessionOutput& out);
  void on_connect(double txn, const std::vector<Amf0Value>& args, SessionOutput& out);
  void on_publish(const RtmpMessage& m, const std::vector<Amf0Value>& args, SessionOutput& out);
  void on_media(RtmpMessage& m, SessionOutput& out);
  void on_data(const RtmpMessage& m, std::span<const uint8_t> body, SessionOutput& out);
  void on_user_control(const RtmpMessage& m, SessionOutput& out);
  void end_publish(std::string reason, SessionOutput& out);
  void close(std::string reason, SessionOutput& out, std::string limit = {});

  void send(uint32_t csid, uint8_t type, uint32_t stream_id, std::span<const uint8_t> payload,
            SessionOutput& out);
  void send_control(uint8_t type, uint32_t value, SessionOutput& out);
  void send_user_control(uint16_t event, uint32_t value, SessionOutput& out);
  void send_command(uint32_t csid, uint32_t stream_id, const std::vector<Amf0Value>& values,
                    SessionOutput& out);
  void send_status(std::string_view level, std::string_view code, std::string_view description,
                   SessionOutput& out);

  SessionOptions options_;
  State state_ = State::handshake;
  Handshake handshake_;
  ChunkReader reader_;
  ChunkWriter writer_;
  std::string app_;
  std::string tc_url_;
  std::string stream_key_;
  uint32_t streams_created_ = 0;
  uint32_t publish_stream_id_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t last_ack_ = 0;
  uint32_t peer_window_ = 2500000;
  uint64_t dropped_media_ = 0;
  Track audio_, video_, script_;
  std::vector<RtmpMessage> messages_;  // scratch, reused
};

std::string_view to_string(RtmpSession::State state);

}  // namespace sreda::ingest::rtmp
