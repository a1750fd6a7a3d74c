// AMF0 codec: round trips, fixtures from the wire, malformed input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/ingest/rtmp/amf0.h"

namespace sreda::ingest::rtmp {
namespace {

using Bytes = std::vector<uint8_t>;

Amf0Value round_trip(const Amf0Value& v) {
  Bytes wire;
  amf0_encode(v, wire);
  size_t offset = 0;
  auto back = amf0_decode(wire, offset);
  EXPECT_TRUE(back.ok()) << (back.ok() ? "" : back.error().message);
  EXPECT_EQ(offset, wire.size());
  return back.ok() ? *back : Amf0Value::make_undefined();
}

TEST(RtmpAmf0, ScalarsRoundTrip) {
  for (const auto& v :
       {Amf0Value::make_number(0), Amf0Value::make_number(-1.5), Amf0Value::make_number(1e300),
        Amf0Value::make_boolean(true), Amf0Value::make_boolean(false), Amf0Value::make_string(""),
        Amf0Value::make_string("live/testkey?x=1"), Amf0Value::make_null(), Amf0Value::make_undefined(),
        Amf0Value::make_date(1795000000000.0, -60)}) {
    EXPECT_EQ(round_trip(v), v);
  }
}

TEST(RtmpAmf0, LongStringRoundTrip) {
  std::string big(70000, 'z');
  Bytes wire;
  amf0_encode(Amf0Value::make_string(big), wire);
  EXPECT_EQ(wire[0], 0x0C);  // long string marker
  EXPECT_EQ(round_trip(Amf0Value::make_string(big)).string, big);
}

TEST(RtmpAmf0, ContainersRoundTrip) {
  auto inner =
      Amf0Value::make_object({{"level", Amf0Value::make_string("status")}, {"n", Amf0Value::make_number(3)}});
  auto ecma = Amf0Value::make_ecma_array(
      {{"width", Amf0Value::make_number(320)}, {"height", Amf0Value::make_number(240)}, {"nested", inner}});
  auto strict = Amf0Value::make_strict_array({Amf0Value::make_number(1), Amf0Value::make_null(), ecma});
  auto outer = Amf0Value::make_object({{"a", strict}, {"b", ecma}, {"", Amf0Value::make_boolean(true)}});
  auto back = round_trip(outer);
  EXPECT_EQ(back, outer);
  ASSERT_NE(back.get("b"), nullptr);
  EXPECT_EQ(back.get("b")->get("width")->number, 320);
  EXPECT_EQ(back.get("b")->get("nested")->get_string("level"), "status");
  EXPECT_EQ(back.get("missing"), nullptr);
}

TEST(RtmpAmf0, DecodesAConnectCommandFromTheWire) {
  Bytes wire = {0x02, 0x00, 0x07, 'c', 'o', 'n', 'n',  'e',  'c',  't',                 // "connect"
                0x00, 0x3F, 0xF0, 0,   0,   0,   0,    0,    0,                         // 1.0
                0x03, 0x00, 0x03, 'a', 'p', 'p', 0x02, 0x00, 0x04, 'l', 'i', 'v', 'e',  // {app: "live",
                0x00, 0x04, 't',  'y', 'p', 'e', 0x02, 0x00, 0x0A, 'n', 'o', 'n', 'p',
                'r',  'i',  'v',  'a', 't', 'e', 0x00, 0x00, 0x09};  //  type: ...}
  auto values = amf0_decode_all(wire);
  ASSERT_TRUE(values.ok());
  ASSERT_EQ(values->size(), 3u);
  EXPECT_EQ((*values)[0].string, "connect");
  EXPECT_EQ((*values)[1].number, 1.0);
  EXPECT_EQ((*values)[2].get_string("app"), "live");
  EXPECT_EQ((*values)[2].get_string("type"), "nonprivate");
}

TEST(RtmpAmf0, EcmaArrayCountIsAdvisory) {
  // count says 5 but there is one property: encoders get this wrong, the end marker decides.
  Bytes wire = {0x08, 0, 0, 0, 5, 0x00, 0x01, 'k', 0x01, 0x01, 0x00, 0x00, 0x09};
  size_t offset = 0;
  auto v = amf0_decode(wire, offset);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type, Amf0Value::Type::ecma_array);
  EXPECT_TRUE(v->get("k")->boolean);
}

TEST(RtmpAmf0, MalformedInputIsAnErrorValue) {
  const std::vector<Bytes> bad = {
      {0x00, 0x3F, 0xF0},                    // truncated number
      {0x01},                                // truncated boolean
      {0x02, 0x00, 0x05, 'a', 'b'},          // string shorter than its length
      {0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 'a'},   // long string claiming 4 GiB
      {0x03, 0x00, 0x01, 'a', 0x05},         // object without its end
      {0x03, 0x00, 0x01},                    // truncated key
      {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05},  // strict array count beyond the input
      {0x0B, 0, 0, 0},                       // truncated date
      {0x09},                                // stray object end
      {0x07, 0x00, 0x01},                    // reference: unsupported
      {0x11, 0x01},                          // AMF3 switch: unsupported
      {0x10, 0x00, 0x01, 'T'},               // typed object: unsupported
      {0x42},                                // unknown marker
  };
  for (const auto& b : bad) {
    size_t offset = 0;
    auto v = amf0_decode(b, offset);
    EXPECT_FALSE(v.ok()) << "input starting with " << int(b[0]);
    EXPECT_EQ(offset, 0u);
    EXPECT_FALSE(amf0_decode_all(b).ok());
  }
}

TEST(RtmpAmf0, NestingDepthIsLimited) {
  auto build = [](int depth) {
    Bytes wire;
    for (int i = 0; i < depth; ++i) wire.insert(wire.end(), {0x03, 0x00, 0x01, 'x'});
    wire.push_back(0x05);
    for (int i = 0; i < depth; ++i) wire.insert(wire.end(), {0x00, 0x00, 0x09});
    return wire;
  };
  size_t offset = 0;
  EXPECT_TRUE(amf0_decode(build(10), offset).ok());
  offset = 0;
  auto deep = amf0_decode(build(100000), offset);  // never recurses 100000 deep
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("deep"), std::string::npos);
  offset = 0;
  EXPECT_FALSE(amf0_decode(build(10), offset, 5).ok());
}

}  // namespace
}  // namespace sreda::ingest::rtmp
