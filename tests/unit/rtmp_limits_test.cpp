// What a hostile RTMP client can make the server hold before its key is checked (issue 17): the AMF0
// decoder's value and depth limits, the chunk reader's command and pre-publish limits, the session's
// limits before and after a publish is accepted. (FlvMediaSource's bound on held media: rtmp_flv_media_test.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/ingest/rtmp/amf0.h"
#include "server/ingest/rtmp/chunk_reader.h"
#include "server/ingest/rtmp/chunk_writer.h"
#include "server/ingest/rtmp/rtmp_session.h"

namespace sreda::ingest::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;

// An AMF0 strict array of `n` nulls (the 8 MiB attack's payload, any size).
Bytes strict_array_of_nulls(uint32_t n) {
  Bytes b = {0x0A, static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
             static_cast<uint8_t>(n)};
  b.insert(b.end(), n, 0x05);
  return b;
}

Bytes set_chunk_size(uint32_t size) {
  Bytes payload = {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
                   static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
  Bytes wire;
  ChunkWriter().write(2, kSetChunkSize, 0, 0, payload, wire);
  return wire;
}

TEST(RtmpLimits, Amf0DecodeIsBoundedInValues) {
  auto wire = strict_array_of_nulls(100000);
  size_t offset = 0;
  auto v = amf0_decode(wire, offset);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "amf0_limit");
  EXPECT_EQ(v.error().message, "too many values");
  offset = 0;
  EXPECT_TRUE(amf0_decode(wire, offset, kAmf0DefaultMaxDepth, 100001).ok());  // the array and its items
  // A limit counts across the values of one decode_all call, not per value.
  Bytes many;
  for (int i = 0; i < 3000; ++i) many.push_back(0x05);
  EXPECT_TRUE(amf0_decode_all(many).ok());
  EXPECT_FALSE(amf0_decode_all(many, kAmf0DefaultMaxDepth, 2999).ok());
  Bytes nested;  // nested strict arrays: depth, not values, stops it
  for (int i = 0; i < 40; ++i) nested.insert(nested.end(), {0x0A, 0, 0, 0, 1});
  nested.push_back(0x05);
  auto d = amf0_decode_all(nested);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, "amf0_limit");
}

TEST(RtmpLimits, CommandLargerThanTheLimitIsRefusedAtItsHeader) {
  ChunkLimits limits;
  limits.max_command_size = 4096;
  ChunkReader reader(limits);
  std::vector<RtmpMessage> out;
  // Only the header of a 4097-byte AMF0 command: refused before any payload arrives.
  auto r = reader.feed(Bytes{0x03, 0, 0, 0, 0, 0x10, 0x01, kCommandAmf0, 0, 0, 0, 0}, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "command_bytes");
  // Media of that size is not a command.
  ChunkReader media(limits);
  EXPECT_TRUE(media.feed(Bytes{0x04, 0, 0, 0, 0, 0x10, 0x01, kVideo, 1, 0, 0, 0}, out).ok());
  for (uint8_t type : {kDataAmf0, kDataAmf3, kCommandAmf3}) {
    ChunkReader data(limits);
    EXPECT_EQ(data.feed(Bytes{0x03, 0, 0, 0, 0, 0x10, 0x01, type, 0, 0, 0, 0}, out).error().code, "command_bytes");
  }
}

TEST(RtmpLimits, BeforePublishChunkSizeMessagesAndPendingBytesAreSmall) {
  const ChunkLimits l = ChunkLimits::before_publish(65536);
  std::vector<RtmpMessage> out;
  {
    ChunkReader r(l);  // the attack's first step: chunk size 8 MiB
    auto e = r.feed(set_chunk_size(8 << 20), out);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().code, "chunk_size");
  }
  {
    ChunkReader r(l);  // 64 KiB chunks are fine (SRS's limit at all times)
    EXPECT_TRUE(r.feed(set_chunk_size(65536), out).ok());
  }
  {
    ChunkReader r(l);  // a 100 KiB video message before the key is checked
    auto e = r.feed(Bytes{0x04, 0, 0, 0, 0x01, 0x90, 0x00, kVideo, 1, 0, 0, 0}, out);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().code, "message_bytes");
  }
  {
    ChunkReader r(l);  // the first 60000-byte chunks of three 64 KiB messages: over two commands' worth
    Bytes wire = set_chunk_size(60000);
    for (uint8_t csid = 4; csid < 7; ++csid) {
      Bytes part = {csid, 0, 0, 0, 0x01, 0x00, 0x00, kVideo, 1, 0, 0, 0};
      part.insert(part.end(), 60000, 0);
      wire.insert(wire.end(), part.begin(), part.end());
    }
    auto e = r.feed(wire, out);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().code, "pending_bytes");
  }
}

// The session: the 8 MiB attack and its smaller variants close the connection and name the limit; once a
// publish is accepted, the publisher's own chunk size and large frames are fine.
class Publisher {
 public:
  Publisher() {
    Bytes hello(1 + 2 * kHandshakeSize, 0);
    hello[0] = 3;
    session_.feed(hello, out_);
    EXPECT_TRUE(session_.handshake_done());
    out_.send.clear();
  }
  void feed(const Bytes& b) { session_.feed(b, out_); }
  void command(const std::vector<Amf0Value>& v, uint32_t stream_id = 0) {
    Bytes wire;
    writer_.write(3, kCommandAmf0, stream_id, 0, amf0_encode_all(v), wire);
    feed(wire);
  }
  void publish() {
    auto s = [](const char* t) { return Amf0Value::make_string(t); };
    auto n = [](double d) { return Amf0Value::make_number(d); };
    command({s("connect"), n(1), Amf0Value::make_object({{"app", s("live")}})});
    command({s("createStream"), n(2), Amf0Value::make_null()});
    command({s("publish"), n(3), Amf0Value::make_null(), s("key"), s("live")}, 1);
  }
  RtmpSession session_;
  SessionOutput out_;
  ChunkWriter writer_;
};

TEST(RtmpLimits, TheEightMebibyteAttackClosesTheSessionAtItsFirstStep) {
  Publisher p;
  p.feed(set_chunk_size(8 << 20));
  ASSERT_TRUE(p.out_.close);
  EXPECT_EQ(p.out_.limit, "chunk_size");
  EXPECT_EQ(p.session_.state(), RtmpSession::State::closed);

  Publisher q;  // the same command in 64 KiB chunks: refused at its header, nothing buffered
  q.feed(set_chunk_size(65536));
  Bytes wire;
  ChunkWriter w;
  w.set_chunk_size(65536);
  w.write(3, kCommandAmf0, 0, 0, strict_array_of_nulls((8 << 20) - 5), wire);
  q.feed(Bytes(wire.begin(), wire.begin() + 12));
  ASSERT_TRUE(q.out_.close);
  EXPECT_EQ(q.out_.limit, "command_bytes");
  EXPECT_LE(q.session_.bytes_received(), 2 * kHandshakeSize + 64);
}

TEST(RtmpLimits, ACommandWithinTheSizeButTooManyValuesIsRefused) {
  Publisher p;
  Bytes wire;
  p.writer_.write(3, kCommandAmf0, 0, 0, strict_array_of_nulls(60000), wire);
  p.feed(wire);
  ASSERT_TRUE(p.out_.close);
  EXPECT_EQ(p.out_.limit, "amf0");
  EXPECT_NE(p.out_.close->find("too many values"), std::string::npos) << *p.out_.close;
}

TEST(RtmpLimits, AfterAcceptThePublishersLimitsApply) {
  Publisher p;
  p.publish();
  ASSERT_FALSE(p.out_.close);
  ASSERT_EQ(p.session_.state(), RtmpSession::State::publish_pending);
  p.session_.accept(p.out_);
  p.out_.events.clear();
  p.feed(set_chunk_size(1 << 20));
  Bytes frame(1 << 20, 0xAB);  // a 1 MiB keyframe
  frame[0] = 0x17;
  frame[1] = 0x01;
  Bytes wire;
  p.writer_.set_chunk_size(1 << 20);
  p.writer_.write(6, kVideo, 1, 40, frame, wire);
  p.feed(wire);
  EXPECT_FALSE(p.out_.close) << *p.out_.close;
  ASSERT_EQ(p.out_.events.size(), 1u);
  EXPECT_EQ(std::get<FlvTag>(p.out_.events[0]).data.size(), frame.size());
}

}  // namespace
}  // namespace sreda::ingest::rtmp
