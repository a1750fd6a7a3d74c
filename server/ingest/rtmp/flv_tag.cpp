#include "server/ingest/rtmp/flv_tag.h"

namespace sreda::ingest::rtmp {

std::array<uint8_t, 13> flv_file_header(bool has_audio, bool has_video) {
  uint8_t flags = static_cast<uint8_t>((has_audio ? 0x04 : 0) | (has_video ? 0x01 : 0));
  return {'F', 'L', 'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0};
}

void append_flv_tag(const FlvTag& tag, std::vector<uint8_t>& out) {
  auto size = static_cast<uint32_t>(tag.data.size() & 0xFFFFFF);
  out.push_back(tag.type);
  out.push_back(static_cast<uint8_t>(size >> 16));
  out.push_back(static_cast<uint8_t>(size >> 8));
  out.push_back(static_cast<uint8_t>(size));
  out.push_back(static_cast<uint8_t>(tag.timestamp >> 16));
  out.push_back(static_cast<uint8_t>(tag.timestamp >> 8));
  out.push_back(static_cast<uint8_t>(tag.timestamp));
  out.push_back(static_cast<uint8_t>(tag.timestamp >> 24));  // TimestampExtended
  out.push_back(0);                                          // StreamID, always 0
  out.push_back(0);
  out.push_back(0);
  out.insert(out.end(), tag.data.begin(), tag.data.begin() + size);
  uint32_t previous = size + 11;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(previous >> shift));
}

}  // namespace sreda::ingest::rtmp
