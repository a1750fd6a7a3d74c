// RTMP handshake, server side, sans-IO: C0+C1 in → S0+S1+S2 out, then C2 in. Timeouts belong to the
// network layer. One instance per connection, used by one thread at a time (the connection's strand).
//
// Two flavours, chosen by what C1 carries:
//  - digest ("FP9", what librtmp/OBS and ffmpeg send): C1 has an HMAC-SHA256 digest keyed with the
//    Flash Player key at one of the two known offsets (scheme 0: offset from bytes 8..11, scheme 1: from
//    bytes 772..775). We answer like nginx-rtmp/SRS: S1 carries our digest (Flash Media Server key) in the
//    same scheme, and S2 is random bytes signed with a key derived from the client's digest.
//  - plain: S1 is our time + zeros + random, S2 echoes C1.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "server/core/result.h"

namespace sreda::ingest::rtmp {

inline constexpr size_t kHandshakeSize = 1536;
inline constexpr size_t kDigestSize = 32;

// Where a digest sits in a 1536-byte C1/S1 for a scheme (0 or 1), from the offset bytes in `block`.
size_t handshake_digest_offset(std::span<const uint8_t, kHandshakeSize> block, int scheme);
// HMAC-SHA256 of `block` without the 32 digest bytes at `offset`, keyed with `key`.
std::array<uint8_t, kDigestSize> handshake_digest(std::span<const uint8_t, kHandshakeSize> block,
                                                  size_t offset, std::span<const uint8_t> key);
// The scheme (0 or 1) whose digest in `block` verifies with `key`, or nullopt.
std::optional<int> handshake_find_digest(std::span<const uint8_t, kHandshakeSize> block,
                                         std::span<const uint8_t> key);
// HMAC-SHA256 of `data` with `key`.
std::array<uint8_t, kDigestSize> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

// The well-known keys. The "partial" keys (the readable prefix) sign C1/S1; the full keys (prefix + 32
// constant bytes) derive the key that signs C2/S2.
std::span<const uint8_t> flash_player_key_partial();  // "Genuine Adobe Flash Player 001" (30)
std::span<const uint8_t> flash_player_key_full();     // 62 bytes
std::span<const uint8_t> media_server_key_partial();  // "Genuine Adobe Flash Media Server 001" (36)
std::span<const uint8_t> media_server_key_full();     // 68 bytes

class Handshake {
 public:
  enum class State { waiting_c0c1, waiting_c2, done, failed };

  // Consumes handshake bytes from `in` and appends what to send to `out`. Returns how many bytes of `in`
  // were consumed: once done(), the rest of `in` is the first chunk-stream data. An error means: close.
  core::Result<size_t> feed(std::span<const uint8_t> in, std::vector<uint8_t>& out);

  State state() const { return state_; }
  bool done() const { return state_ == State::done; }
  // True when C1 carried a valid digest and we answered with signed S1/S2.
  bool used_digest() const { return digest_scheme_.has_value(); }

 private:
  void respond(std::vector<uint8_t>& out);

  State state_ = State::waiting_c0c1;
  std::vector<uint8_t> buf_;
  std::optional<int> digest_scheme_;
};

}  // namespace sreda::ingest::rtmp
