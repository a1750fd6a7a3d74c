// Chunk stream reassembly and writing, with byte-level fixtures.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "server/ingest/rtmp/chunk_reader.h"
#include "server/ingest/rtmp/chunk_writer.h"

namespace sreda::ingest::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes filler(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i);
  return b;
}

void append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

Bytes slice(const Bytes& b, size_t from, size_t n) {
  return Bytes(b.begin() + from, b.begin() + from + n);
}

std::vector<RtmpMessage> read_all(const Bytes& wire, ChunkReader& reader) {
  std::vector<RtmpMessage> out;
  auto r = reader.feed(wire, out);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return out;
}

TEST(RtmpChunkReader, Fmt0SingleChunk) {
  Bytes wire = {0x03, 0x00, 0x00, 0x64, 0x00, 0x00, 0x04, 0x14, 0x01, 0x00, 0x00, 0x00, 'a', 'b', 'c', 'd'};
  ChunkReader reader;
  auto msgs = read_all(wire, reader);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].chunk_stream_id, 3u);
  EXPECT_EQ(msgs[0].timestamp, 100u);
  EXPECT_EQ(msgs[0].type, 20);
  EXPECT_EQ(msgs[0].stream_id, 1u);  // little endian
  EXPECT_EQ(msgs[0].payload, (Bytes{'a', 'b', 'c', 'd'}));
}

TEST(RtmpChunkReader, MessageSpanningChunksAndByteByByte) {
  Bytes payload = filler(300, 7);
  Bytes wire = {0x04, 0x00, 0x00, 0x0A, 0x00, 0x01, 0x2C, 0x09, 0x01, 0x00, 0x00, 0x00};
  append(wire, slice(payload, 0, 128));
  wire.push_back(0xC4);
  append(wire, slice(payload, 128, 128));
  wire.push_back(0xC4);
  append(wire, slice(payload, 256, 44));

  ChunkReader whole;
  auto msgs = read_all(wire, whole);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].payload, payload);
  EXPECT_EQ(msgs[0].timestamp, 10u);

  ChunkReader bytewise;
  std::vector<RtmpMessage> out;
  for (uint8_t b : wire) ASSERT_TRUE(bytewise.feed(Bytes{b}, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, payload);
}

TEST(RtmpChunkReader, TimestampDeltasFmt1Fmt2Fmt3) {
  Bytes wire = {0x06, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x02,
                0x09, 0x01, 0x00, 0x00, 0x00, 0xAA, 0xBB};                  // fmt0 ts=1000
  append(wire, {0x46, 0x00, 0x00, 0x28, 0x00, 0x00, 0x03, 0x08, 1, 2, 3});  // fmt1 delta 40, len 3, audio
  append(wire, {0x86, 0x00, 0x00, 0x14, 4, 5, 6});                          // fmt2 delta 20
  append(wire, {0xC6, 7, 8, 9});  // fmt3: new message, delta 20 again
  ChunkReader reader;
  auto msgs = read_all(wire, reader);
  ASSERT_EQ(msgs.size(), 4u);
  EXPECT_EQ(msgs[0].timestamp, 1000u);
  EXPECT_EQ(msgs[1].timestamp, 1040u);
  EXPECT_EQ(msgs[2].timestamp, 1060u);
  EXPECT_EQ(msgs[3].timestamp, 1080u);
  EXPECT_EQ(msgs[1].type, 8);
  EXPECT_EQ(msgs[3].type, 8);
  EXPECT_EQ(msgs[3].stream_id, 1u);  // kept from the fmt 0 header
  EXPECT_EQ(msgs[3].payload, (Bytes{7, 8, 9}));
}

TEST(RtmpChunkReader, ExtendedTimestampIncludingFmt3Continuation) {
  Bytes payload = filler(200, 1);
  Bytes wire = {0x04, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xC8, 0x09,
                0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04};
  append(wire, slice(payload, 0, 128));
  append(wire, {0xC4, 0x01, 0x02, 0x03, 0x04});  // continuation repeats the extended timestamp
  append(wire, slice(payload, 128, 72));
  // then a fmt 2 with an extended delta of 0x01000000
  append(wire, {0x84, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00});
  append(wire, slice(payload, 0, 128));
  append(wire, {0xC4, 0x01, 0x00, 0x00, 0x00});
  append(wire, slice(payload, 128, 72));
  ChunkReader reader;
  auto msgs = read_all(wire, reader);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].timestamp, 0x01020304u);
  EXPECT_EQ(msgs[0].payload, payload);
  EXPECT_EQ(msgs[1].timestamp, 0x02020304u);
  EXPECT_EQ(msgs[1].payload, payload);
}

TEST(RtmpChunkReader, SetChunkSizeAppliesToTheNextChunk) {
  Bytes wire = {0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x10, 0x00};  // Set Chunk Size 4096
  Bytes payload = filler(3000, 3);
  append(wire, {0x04, 0, 0, 0, 0x00, 0x0B, 0xB8, 0x09, 1, 0, 0, 0});
  append(wire, payload);
  ChunkReader reader;
  auto msgs = read_all(wire, reader);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, kSetChunkSize);
  EXPECT_EQ(reader.chunk_size(), 4096u);
  EXPECT_EQ(msgs[1].payload, payload);
}

TEST(RtmpChunkReader, InterleavedChunkStreams) {
  Bytes video = filler(200, 9);
  Bytes audio = filler(50, 100);
  Bytes wire = {0x06, 0, 0, 0x28, 0, 0, 0xC8, 0x09, 1, 0, 0, 0};
  append(wire, slice(video, 0, 128));
  append(wire, {0x04, 0, 0, 0x1E, 0, 0, 0x32, 0x08, 1, 0, 0, 0});
  append(wire, audio);
  wire.push_back(0xC6);
  append(wire, slice(video, 128, 72));
  ChunkReader reader;
  auto msgs = read_all(wire, reader);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].chunk_stream_id, 4u);
  EXPECT_EQ(msgs[0].payload, audio);
  EXPECT_EQ(msgs[0].timestamp, 30u);
  EXPECT_EQ(msgs[1].chunk_stream_id, 6u);
  EXPECT_EQ(msgs[1].payload, video);
  EXPECT_EQ(msgs[1].timestamp, 40u);
}

TEST(RtmpChunkReader, TwoAndThreeByteBasicHeaders) {
  Bytes wire = {0x00, 36, 0, 0, 1, 0, 0, 1, 0x14, 0, 0, 0, 0, 'x'};           // csid 100
  append(wire, {0x01, 0x50, 0x01, 0, 0, 2, 0, 0, 1, 0x14, 0, 0, 0, 0, 'y'});  // csid 64 + 0x50 + 256
  ChunkReader reader;
  auto msgs = read_all(wire, reader);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].chunk_stream_id, 100u);
  EXPECT_EQ(msgs[1].chunk_stream_id, 64u + 0x50 + 256);
  EXPECT_EQ(msgs[1].timestamp, 2u);
}

TEST(RtmpChunkReader, HugeDeclaredMessageRefusedAtTheHeader) {
  // The length field is 24 bits, so 16 MiB - 1 is the largest a client can declare (a "100 MB message"
  // cannot be expressed); it is refused before any payload arrives or is buffered.
  Bytes wire = {0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x09, 1, 0, 0, 0};
  ChunkReader reader;
  std::vector<RtmpMessage> out;
  auto r = reader.feed(wire, out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exceeds the limit"), std::string::npos);
  EXPECT_TRUE(reader.failed());
  EXPECT_FALSE(reader.feed(Bytes{0xC4}, out).ok());  // stays failed

  ChunkLimits small;
  small.max_message_size = 1000;
  ChunkReader limited(small);
  EXPECT_FALSE(limited.feed(Bytes{0x04, 0, 0, 0, 0, 0x03, 0xE9, 0x09, 1, 0, 0, 0}, out).ok());  // 1001 bytes
}

TEST(RtmpChunkReader, TooManyChunkStreams) {
  ChunkLimits limits;
  limits.max_chunk_streams = 4;
  ChunkReader reader(limits);
  std::vector<RtmpMessage> out;
  for (uint8_t csid = 3; csid < 7; ++csid) {
    ASSERT_TRUE(reader.feed(Bytes{csid, 0, 0, 0, 0, 0, 1, 0x08, 1, 0, 0, 0, 0xAF}, out).ok());
  }
  auto r = reader.feed(Bytes{7, 0, 0, 0, 0, 0, 1, 0x08, 1, 0, 0, 0, 0xAF}, out);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(out.size(), 4u);
}

TEST(RtmpChunkReader, AbortDropsThePartialMessage) {
  Bytes wire = {0x04, 0, 0, 0, 0, 0, 0xC8, 0x09, 1, 0, 0, 0};
  append(wire, filler(128, 0));
  append(wire, {0x02, 0, 0, 0, 0, 0, 4, 0x02, 0, 0, 0, 0, 0, 0, 0, 4});  // Abort csid 4
  append(wire, {0x04, 0, 0, 5, 0, 0, 2, 0x09, 1, 0, 0, 0, 0x17, 0x01});  // a new message on csid 4
  ChunkReader reader;
  auto msgs = read_all(wire, reader);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, kAbort);
  EXPECT_EQ(msgs[1].payload, (Bytes{0x17, 0x01}));
}

TEST(RtmpChunkReader, MalformedInputIsAnErrorValue) {
  std::vector<RtmpMessage> out;
  {
    ChunkReader r;  // Set Chunk Size 0
    EXPECT_FALSE(r.feed(Bytes{0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, out).ok());
  }
  {
    ChunkReader r;  // Set Chunk Size 32 MiB
    EXPECT_FALSE(r.feed(Bytes{0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0x02, 0, 0, 0}, out).ok());
  }
  {
    ChunkReader r;  // Set Chunk Size with the reserved top bit
    EXPECT_FALSE(r.feed(Bytes{0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0x80, 0, 0x10, 0}, out).ok());
  }
  {
    ChunkReader r;  // fmt 3 on a chunk stream never seen
    EXPECT_FALSE(r.feed(Bytes{0xC5, 1, 2, 3}, out).ok());
  }
  {
    ChunkReader r;  // fmt 2 opening a chunk stream
    EXPECT_FALSE(r.feed(Bytes{0x85, 0, 0, 1}, out).ok());
  }
  {
    ChunkReader r;  // a new fmt 0 header in the middle of a message
    Bytes wire = {0x04, 0, 0, 0, 0, 0, 0xC8, 0x09, 1, 0, 0, 0};
    append(wire, filler(128, 0));
    append(wire, {0x04, 0, 0, 0, 0, 0, 0x02, 0x09, 1, 0, 0, 0, 1, 2});
    EXPECT_FALSE(r.feed(wire, out).ok());
  }
  {
    ChunkLimits limits;
    limits.max_pending_bytes = 1000;
    ChunkReader r(limits);  // partial messages beyond the pending budget
    Bytes wire = {0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0, 0, 0x10, 0};
    append(wire, {0x04, 0, 0, 0, 0, 0x10, 0, 0x09, 1, 0, 0, 0});
    append(wire, filler(1200, 0));
    EXPECT_FALSE(r.feed(wire, out).ok());
  }
}

TEST(RtmpChunkWriter, RoundTripsThroughTheReader) {
  ChunkWriter writer;
  Bytes wire;
  Bytes size_payload = {0, 0, 0, 100};
  writer.write(2, kSetChunkSize, 0, 0, size_payload, wire);
  writer.set_chunk_size(100);
  Bytes big = filler(1000, 5);
  writer.write(70, kVideo, 1, 0x12345678, big, wire);  // two-byte csid, extended timestamp
  writer.write(400, kAudio, 1, 33, filler(5, 1), wire);
  writer.write(5, kCommandAmf0, 0, 0, Bytes{}, wire);  // empty message
  ChunkReader reader;
  auto msgs = read_all(wire, reader);
  ASSERT_EQ(msgs.size(), 4u);
  EXPECT_EQ(reader.chunk_size(), 100u);
  EXPECT_EQ(msgs[1].chunk_stream_id, 70u);
  EXPECT_EQ(msgs[1].timestamp, 0x12345678u);
  EXPECT_EQ(msgs[1].payload, big);
  EXPECT_EQ(msgs[2].chunk_stream_id, 400u);
  EXPECT_EQ(msgs[2].timestamp, 33u);
  EXPECT_TRUE(msgs[3].payload.empty());
}

}  // namespace
}  // namespace sreda::ingest::rtmp
