// RtmpServer with real publishers on 127.0.0.1: ffmpeg (librtmp-style digest handshake) and GStreamer's
// rtmp2sink; the received FLV tags are written to a file that ffprobe must read as H.264 320x240 + AAC.
// Hostile clients (garbage, truncated handshake, a huge declared message) get closed, and a normal
// publish right after still works.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/ingest/rtmp/amf0.h"
#include "server/ingest/rtmp/chunk_writer.h"
#include "server/ingest/rtmp/rtmp_server.h"
#include "tests/media/run_command.h"

namespace sreda::ingest::rtmp {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// Accepts "testkey", rejects everything else; keeps what each publish delivered.
class TestHandler : public PublishHandler {
 public:
  struct Publish {
    PublishRequest request;
    std::vector<FlvTag> tags;
    bool accepted = false;
    int ends = 0;
    std::string end_reason;
  };

  explicit TestHandler(bool decide_from_other_thread) : other_thread_(decide_from_other_thread) {}
  ~TestHandler() override {
    for (auto& t : deciders_) t.join();
  }

  void on_publish(SessionId id, const PublishRequest& request, PublishDecision decide, Disconnect) override {
    bool ok = request.stream_key == "testkey" && request.app == "live";
    {
      std::lock_guard lock(mutex_);
      publishes_[id].request = request;
      publishes_[id].accepted = ok;
    }
    if (other_thread_) {
      deciders_.emplace_back([decide, ok] {
        std::this_thread::sleep_for(50ms);  // the answer comes later, from another thread
        decide(ok, ok ? "" : "unknown stream key");
      });
    } else {
      decide(ok, ok ? "" : "unknown stream key");
    }
  }

  bool on_flv_tag(SessionId id, FlvTag tag) override {
    std::lock_guard lock(mutex_);
    ++calls_;
    if (calls_ > refuse_from_ && calls_ <= refuse_to_) {  // a consumer whose queue is full
      refused_ = true;
      return false;
    }
    if (refused_ && !resumed_at_.has_value()) resumed_at_ = publishes_[id].tags.size();
    publishes_[id].tags.push_back(std::move(tag));
    return true;
  }

  // Makes on_flv_tag calls (from, to] report a full queue.
  void refuse_calls(int from, int to) {
    std::lock_guard lock(mutex_);
    refuse_from_ = from;
    refuse_to_ = to;
  }
  std::optional<size_t> resumed_at() {
    std::lock_guard lock(mutex_);
    return resumed_at_;
  }

  void on_end(SessionId id, const std::string& reason) override {
    std::lock_guard lock(mutex_);
    ++publishes_[id].ends;
    publishes_[id].end_reason = reason;
    cv_.notify_all();
  }

  // Waits until `count` publishes have ended.
  bool wait_ended(size_t count, std::chrono::seconds deadline) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [&] {
      size_t ended = 0;
      for (auto& [id, p] : publishes_) ended += p.ends > 0;
      return ended >= count;
    });
  }

  std::map<SessionId, Publish> snapshot() {
    std::lock_guard lock(mutex_);
    return publishes_;
  }

 private:
  bool other_thread_;
  int calls_ = 0;
  int refuse_from_ = 0;
  int refuse_to_ = 0;
  bool refused_ = false;
  std::optional<size_t> resumed_at_;
  std::vector<std::thread> deciders_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<SessionId, Publish> publishes_;
};

using test::CommandResult;
using test::run_command;

std::filesystem::path write_flv(const std::vector<FlvTag>& tags, const std::string& name) {
  auto path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()) + ".flv");
  std::vector<uint8_t> bytes;
  auto header = flv_file_header(true, true);
  bytes.assign(header.begin(), header.end());
  for (const auto& tag : tags) append_flv_tag(tag, bytes);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// "codec_type=video\ncodec_name=h264\n..." of ffprobe's default writer, one value per line.
std::string probe(const std::filesystem::path& file) {
  return run_command(
             "ffprobe -v error -show_entries stream=codec_type,codec_name,width,height:format=duration "
             "-of default=noprint_wrappers=1 " +
             file.string())
      .output;
}

double probed_duration(const std::string& probe_text) {
  auto pos = probe_text.find("duration=");
  if (pos == std::string::npos) return -1;
  return std::atof(probe_text.c_str() + pos + 9);
}

class RtmpServerTest : public ::testing::Test {
 protected:
  void start(bool decide_from_other_thread, size_t max_connections = 64) {
    handler_ = std::make_unique<TestHandler>(decide_from_other_thread);
    RtmpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.handshake_timeout = 1500ms;
    options.publish_timeout = 10s;
    options.idle_timeout = 10s;
    options.max_connections = max_connections;
    server_ = std::make_unique<RtmpServer>(io_, options, *handler_);
    auto r = server_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_NE(server_->port(), 0);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->stop();
      server_->stop();  // idempotent
    }
    if (thread_.joinable()) thread_.join();  // run() returns once every connection has closed
    server_.reset();
    handler_.reset();
  }

  std::string url(const std::string& key) {
    return "rtmp://127.0.0.1:" + std::to_string(server_->port()) + "/live/" + key;
  }

  CommandResult ffmpeg_publish(const std::string& key) {
    return run_command(
        "timeout 60 ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i "
        "testsrc=size=320x240:rate=25 "
        "-f lavfi -i sine -t 3 -c:v libx264 -preset ultrafast -g 25 -c:a aac -f flv " +
        url(key));
  }

  // The one accepted publish, checked as a file by ffprobe.
  void expect_good_publish(const std::string& name, bool check_duration) {
    ASSERT_TRUE(handler_->wait_ended(1, 30s));
    TestHandler::Publish accepted;
    int accepted_count = 0;
    for (auto& [id, p] : handler_->snapshot()) {
      if (!p.accepted) continue;
      accepted = p;
      ++accepted_count;
      EXPECT_EQ(p.ends, 1);
    }
    ASSERT_EQ(accepted_count, 1);
    EXPECT_EQ(accepted.request.stream_key, "testkey");
    EXPECT_EQ(accepted.request.remote_address.rfind("127.0.0.1:", 0), 0u);
    ASSERT_GT(accepted.tags.size(), 50u);
    auto file = write_flv(accepted.tags, name);
    std::string info = probe(file);
    EXPECT_NE(info.find("codec_name=h264"), std::string::npos) << info;
    EXPECT_NE(info.find("width=320"), std::string::npos) << info;
    EXPECT_NE(info.find("height=240"), std::string::npos) << info;
    EXPECT_NE(info.find("codec_name=aac"), std::string::npos) << info;
    if (check_duration) {
      EXPECT_NEAR(probed_duration(info), 3.0, 0.5) << info;
    }
    std::filesystem::remove(file);
  }

  asio::io_context io_;
  std::unique_ptr<TestHandler> handler_;
  std::unique_ptr<RtmpServer> server_;
  std::thread thread_;
};

TEST_F(RtmpServerTest, FfmpegPublishesH264AndAac) {
  start(false);
  auto r = ffmpeg_publish("testkey");
  EXPECT_EQ(r.status, 0) << r.output;
  expect_good_publish("rtmp-ffmpeg", true);
}

TEST_F(RtmpServerTest, FullConsumerQueueDropsUntilTheNextKeyframe) {
  start(false);
  handler_->refuse_calls(30, 31);  // one refusal: then only a keyframe is offered
  auto r = ffmpeg_publish("testkey");
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_TRUE(handler_->wait_ended(1, 30s));
  auto publishes = handler_->snapshot();
  ASSERT_EQ(publishes.size(), 1u);
  const auto& tags = publishes.begin()->second.tags;
  auto resumed = handler_->resumed_at();
  ASSERT_TRUE(resumed.has_value());
  ASSERT_LT(*resumed, tags.size());
  // Refused tags are gone, and delivery restarts with a video keyframe (not mid-GOP).
  EXPECT_EQ(tags[*resumed].type, FlvTag::video);
  EXPECT_TRUE(tags[*resumed].keyframe);
  EXPECT_GT(server_->stats().tags_dropped.load(), 10u);
}

TEST_F(RtmpServerTest, WrongKeyIsRefusedAndNoMediaArrives) {
  start(true);
  auto r = ffmpeg_publish("wrongkey");
  EXPECT_NE(r.status, 0) << r.output;
  ASSERT_TRUE(handler_->wait_ended(1, 30s));
  auto publishes = handler_->snapshot();
  ASSERT_EQ(publishes.size(), 1u);
  EXPECT_FALSE(publishes.begin()->second.accepted);
  EXPECT_TRUE(publishes.begin()->second.tags.empty());
  EXPECT_EQ(publishes.begin()->second.ends, 1);
}

TEST_F(RtmpServerTest, GstreamerRtmp2sinkPublishes) {
  start(true);
  auto r = run_command(
      "timeout 60 gst-launch-1.0 -q videotestsrc num-buffers=75 ! "
      "video/x-raw,width=320,height=240,framerate=25/1 ! x264enc tune=zerolatency key-int-max=25 ! "
      "flvmux streamable=true name=m audiotestsrc num-buffers=130 samplesperbuffer=1024 ! "
      "audio/x-raw,rate=44100 ! voaacenc ! m. m. ! rtmp2sink location=" +
      url("testkey"));
  EXPECT_EQ(r.status, 0) << r.output;
  expect_good_publish("rtmp-gst", false);
}

// Raw socket helpers for hostile clients.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : socket_(io_) {
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(const std::vector<uint8_t>& bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
  }
  std::vector<uint8_t> read_exactly(size_t n) {
    std::vector<uint8_t> b(n);
    boost::system::error_code ec;
    asio::read(socket_, asio::buffer(b), ec);
    if (ec) b.clear();
    return b;
  }
  // True when the server closed the connection within `deadline` (reading whatever it still sends).
  bool closed_by_server(std::chrono::milliseconds deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{socket_.native_handle(), POLLIN, 0};
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now())
              .count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

TEST_F(RtmpServerTest, HostileClientsAreClosedAndAPublishStillWorks) {
  start(false);
  {
    RawClient garbage(server_->port());
    std::string text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    garbage.send(std::vector<uint8_t>(text.begin(), text.end()));
    EXPECT_TRUE(garbage.closed_by_server(5s));
  }
  {
    RawClient truncated(server_->port());
    std::vector<uint8_t> partial(1 + 700, 0);
    partial[0] = 3;
    truncated.send(partial);
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(truncated.closed_by_server(10s));  // the 1.5 s handshake timeout
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s);
  }
  {
    RawClient huge(server_->port());
    std::vector<uint8_t> c0c1(1 + 1536, 0);
    c0c1[0] = 3;
    huge.send(c0c1);
    ASSERT_EQ(huge.read_exactly(1 + 2 * 1536).size(), 1u + 2 * 1536);
    std::vector<uint8_t> c2(1536, 0);
    huge.send(c2);
    huge.send({0x04, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x09, 1, 0, 0, 0});  // declares a 16 MiB message
    EXPECT_TRUE(huge.closed_by_server(5s));
  }
  auto r = ffmpeg_publish("testkey");
  EXPECT_EQ(r.status, 0) << r.output;
  expect_good_publish("rtmp-after-hostile", true);
  EXPECT_TRUE(handler_->snapshot().size() == 1u);  // the hostile clients never reached on_publish
}

// A publisher that sends a steady stream (the server then coalesces its reads) and then stalls without
// closing, as an encoder on a frozen machine would: what it sent last still reaches the consumer.
TEST_F(RtmpServerTest, StalledPublisherStillDeliversItsLastTag) {
  start(false);
  RawClient c(server_->port());
  std::vector<uint8_t> c0c1(1 + 1536, 0);
  c0c1[0] = 3;
  c.send(c0c1);
  auto s0s1s2 = c.read_exactly(1 + 2 * 1536);
  ASSERT_EQ(s0s1s2.size(), 1u + 2 * 1536);
  c.send(std::vector<uint8_t>(s0s1s2.begin() + 1, s0s1s2.begin() + 1 + 1536));  // C2 echoes S1
  ChunkWriter w;
  std::vector<uint8_t> out;
  using V = Amf0Value;
  w.write(3, 20, 0, 0,
          amf0_encode_all({V::make_string("connect"), V::make_number(1),
                           V::make_object({{"app", V::make_string("live")}})}),
          out);
  w.write(3, 20, 0, 0, amf0_encode_all({V::make_string("createStream"), V::make_number(2), V::make_null()}), out);
  w.write(8, 20, 1, 0,
          amf0_encode_all({V::make_string("publish"), V::make_number(3), V::make_null(), V::make_string("testkey"),
                           V::make_string("live")}),
          out);
  c.send(out);
  // 1.2 s of 6 KB pictures every 20 ms (300 KB/s), then one small last tag, then nothing (the socket stays open).
  auto tags_with = [&](uint8_t marker) {
    size_t n = 0;
    for (auto& [id, p] : handler_->snapshot())
      for (auto& t : p.tags) n += t.data.size() > 5 && t.data[5] == marker;
    return n;
  };
  for (uint32_t i = 0; i < 60; ++i) {
    std::vector<uint8_t> picture(6000, 0x11);
    picture[0] = 0x27;
    picture[1] = 1;
    out.clear();
    w.write(6, 9, 1, i * 20, picture, out);
    c.send(out);
    std::this_thread::sleep_for(20ms);  // the publisher's pace, not a wait for the server
  }
  out.clear();
  w.write(6, 9, 1, 1200, std::vector<uint8_t>{0x27, 1, 0, 0, 0, 0xAB, 0xAB}, out);
  c.send(out);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (tags_with(0xAB) == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(tags_with(0xAB), 1u) << "the last tag waits for bytes that never come";
  EXPECT_GE(tags_with(0x11), 50u);
  auto publishes = handler_->snapshot();
  ASSERT_EQ(publishes.size(), 1u);
  EXPECT_EQ(publishes.begin()->second.ends, 0) << "the connection is still open";
}

}  // namespace
}  // namespace sreda::ingest::rtmp

namespace sreda::ingest::rtmp {
namespace {

TEST_F(RtmpServerTest, WhenFullTheOldestConnectionNotPublishingMakesRoom) {
  start(false, 2);
  RawClient a(server_->port());
  RawClient b(server_->port());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server_->connection_count() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // polling a condition with a deadline
  }
  ASSERT_EQ(server_->connection_count(), 2u);
  // Two silent connections fill the server; a studio still gets in: the oldest silent one is closed.
  auto r = ffmpeg_publish("testkey");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(a.closed_by_server(5s));
  EXPECT_GE(server_->stats().evicted.load(), 1u);
  expect_good_publish("rtmp-after-eviction", true);
}

TEST_F(RtmpServerTest, ConnectionsPerAddressAreCapped) {
  handler_ = std::make_unique<TestHandler>(false);
  RtmpServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.max_connections_per_address = 2;
  options.handshake_timeout = std::chrono::seconds(60);  // a and b may wait before their handshakes below
  server_ = std::make_unique<RtmpServer>(io_, options, *handler_);
  ASSERT_TRUE(server_->start().ok());
  thread_ = std::thread([this] { io_.run(); });
  RawClient a(server_->port());
  RawClient b(server_->port());
  RawClient c(server_->port());
  EXPECT_TRUE(c.closed_by_server(5s));
  EXPECT_EQ(server_->stats().refused_per_address.load(), 1u);
  // The two within the cap are still served: the server answers their handshakes (not a wall-clock window).
  for (RawClient* kept : {&a, &b}) {
    std::vector<uint8_t> c0c1(1 + 1536, 0);
    c0c1[0] = 3;
    kept->send(c0c1);
    EXPECT_EQ(kept->read_exactly(1 + 2 * 1536).size(), 1u + 2 * 1536);
  }
}

}  // namespace
}  // namespace sreda::ingest::rtmp
