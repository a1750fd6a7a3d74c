// SRT streamid parsing and key masking for logs. Pure functions; any thread.
//
// Accepted forms (the whole streamid is at most 512 bytes, as in libsrt):
//  - "publish:<key>"             mediamtx-style; "read:<key>" / "play:<key>" / "request:<key>" mean playback
//  - "#!::r=<key>,m=publish"     the SRT access-control syntax: comma-separated key=value items in any
//                                order ("#!::m=publish,r=<key>" too); r = resource (our stream key),
//                                m = mode (publish | request | bidirectional; absent means request, as the
//                                SRT spec says); other items (u, h, s, t, …) are tolerated and ignored.
// A key is 1..256 printable ASCII characters without spaces (and, in the "#!::" form, without ',').
#pragma once

#include <string>
#include <string_view>

#include "server/core/result.h"

namespace sreda::ingest::srt {

enum class StreamMode { publish, request, bidirectional };

struct StreamId {
  StreamMode mode = StreamMode::request;
  std::string key;
};

inline constexpr size_t max_stream_id_length = 512;
inline constexpr size_t max_stream_key_length = 256;

// Errors have code "bad_streamid" and a message naming what is wrong (safe to log: never echoes the key).
core::Result<StreamId> parse_stream_id(std::string_view text);

// For logs: the first few characters of a key then "…" (at most 4, and at most half of the key), never
// the whole key; non-printable characters become '?'.
std::string mask_key(std::string_view key);

// For logs: `text` cut to `max` bytes, non-printable bytes replaced by '?'.
std::string printable(std::string_view text, size_t max = 64);

}  // namespace sreda::ingest::srt
