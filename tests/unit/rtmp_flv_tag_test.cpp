// FLV bytes made from tags: the file header and the tag framing flvdemux reads.
#include <gtest/gtest.h>

#include <vector>

#include "server/ingest/rtmp/flv_tag.h"

namespace sreda::ingest::rtmp {
namespace {

TEST(RtmpFlvTag, FileHeader) {
  auto h = flv_file_header(true, true);
  EXPECT_EQ(std::vector<uint8_t>(h.begin(), h.end()),
            (std::vector<uint8_t>{'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0}));
  EXPECT_EQ(flv_file_header(false, true)[4], 0x01);
  EXPECT_EQ(flv_file_header(true, false)[4], 0x04);
}

TEST(RtmpFlvTag, TagFraming) {
  FlvTag tag;
  tag.type = FlvTag::video;
  tag.timestamp = 0x12345678;  // the top byte goes in TimestampExtended
  tag.data = {0x17, 0x01, 0xAA};
  std::vector<uint8_t> out;
  append_flv_tag(tag, out);
  EXPECT_EQ(out, (std::vector<uint8_t>{9, 0, 0, 3, 0x34, 0x56, 0x78, 0x12, 0, 0, 0, 0x17, 0x01, 0xAA, 0, 0, 0,
                                       14}));
}

}  // namespace
}  // namespace sreda::ingest::rtmp
