// SRT streamid parsing (server/ingest/srt/stream_id.h): the accepted forms, playback refused as a mode,
// and hostile input (empty, very long, odd characters) refused without echoing the key.
#include <gtest/gtest.h>

#include <string>

#include "server/ingest/srt/stream_id.h"

namespace sreda::ingest::srt {
namespace {

StreamId ok(const std::string& text) {
  auto r = parse_stream_id(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : StreamId{};
}

std::string error_of(const std::string& text) {
  auto r = parse_stream_id(text);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return {};
  EXPECT_EQ(r.error().code, "bad_streamid");
  return r.error().message;
}

TEST(SrtStreamId, PublishPrefix) {
  auto id = ok("publish:k1");
  EXPECT_EQ(id.mode, StreamMode::publish);
  EXPECT_EQ(id.key, "k1");
  EXPECT_EQ(ok("publish:Ab-_.~0123456789/x:y").key, "Ab-_.~0123456789/x:y");  // the rest is the key, verbatim
}

TEST(SrtStreamId, PlaybackPrefixesAreRequests) {
  EXPECT_EQ(ok("read:k1").mode, StreamMode::request);
  EXPECT_EQ(ok("play:k1").mode, StreamMode::request);
  EXPECT_EQ(ok("request:k1").mode, StreamMode::request);
  EXPECT_EQ(ok("read:k1").key, "k1");
}

TEST(SrtStreamId, AccessControlForm) {
  auto id = ok("#!::r=k1,m=publish");
  EXPECT_EQ(id.mode, StreamMode::publish);
  EXPECT_EQ(id.key, "k1");
  id = ok("#!::m=publish,r=k2");
  EXPECT_EQ(id.mode, StreamMode::publish);
  EXPECT_EQ(id.key, "k2");
  id = ok("#!::u=alice,r=k3,h=example.org,m=publish,t=stream,s=abc");  // other items are ignored
  EXPECT_EQ(id.mode, StreamMode::publish);
  EXPECT_EQ(id.key, "k3");
  EXPECT_EQ(ok("#!::r=k1,m=request").mode, StreamMode::request);
  EXPECT_EQ(ok("#!::r=k1,m=bidirectional").mode, StreamMode::bidirectional);
  EXPECT_EQ(ok("#!::r=k1").mode, StreamMode::request);  // no m: the SRT spec's default
  EXPECT_EQ(ok("#!::r=k=1,m=publish").key, "k=1");      // only the first '=' splits
}

TEST(SrtStreamId, MalformedAccessControl) {
  EXPECT_NE(error_of("#!::m=publish"), "");
  EXPECT_NE(error_of("#!::"), "");
  EXPECT_NE(error_of("#!::r=,m=publish"), "");
  EXPECT_NE(error_of("#!::r=k1,,m=publish"), "");
  EXPECT_NE(error_of("#!::r=k1,m=publish,"), "");
  EXPECT_NE(error_of("#!::r=k1,m=publish,=x"), "");
  EXPECT_NE(error_of("#!::r=k1,m=record"), "");
  EXPECT_NE(error_of("#!::r=k1,r=k2,m=publish"), "");  // repeated item
  EXPECT_NE(error_of("#!::r=k1,m=publish,m=request"), "");
  EXPECT_NE(error_of("#!:{r=k1,m=publish}"), "");  // nested syntax not supported
  EXPECT_NE(error_of("#!::r=k 1,m=publish"), "");
}

TEST(SrtStreamId, MalformedPrefixed) {
  EXPECT_NE(error_of(""), "");
  EXPECT_NE(error_of("publish:"), "");
  EXPECT_NE(error_of("k1"), "");  // a bare key is not a publish request
  EXPECT_NE(error_of("Publish:k1"), "");
  EXPECT_NE(error_of("publish"), "");
  EXPECT_NE(error_of("publish: k1"), "");
  EXPECT_NE(error_of("publish:k1 "), "");
  EXPECT_NE(error_of("publish:k\t1"), "");
  EXPECT_NE(error_of("publish:k\n1"), "");
  EXPECT_NE(error_of("publish:k\x7f"), "");
  EXPECT_NE(error_of("publish:k\xc3\xa9"), "");  // non-ASCII
  EXPECT_NE(error_of(std::string("publish:k\0"
                                 "1",
                                 10)),
            "");
}

TEST(SrtStreamId, HostileLengths) {
  std::string long_key(max_stream_key_length, 'a');
  EXPECT_EQ(ok("publish:" + long_key).key, long_key);
  EXPECT_NE(error_of("publish:" + long_key + "a"), "");
  EXPECT_NE(error_of(std::string(max_stream_id_length + 1, 'x')), "");
  EXPECT_NE(error_of("publish:" + std::string(100000, 'k')), "");
  EXPECT_NE(error_of("#!::" + std::string(500, ',')), "");
  EXPECT_NE(error_of(std::string(300, '\xff')), "");
}

TEST(SrtStreamId, ErrorsNeverEchoTheKey) {
  for (const std::string text :
       {"publish:secretkey1 x", "#!::r=secretkey1 x,m=publish", "#!::r=secretkey1,m=x"}) {
    auto r = parse_stream_id(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.find("secretkey1"), std::string::npos) << r.error().message;
  }
}

TEST(SrtStreamId, MaskKey) {
  EXPECT_EQ(mask_key("abcdefghij"), "abcd…");
  EXPECT_EQ(mask_key("abcdef"), "abc…");
  EXPECT_EQ(mask_key("k1"), "k…");
  EXPECT_EQ(mask_key("k"), "…");
  EXPECT_EQ(mask_key(""), "…");
  EXPECT_EQ(mask_key("a\nbcdefghi"), "a?bc…");
}

TEST(SrtStreamId, Printable) {
  EXPECT_EQ(printable("hall-1"), "hall-1");
  EXPECT_EQ(printable("a\x01\xff"
                      "b"),
            "a??b");
  EXPECT_EQ(printable(std::string(100, 'x'), 8), "xxxxxxxx");
}

}  // namespace
}  // namespace sreda::ingest::srt
