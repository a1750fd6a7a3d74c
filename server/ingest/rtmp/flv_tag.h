// FLV tags made from RTMP media messages, and the FLV byte format they are written in
// (what `appsrc ! flvdemux` reads). Plain values and pure functions; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace sreda::ingest::rtmp {

struct FlvTag {
  enum Type : uint8_t { audio = 8, video = 9, script = 18 };
  uint8_t type = video;
  uint32_t timestamp = 0;        // ms, absolute and never decreasing within one tag type
  bool keyframe = false;         // video key frame (or AVC sequence header)
  bool sequence_header = false;  // AVC decoder configuration or AAC AudioSpecificConfig
  std::vector<uint8_t> data;     // the tag body (the RTMP message payload)
};

// "FLV", version 1, flags (audio 0x04 | video 0x01), header size 9, then PreviousTagSize0 = 0.
std::array<uint8_t, 13> flv_file_header(bool has_audio = true, bool has_video = true);

// Appends the 11-byte tag header, the body and the 4-byte PreviousTagSize.
void append_flv_tag(const FlvTag& tag, std::vector<uint8_t>& out);

}  // namespace sreda::ingest::rtmp
