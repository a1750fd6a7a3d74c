// The WHEP feed and its fan-out with real GStreamer media: an H.264 source with B-frames (what an RTMP studio
// sends) is encoded without B-frames, payloaded once, and reaches two viewers with their own payload types and
// sequence numbers; each viewer's video starts at a keyframe and decodes; a viewer that fell behind loses
// packets (counted) and resumes at a keyframe the encoder made on request.
#include <gst/app/gstappsrc.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "pipelines/ladder/ladder.h"
#include "server/realtime/rtp_packets.h"
#include "server/realtime/whep_fanout.h"
#include "server/realtime/whep_feed.h"
#include "tests/media/encoded_media.h"

namespace sreda::realtime {
namespace {

using package::test_media::Encoded;
using package::test_media::run_encoder;

struct Packet {
  media::TrackKind track;
  std::vector<uint8_t> bytes;
};

class FakeViewer : public ViewerLink {
 public:
  bool send(media::TrackKind track, GstBuffer* packet) override {
    std::vector<uint8_t> b(gst_buffer_get_size(packet));
    gst_buffer_extract(packet, 0, b.data(), b.size());
    gst_buffer_unref(packet);
    std::lock_guard<std::mutex> l(mutex);
    packets.push_back({track, std::move(b)});
    return true;
  }
  int64_t queued_ms(media::TrackKind) const override { return slow ? 10'000 : 0; }
  bool ready() const override { return connected; }
  void close() override {}
  std::vector<Packet> take() {
    std::lock_guard<std::mutex> l(mutex);
    return packets;
  }
  // The packets once there are at least `n` (the fan-out's sender threads send them), or after 10 s.
  std::vector<Packet> take(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (take().size() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return take();
  }
  std::atomic<bool> slow{false};
  std::atomic<bool> connected{true};
  std::mutex mutex;
  std::vector<Packet> packets;
};

int pt_of(const Packet& p) { return p.bytes[1] & 0x7f; }
uint16_t seq_of(const Packet& p) { return static_cast<uint16_t>(p.bytes[2] << 8 | p.bytes[3]); }
uint32_t timestamp_of(const Packet& p) {
  return static_cast<uint32_t>(p.bytes[4]) << 24 | static_cast<uint32_t>(p.bytes[5]) << 16 |
         static_cast<uint32_t>(p.bytes[6]) << 8 | p.bytes[7];
}

// A minimal RTP packet of a feed: payload type 96, the given sequence number and timestamp, 4 payload bytes.
GstBuffer* feed_packet(uint16_t seq, uint32_t timestamp) {
  const uint8_t bytes[16] = {0x80, 96, static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq),
                             static_cast<uint8_t>(timestamp >> 24), static_cast<uint8_t>(timestamp >> 16),
                             static_cast<uint8_t>(timestamp >> 8), static_cast<uint8_t>(timestamp),
                             0x12, 0x34, 0x56, 0x78, 0x61, 0xe0, 0x00, 0x01};  // SSRC, a non-IDR slice
  GstBuffer* b = gst_buffer_new_allocate(nullptr, sizeof bytes, nullptr);
  gst_buffer_fill(b, 0, bytes, sizeof bytes);
  return b;
}

// Decodes a viewer's video packets (as a browser would: depayload, decode) and counts the pictures.
int decoded_frames(const std::vector<Packet>& packets, int pt) {
  std::string launch = "appsrc name=src format=time caps=application/x-rtp,media=video,encoding-name=H264,"
                       "clock-rate=90000,payload=" + std::to_string(pt) +
                       " ! rtph264depay ! h264parse ! " + pipelines::video_decoder_for("h264") +
                       " ! appsink name=sink sync=false";
  GError* error = nullptr;
  auto pipeline = gst::GstRef<GstElement>::adopt(gst_parse_launch(launch.c_str(), &error));
  if (error) {
    ADD_FAILURE() << error->message;
    g_clear_error(&error);
    return 0;
  }
  auto src = gst::GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "src"));
  auto sink = gst::GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  GstClockTime t = 0;
  for (const auto& p : packets) {
    if (p.track != media::TrackKind::video) continue;
    GstBuffer* b = gst_buffer_new_allocate(nullptr, p.bytes.size(), nullptr);
    gst_buffer_fill(b, 0, p.bytes.data(), p.bytes.size());
    GST_BUFFER_PTS(b) = t += GST_MSECOND;
    gst_app_src_push_buffer(GST_APP_SRC(src.get()), b);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  int frames = 0;
  while (auto s = gst::GstRef<GstSample>::adopt(gst_app_sink_pull_sample(GST_APP_SINK(sink.get())))) ++frames;
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return frames;
}

class WhepFeedMediaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
};

TEST_F(WhepFeedMediaTest, EncodesBFramesOnceForTwoViewersWithTheirPayloadTypes) {
  // 3 s of 320x240 at 30 fps with B-frames and a keyframe every 2 s, and AAC: an RTMP studio.
  Encoded v = run_encoder(
      "videotestsrc num-buffers=90 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc bframes=2 key-int-max=60 speed-preset=ultrafast ! video/x-h264,stream-format=avc,alignment=au ! "
      "h264parse ! appsink name=sink sync=false");
  Encoded a = run_encoder(
      "audiotestsrc num-buffers=140 ! audio/x-raw,rate=48000,channels=2 ! voaacenc ! aacparse ! "
      "audio/mpeg,stream-format=raw ! appsink name=sink sync=false");
  ASSERT_GT(v.units.size(), 80u);
  ASSERT_FALSE(a.units.empty());
  const media::MediaFacts facts = package::test_media::facts_of(v, &a);
  auto units = package::test_media::interleaved(v, &a, 200'000);

  FakeViewer one, two, three;
  std::atomic<int> keyframe_requests{0};
  WhepFeed* feed_ptr = nullptr;
  FanoutCallbacks callbacks;
  callbacks.keyframe_wanted = [&] {
    keyframe_requests++;
    if (feed_ptr) feed_ptr->force_keyframe();
  };
  Fanout fanout(500, 60'000, callbacks, 2);  // two sender threads: viewers one and three share one
  FeedOptions options;
  options.max_height = 240;
  options.video_kbps = 300;
  WhepFeed feed(7, FeedMode::encode, facts, options, 0x1234, 0x5678, fanout);
  feed_ptr = &feed;
  std::string error;
  ASSERT_TRUE(feed.start(error)) << error;
  EXPECT_EQ(feed.width(), 320);
  EXPECT_EQ(feed.height(), 240);
  fanout.add(1, std::shared_ptr<ViewerLink>(&one, [](ViewerLink*) {}), 102, 109);
  fanout.add(2, std::shared_ptr<ViewerLink>(&two, [](ViewerLink*) {}), 96, 111);
  two.slow = true;  // viewer two starts behind: everything for it is dropped
  fanout.add(3, std::shared_ptr<ViewerLink>(&three, [](ViewerLink*) {}), 102, 109);
  three.connected = false;  // viewer three is still connecting: skipped, nothing counted as dropped

  const auto start = std::chrono::steady_clock::now();
  const int64_t first_us = units.front().dts_us;
  for (const auto& u : units) {
    // Paced as a live studio (the encoder's queue drops frames it cannot take in time).
    std::this_thread::sleep_until(start + std::chrono::microseconds(u.dts_us - first_us));
    if (u.track == media::TrackKind::video && u.dts_us - first_us > 1'200'000) two.slow = false;  // caught up
    if (u.track == media::TrackKind::video && u.dts_us - first_us > 1'500'000) three.connected = true;
    feed.push(u);
  }
  // Wait (bounded) for the encoder and payloaders to deliver the last frames.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  size_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const size_t now = one.take().size();
    if (now == seen && now > 0) break;
    seen = now;
  }
  feed.stop();

  for (auto* viewer : {&one, &two, &three}) {
    const auto packets = viewer->take();
    const int vpt = viewer == &two ? 96 : 102, apt = viewer == &two ? 111 : 109;
    const Packet* first_video = nullptr;
    int video = 0, audio = 0;
    uint16_t last_seq[2] = {0, 0};
    bool have_seq[2] = {false, false};
    for (const auto& p : packets) {
      const int t = p.track == media::TrackKind::video ? 0 : 1;
      EXPECT_EQ(pt_of(p), t == 0 ? vpt : apt);
      if (have_seq[t]) {
        EXPECT_EQ(seq_of(p), static_cast<uint16_t>(last_seq[t] + 1)) << "a gap in the viewer's numbers";
      }
      last_seq[t] = seq_of(p);
      have_seq[t] = true;
      (t == 0 ? video : audio)++;
      if (t == 0 && !first_video) first_video = &p;
    }
    ASSERT_NE(first_video, nullptr);
    EXPECT_TRUE(h264_rtp_starts_keyframe(first_video->bytes.data(), first_video->bytes.size()))
        << "a viewer's video must start at a keyframe";
    EXPECT_GT(audio, 20);
    const int frames = decoded_frames(packets, vpt);
    // Viewer one saw it all (less what the encoder's queue dropped); viewer two from a keyframe after 1.2 s,
    // three from one after 1.5 s: the encode makes keyframes only on request, so the fan-out asked for them.
    EXPECT_GT(frames, viewer == &one ? 45 : viewer == &two ? 20 : 15)
        << "viewer " << (viewer == &one ? 1 : viewer == &two ? 2 : 3);
  }
  EXPECT_GT(fanout.dropped(), 0);
  EXPECT_GE(keyframe_requests.load(), 2);
  EXPECT_GE(feed.keyframes_forced(), 1);
}

}  // namespace
}  // namespace sreda::realtime

namespace sreda::realtime {
namespace {

TEST_F(WhepFeedMediaTest, TimestampsRunOnAcrossANewFeed) {
  // A viewer connected across a feed rebuild (the studio reconnected): the new feed's payloaders start at
  // their own random timestamps, the viewer's continue from the last one plus the pause.
  FakeViewer viewer;
  Fanout fanout(500, 60'000, {});
  fanout.add(1, std::shared_ptr<ViewerLink>(&viewer, [](ViewerLink*) {}), 102, 111);
  auto send = [&](uint16_t seq, uint32_t ts) {
    GstBuffer* b = feed_packet(seq, ts);
    fanout.on_rtp(media::TrackKind::audio, b);  // audio: no keyframe to wait for
    gst_buffer_unref(b);
  };
  send(100, 4'000'000'000u);
  send(101, 4'000'000'960u);
  ASSERT_EQ(viewer.take(2).size(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  fanout.new_source();
  send(7, 123);  // the new feed's first packet, far from the old feed's timestamps
  send(8, 123 + 960);
  const auto packets = viewer.take(4);
  ASSERT_EQ(packets.size(), 4u);
  EXPECT_EQ(timestamp_of(packets[1]) - timestamp_of(packets[0]), 960u);
  const uint32_t pause = timestamp_of(packets[2]) - timestamp_of(packets[1]);  // 48 kHz ticks
  EXPECT_GE(pause, 48'000u * 300 / 1000 - 48) << "the pause as it was";
  EXPECT_LT(pause, 48'000u * 5) << "a jump, not the pause";
  EXPECT_EQ(timestamp_of(packets[3]) - timestamp_of(packets[2]), 960u);
  EXPECT_EQ(seq_of(packets[2]), static_cast<uint16_t>(seq_of(packets[1]) + 1));
}

}  // namespace
}  // namespace sreda::realtime

namespace sreda::realtime {
namespace {

// A viewer whose connection takes its first packet only when released (a stuck send), for at most 20 s.
class StuckViewer : public FakeViewer {
 public:
  bool send(media::TrackKind track, GstBuffer* packet) override {
    std::unique_lock<std::mutex> l(gate_mutex);
    gate.wait_for(l, std::chrono::seconds(20), [&] { return released; });
    l.unlock();
    return FakeViewer::send(track, packet);
  }
  void release() {
    {
      std::lock_guard<std::mutex> l(gate_mutex);
      released = true;
    }
    gate.notify_all();
  }
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool released = false;
};

TEST_F(WhepFeedMediaTest, AStuckViewerDelaysOnlyItsOwnSenderThread) {
  // Two sender threads: the stuck viewer takes the first, the other viewer the second. The feed's thread
  // (here the test's) hands packets over without waiting, and the other viewer gets them all meanwhile.
  StuckViewer stuck;
  FakeViewer other;
  Fanout fanout(60'000, 60'000, {}, 2);
  fanout.add(1, std::shared_ptr<ViewerLink>(&stuck, [](ViewerLink*) {}), 102, 111);
  fanout.add(2, std::shared_ptr<ViewerLink>(&other, [](ViewerLink*) {}), 102, 111);
  constexpr int kPackets = 20;
  for (int i = 0; i < kPackets; ++i) {
    GstBuffer* b = feed_packet(static_cast<uint16_t>(i), static_cast<uint32_t>(i * 960));
    fanout.on_rtp(media::TrackKind::audio, b);
    gst_buffer_unref(b);
  }
  const auto got = other.take(kPackets);
  EXPECT_EQ(got.size(), static_cast<size_t>(kPackets)) << "the other viewer waited for the stuck one";
  EXPECT_TRUE(stuck.take().empty());
  stuck.release();
  const auto late = stuck.take(kPackets);
  EXPECT_EQ(late.size(), static_cast<size_t>(kPackets)) << "the stuck viewer's packets were kept (queue_ms 60 s)";
  EXPECT_EQ(fanout.dropped(), 0);
  fanout.remove(1);
  fanout.remove(2);
  EXPECT_EQ(fanout.size(), 0u);
}

}  // namespace
}  // namespace sreda::realtime
