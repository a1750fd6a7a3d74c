// RtmpSession driven by a scripted client: commands and replies, accept/reject, media to FLV tags.
#include "server/ingest/rtmp/rtmp_session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sreda::ingest::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;

Amf0Value s(std::string v) {
  return Amf0Value::make_string(std::move(v));
}
Amf0Value n(double v) {
  return Amf0Value::make_number(v);
}

// A minimal publisher: plain handshake, then chunks written with ChunkWriter; reads the server's replies.
class Client {
 public:
  Client() {
    Bytes c0c1(1 + kHandshakeSize, 0);
    c0c1[0] = 3;
    feed(c0c1);
    EXPECT_EQ(out_.send.size(), 1 + 2 * kHandshakeSize);
    out_.send.clear();
    Bytes c2(kHandshakeSize, 0);
    feed(c2);
    EXPECT_TRUE(session_.handshake_done());
  }

  void feed(const Bytes& b) { session_.feed(b, out_); }

  void command(uint32_t stream_id, const std::vector<Amf0Value>& values, uint8_t type = kCommandAmf0) {
    Bytes payload = amf0_encode_all(values);
    if (type == kCommandAmf3) payload.insert(payload.begin(), 0);
    Bytes wire;
    writer_.write(3, type, stream_id, 0, payload, wire);
    feed(wire);
  }

  void message(uint32_t csid, uint8_t type, uint32_t ts, const Bytes& payload) {
    Bytes wire;
    writer_.write(csid, type, 1, ts, payload, wire);
    feed(wire);
  }

  void publish_handshake(const std::string& name) {
    command(0, {s("connect"), n(1),
                Amf0Value::make_object({{"app", s("live")}, {"tcUrl", s("rtmp://127.0.0.1/live")}})});
    command(0, {s("releaseStream"), n(2), Amf0Value::make_null(), s(name)});
    command(0, {s("FCPublish"), n(3), Amf0Value::make_null(), s(name)});
    command(0, {s("createStream"), n(4), Amf0Value::make_null()});
    command(1, {s("publish"), n(5), Amf0Value::make_null(), s(name), s("live")});
  }

  // Every command the server sent since the last call, decoded.
  std::vector<std::vector<Amf0Value>> replies() {
    std::vector<RtmpMessage> msgs;
    EXPECT_TRUE(reader_.feed(out_.send, msgs).ok());
    out_.send.clear();
    std::vector<std::vector<Amf0Value>> result;
    for (auto& m : msgs) {
      control_types_.push_back(m.type);
      if (m.type != kCommandAmf0) continue;
      auto v = amf0_decode_all(m.payload);
      EXPECT_TRUE(v.ok());
      if (v.ok()) result.push_back(*v);
    }
    return result;
  }

  template <class T>
  std::vector<T> events() {
    std::vector<T> found;
    for (auto& e : out_.events) {
      if (auto* p = std::get_if<T>(&e)) found.push_back(*p);
    }
    return found;
  }

  RtmpSession session_;
  SessionOutput out_;
  ChunkWriter writer_;
  ChunkReader reader_;
  std::vector<uint8_t> control_types_;
};

std::string status_code(const std::vector<Amf0Value>& reply) {
  return reply.size() > 3 ? reply[3].get_string("code") : "";
}

TEST(RtmpSession, PublishAcceptedThenMediaBecomesFlvTags) {
  Client c;
  c.publish_handshake("testkey?token=1");
  auto replies = c.replies();
  ASSERT_EQ(replies.size(), 4u);  // connect, releaseStream, FCPublish, createStream
  EXPECT_EQ(replies[0][0].string, "_result");
  EXPECT_EQ(status_code(replies[0]), "NetConnection.Connect.Success");
  EXPECT_EQ(replies[3][3].number, 1);  // the stream id
  // Window Ack Size, Set Peer Bandwidth and Set Chunk Size went out before the connect _result.
  EXPECT_EQ(c.control_types_[0], kWindowAckSize);
  EXPECT_EQ(c.control_types_[1], kSetPeerBandwidth);
  EXPECT_EQ(c.control_types_[2], kSetChunkSize);
  EXPECT_EQ(c.reader_.chunk_size(), 4096u);

  auto requests = c.events<PublishRequest>();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].app, "live");
  EXPECT_EQ(requests[0].stream_key, "testkey");
  EXPECT_EQ(requests[0].query, "token=1");
  EXPECT_EQ(requests[0].tc_url, "rtmp://127.0.0.1/live");
  EXPECT_EQ(c.session_.state(), RtmpSession::State::publish_pending);

  c.message(6, kVideo, 0, {0x17, 0x00, 0, 0, 0, 1, 2});  // before accept: dropped
  EXPECT_TRUE(c.events<FlvTag>().empty());
  EXPECT_EQ(c.session_.dropped_media_messages(), 1u);

  c.session_.accept(c.out_);
  replies = c.replies();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0][0].string, "onStatus");
  EXPECT_EQ(status_code(replies[0]), "NetStream.Publish.Start");
  EXPECT_EQ(c.control_types_.back(), kCommandAmf0);

  c.out_.events.clear();
  Bytes meta =
      amf0_encode_all({s("@setDataFrame"), s("onMetaData"), Amf0Value::make_ecma_array({{"width", n(320)}})});
  c.message(4, kDataAmf0, 0, meta);
  c.message(6, kVideo, 0, {0x17, 0x00, 0, 0, 0, 1, 2});  // AVC sequence header
  c.message(4, kAudio, 0, {0xAF, 0x00, 0x12, 0x10});     // AAC sequence header
  c.message(6, kVideo, 40, {0x27, 0x01, 0, 0, 0, 9});    // inter frame
  c.message(6, kVideo, 30, {0x27, 0x01, 0, 0, 0, 9});    // a step back: clamped
  c.message(4, kAudio, 23, {0xAF, 0x01, 0x21});
  auto tags = c.events<FlvTag>();
  ASSERT_EQ(tags.size(), 6u);
  EXPECT_EQ(tags[0].type, FlvTag::script);
  auto script = amf0_decode_all(tags[0].data);
  ASSERT_TRUE(script.ok());
  EXPECT_EQ((*script)[0].string, "onMetaData");  // @setDataFrame stripped
  EXPECT_TRUE(tags[1].keyframe && tags[1].sequence_header);
  EXPECT_TRUE(tags[2].sequence_header);
  EXPECT_FALSE(tags[3].keyframe);
  EXPECT_EQ(tags[3].timestamp, 40u);
  EXPECT_EQ(tags[4].timestamp, 40u);
  EXPECT_EQ(tags[5].timestamp, 23u);

  c.command(1, {s("FCUnpublish"), n(6), Amf0Value::make_null(), s("testkey")});
  c.command(0, {s("deleteStream"), n(7), Amf0Value::make_null(), n(1)});
  EXPECT_EQ(c.events<Unpublished>().size(), 1u);
  EXPECT_FALSE(c.out_.close.has_value());
}

TEST(RtmpSession, RejectSendsBadNameAndCloses) {
  Client c;
  c.publish_handshake("wrong");
  c.replies();
  c.session_.reject("unknown stream key", c.out_);
  auto replies = c.replies();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(status_code(replies[0]), "NetStream.Publish.BadName");
  EXPECT_EQ(replies[0][3].get_string("level"), "error");
  ASSERT_TRUE(c.out_.close.has_value());
  EXPECT_EQ(c.session_.state(), RtmpSession::State::closed);
  c.message(6, kVideo, 0, {0x17, 0x01});  // ignored after close
  EXPECT_TRUE(c.events<FlvTag>().empty());
}

TEST(RtmpSession, EmptyKeyIsRejectedWithoutAnEvent) {
  Client c;
  c.publish_handshake("?only=query");
  EXPECT_TRUE(c.events<PublishRequest>().empty());
  EXPECT_TRUE(c.out_.close.has_value());
}

TEST(RtmpSession, PingIsAnsweredAndAcknowledgementsFollowTheWindow) {
  Client c;
  c.message(2, kWindowAckSize, 0, {0, 0, 0x10, 0});  // peer asks for an ack every 4096 bytes
  c.message(2, kUserControl, 0, {0, 6, 0, 0, 0x12, 0x34});
  c.replies();
  ASSERT_FALSE(c.control_types_.empty());
  EXPECT_EQ(c.control_types_[0], kUserControl);
  c.command(0, {s("connect"), n(1), Amf0Value::make_object({{"app", s("live")}})});
  Bytes filler(5000, 0);
  c.message(7, kAudio, 0, filler);  // dropped (not publishing) but counted for acks
  c.replies();
  bool acked = false;
  for (auto t : c.control_types_) acked |= t == kAcknowledgement;
  EXPECT_TRUE(acked);
}

TEST(RtmpSession, ProtocolErrorsCloseTheSession) {
  {
    Client c;  // garbage after the handshake
    c.feed(Bytes{0xC9, 0xFF, 0xFF, 0xFF});
    ASSERT_TRUE(c.out_.close.has_value());
  }
  {
    Client c;  // publish before connect
    c.command(1, {s("publish"), n(5), Amf0Value::make_null(), s("k")});
    EXPECT_TRUE(c.out_.close.has_value());
  }
  {
    Client c;  // malformed AMF
    Bytes wire;
    c.writer_.write(3, kCommandAmf0, 0, 0, Bytes{0x02, 0x00, 0x09, 'c'}, wire);
    c.feed(wire);
    EXPECT_TRUE(c.out_.close.has_value());
  }
  {
    RtmpSession session;  // not RTMP at all
    SessionOutput out;
    std::string http = "GET / HTTP/1.1\r\n\r\n";
    session.feed(Bytes(http.begin(), http.end()), out);
    EXPECT_TRUE(out.close.has_value());
    EXPECT_TRUE(out.send.empty());
  }
}

TEST(RtmpSession, Amf3CommandsAreUnderstood) {
  Client c;
  c.command(0, {s("connect"), n(1), Amf0Value::make_object({{"app", s("live")}})}, kCommandAmf3);
  auto replies = c.replies();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(status_code(replies[0]), "NetConnection.Connect.Success");
}

}  // namespace
}  // namespace sreda::ingest::rtmp
