// Which variant of a partner's HLS a pulled studio takes (server/relay/pull_source.h choose_variant).
#include <gtest/gtest.h>

#include "server/relay/pull_source.h"

namespace sreda::relay {
namespace {

const char* kSredaMaster =
    "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=251972,AVERAGE-BANDWIDTH=246984,RESOLUTION=320x240,FRAME-RATE=25.000,"
    "CODECS=\"avc1.42c00d,mp4a.40.2\"\nsource/index.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=2600000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\"\n720p/"
    "index.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=72101,AVERAGE-BANDWIDTH=72100,CODECS=\"mp4a.40.2\"\naudio/index.m3u8\n";

TEST(PullVariant, SredasSourceVariantIsPulledAndNamed) {
  auto v = choose_variant("http://partner.example:8080/live/7/master.m3u8?x=1", kSredaMaster);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->uri, "http://partner.example:8080/live/7/source/index.m3u8");
  EXPECT_EQ(v->words, "320x240 0.25 Mb/s: source/index.m3u8");
}

TEST(PullVariant, OtherServersHighestVideoVariantNotAudioOnly) {
  const std::string master =
      "#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\r\nlow.m3u8\r\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=9000000,CODECS=\"mp4a.40.2\"\r\n/audio-only.m3u8\r\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\r\nhttps://cdn.example/hi.m3u8\r\n";
  auto v = choose_variant("https://origin.example/a/b/master.m3u8", master);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->uri, "https://cdn.example/hi.m3u8");
  EXPECT_EQ(v->words, "1280x720 3.00 Mb/s: https://cdn.example/hi.m3u8");
}

TEST(PullVariant, MediaPlaylistIsPulledAsGivenAndOthersAreRefused) {
  auto media = choose_variant("http://h/live/1/source/index.m3u8",
                              "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg0.m4s\n");
  ASSERT_TRUE(media.ok());
  EXPECT_EQ(media->uri, "http://h/live/1/source/index.m3u8");
  EXPECT_FALSE(choose_variant("http://h/x", "<html>not found</html>").ok());
  EXPECT_FALSE(
      choose_variant("http://h/x", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"mp4a.40.2\"\na.m3u8\n")
          .ok());
}

}  // namespace
}  // namespace sreda::relay
