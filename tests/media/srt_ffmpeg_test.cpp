// SrtServer with real publishers on 127.0.0.1: ffmpeg (libsrt caller) publishes H.264 320x240 + AAC in
// MPEG-TS; the received bytes are written to a file that ffprobe must read with the right duration.
// Wrong keys, playback modes and wrong passphrases are refused before any on_publish; two studios publish
// at once on the one port. A libsrt client checks the reject codes, disconnect(), stop(), the idle timeout
// and the consumer-full queue. Every wait has a deadline; every child process is killed at test end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/ingest/srt/srt_server.h"

extern char** environ;

namespace sreda::ingest::srt {
namespace {

using namespace std::chrono_literals;

class TestHandler : public SrtHandler {
 public:
  struct Publish {
    int64_t studio_id = 0;
    std::string remote;
    std::vector<uint8_t> bytes;
    int ends = 0;
    std::string end_reason;
  };

  std::optional<SrtStudio> find_studio(const std::string& key) override {
    if (key == "k1") return SrtStudio{1, "hall-1", ""};
    if (key == "k2") return SrtStudio{2, "library", "correct-horse-01"};
    if (key == "k3") return SrtStudio{3, "museum", ""};
    return std::nullopt;
  }
  bool on_publish(uint64_t id, const SrtStudio& studio, const std::string& remote, Disconnect,
                  std::string& reason) override {
    std::lock_guard lock(mutex_);
    publishes_[id].studio_id = studio.studio_id;
    publishes_[id].remote = remote;
    cv_.notify_all();
    if (refuse_publish_) reason = "studio already live";
    return !refuse_publish_;
  }
  bool on_data(uint64_t id, const uint8_t* data, size_t size) override {
    std::lock_guard lock(mutex_);
    if (refuse_data_calls_ > 0) {
      --refuse_data_calls_;
      return false;
    }
    auto& b = publishes_[id].bytes;
    b.insert(b.end(), data, data + size);
    cv_.notify_all();
    return true;
  }
  void on_end(uint64_t id, const std::string& reason) override {
    std::lock_guard lock(mutex_);
    ++publishes_[id].ends;
    publishes_[id].end_reason = reason;
    cv_.notify_all();
  }
  void on_refused(const std::string& remote, const std::string& reason) override {
    std::lock_guard lock(mutex_);
    refused_.push_back(reason);
    cv_.notify_all();
  }

  bool wait_for(std::chrono::seconds deadline, const std::function<bool()>& condition) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, condition);
  }
  // Under the lock, from inside wait_for conditions or with snapshot().
  size_t ended_count() const {
    size_t n = 0;
    for (auto& [id, p] : publishes_) n += p.ends > 0;
    return n;
  }
  size_t refused_count(const std::string& reason) const {
    return static_cast<size_t>(std::count(refused_.begin(), refused_.end(), reason));
  }
  std::map<uint64_t, Publish> snapshot() {
    std::lock_guard lock(mutex_);
    return publishes_;
  }
  std::vector<std::string> refused() {
    std::lock_guard lock(mutex_);
    return refused_;
  }
  void refuse_publish(bool yes) {
    std::lock_guard lock(mutex_);
    refuse_publish_ = yes;
  }
  void refuse_data_calls(int n) {
    std::lock_guard lock(mutex_);
    refuse_data_calls_ = n;
  }

  std::map<uint64_t, Publish> publishes_;
  std::vector<std::string> refused_;

 private:
  bool refuse_publish_ = false;
  int refuse_data_calls_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
};

// A child process (/bin/sh -c) in its own process group, killed with its group on destruction.
class Child {
 public:
  explicit Child(const std::string& command, const std::filesystem::path& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::string cmd = command;
    char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), cmd.data(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", &actions, &attr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      kill(-pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The exit code, or nullopt if still running at the deadline (-1: killed by a signal).
  std::optional<int> wait(std::chrono::seconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (pid_ > 0 && !status_) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      } else if (std::chrono::steady_clock::now() > until) {
        return std::nullopt;
      } else {
        std::this_thread::sleep_for(20ms);
      }
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("sreda-srt-" + std::to_string(getpid()) + "-" + name);
}

class SrtServerTest : public ::testing::Test {
 protected:
  void expect_second_caller_refused(const SrtServerOptions& options, const std::string& reason);
  void start(SrtServerOptions options = {}) {
    options.listen = "127.0.0.1";
    options.port = 0;
    options.quiet_after_ms = 0;  // every caller in these tests finds the loop asleep and must wake it
    server_ = std::make_unique<SrtServer>(options, handler_);
    auto r = server_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    children_.clear();  // kills what still runs
    if (server_) {
      server_->stop();
      server_->stop();  // idempotent
    }
    for (auto& f : files_) std::filesystem::remove(f);
  }

  std::string url(const std::string& streamid_encoded, const std::string& extra = "") {
    return "srt://127.0.0.1:" + std::to_string(server_->port()) + "?streamid=" + streamid_encoded +
           "&latency=200000" + extra;
  }
  // Starts `ffmpeg … -f mpegts <url>` publishing 3 s of 320x240 H.264 + AAC.
  Child& ffmpeg_publish(const std::string& url, const std::string& name) {
    auto log = temp_path(name + ".log");
    files_.push_back(log);
    logs_[name] = log;
    std::string command =
        "exec timeout 60 ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i "
        "testsrc=size=320x240:rate=25 "
        "-f lavfi -i sine -t 3 -c:v libx264 -preset ultrafast -g 25 -c:a aac -f mpegts '" +
        url + "'";
    children_.push_back(std::make_unique<Child>(command, log));
    return *children_.back();
  }
  std::string log_of(const std::string& name) { return slurp(logs_[name]); }

  // ffprobe's view of received TS bytes: "codec_type=video\ncodec_name=h264\nwidth=320\n…duration=3.0".
  std::string probe(const std::vector<uint8_t>& bytes, const std::string& name) {
    auto ts = temp_path(name + ".ts");
    auto out = temp_path(name + ".probe");
    files_.push_back(ts);
    files_.push_back(out);
    std::ofstream(ts, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    Child ffprobe(
        "exec timeout 30 ffprobe -v error -show_entries "
        "stream=codec_type,codec_name,width,height:format=duration -of default=noprint_wrappers=1 " +
            ts.string(),
        out);
    EXPECT_EQ(ffprobe.wait(40s), std::optional<int>(0));
    return slurp(out);
  }
  void expect_good_stream(const std::vector<uint8_t>& bytes, const std::string& name) {
    std::string p = probe(bytes, name);
    EXPECT_NE(p.find("codec_name=h264"), std::string::npos) << p;
    EXPECT_NE(p.find("width=320\nheight=240"), std::string::npos) << p;
    EXPECT_NE(p.find("codec_name=aac"), std::string::npos) << p;
    auto pos = p.find("duration=");
    ASSERT_NE(pos, std::string::npos) << p;
    EXPECT_NEAR(std::atof(p.c_str() + pos + 9), 3.0, 0.5) << p;
  }

  // Publishes one good stream and checks it arrived whole; returns the session's record.
  TestHandler::Publish publish_and_check(const std::string& streamid, const std::string& extra,
                                         int64_t studio) {
    size_t before = handler_.snapshot().size();
    auto& ff = ffmpeg_publish(url(streamid, extra), "pub" + std::to_string(before));
    EXPECT_EQ(ff.wait(60s), std::optional<int>(0)) << log_of("pub" + std::to_string(before));
    EXPECT_TRUE(handler_.wait_for(15s, [&] { return handler_.ended_count() > before; }));
    auto all = handler_.snapshot();
    EXPECT_EQ(all.size(), before + 1);
    if (all.empty()) return {};
    auto last = all.rbegin()->second;
    EXPECT_EQ(last.studio_id, studio);
    EXPECT_EQ(last.ends, 1);
    EXPECT_EQ(last.end_reason, "peer closed");
    EXPECT_EQ(last.remote.rfind("127.0.0.1:", 0), 0u) << last.remote;
    expect_good_stream(last.bytes, "pub" + std::to_string(before));
    return last;
  }

  TestHandler handler_;
  std::unique_ptr<SrtServer> server_;
  std::vector<std::unique_ptr<Child>> children_;
  std::vector<std::filesystem::path> files_;
  std::map<std::string, std::filesystem::path> logs_;
};

TEST_F(SrtServerTest, FfmpegPublishesWithPublishPrefix) {
  start();
  publish_and_check("publish:k1", "", 1);
  EXPECT_TRUE(handler_.refused().empty());
  EXPECT_EQ(server_->stats().accepted.load(), 1u);
  EXPECT_EQ(server_->stats().sessions.load(), 0u);
  EXPECT_GT(server_->stats().bytes_in.load(), 100000u);
}

// A server with no caller for a while shuts libsrt down (dormant) and keeps the port: a studio that
// comes later still gets in, and again after the server went dormant a second time.
TEST_F(SrtServerTest, DormantServerStillTakesAPublisher) {
  start();
  auto dormant = [&](uint64_t spells) {
    // Server stats, not handler events: polled (20 s deadline; dormancy comes ~3 s after the last caller).
    for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
      if (!server_->stats().listening.load() && server_->stats().dormant_spells.load() >= spells) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  ASSERT_TRUE(dormant(1));
  publish_and_check("publish:k1", "", 1);
  ASSERT_TRUE(dormant(2));
  publish_and_check("publish:k1", "", 1);
  EXPECT_EQ(server_->stats().accepted.load(), 2u);
}

TEST_F(SrtServerTest, FfmpegPublishesWithAccessControlForm) {
  start();
  publish_and_check("#!::r=k1,m=publish", "", 1);  // ffmpeg 5.1 does not URL-decode streamid
}

TEST_F(SrtServerTest, WrongKeyIsRefusedBeforeAnyPublish) {
  start();
  auto& ff = ffmpeg_publish(url("publish:nope"), "wrong");
  auto code = ff.wait(60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0) << log_of("wrong");
  EXPECT_TRUE(handler_.wait_for(10s, [&] { return handler_.refused_count("unknown_key") >= 1; }));
  EXPECT_TRUE(handler_.snapshot().empty());  // on_publish never called
}

TEST_F(SrtServerTest, PassphraseIsPerStudio) {
  start();
  auto& missing = ffmpeg_publish(url("publish:k2"), "missing");
  auto& wrong = ffmpeg_publish(url("publish:k2", "&passphrase=wrong-horse-02"), "badpass");
  auto code = missing.wait(60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0) << log_of("missing");
  code = wrong.wait(60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0) << log_of("badpass");
  EXPECT_TRUE(handler_.snapshot().empty());  // on_publish never called
  // The key matched, so the refusal is known only when the handshake never completes.
  EXPECT_TRUE(handler_.wait_for(20s, [&] { return handler_.refused_count("handshake_failed") >= 2; }));

  publish_and_check("publish:k2", "&passphrase=correct-horse-01", 2);
}

TEST_F(SrtServerTest, TwoStudiosAtOnce) {
  start();
  auto& one = ffmpeg_publish(url("publish:k1"), "one");
  auto& two = ffmpeg_publish(url("publish:k2", "&passphrase=correct-horse-01"), "two");
  EXPECT_EQ(one.wait(60s), std::optional<int>(0)) << log_of("one");
  EXPECT_EQ(two.wait(60s), std::optional<int>(0)) << log_of("two");
  ASSERT_TRUE(handler_.wait_for(15s, [&] { return handler_.ended_count() >= 2; }));
  auto all = handler_.snapshot();
  ASSERT_EQ(all.size(), 2u);
  std::map<int64_t, std::vector<uint8_t>> by_studio;
  for (auto& [id, p] : all) by_studio[p.studio_id] = p.bytes;
  ASSERT_EQ(by_studio.size(), 2u);
  expect_good_stream(by_studio[1], "two-1");
  expect_good_stream(by_studio[2], "two-2");
}

// ---- a libsrt caller, for reject codes and the server's own closes ----

class SrtCaller {
 public:
  SrtCaller() { srt_startup(); }
  ~SrtCaller() {
    if (s_ != SRT_INVALID_SOCK) srt_close(s_);
    srt_cleanup();
  }
  // 0 on success, else the reject reason the listener gave.
  int connect(int port, const std::string& streamid) {
    s_ = srt_create_socket();
    SRT_TRANSTYPE live = SRTT_LIVE;
    srt_setsockflag(s_, SRTO_TRANSTYPE, &live, sizeof live);
    srt_setsockflag(s_, SRTO_STREAMID, streamid.data(), static_cast<int>(streamid.size()));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (srt_connect(s_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == SRT_ERROR) {
      return srt_getrejectreason(s_);
    }
    return 0;
  }
  bool send(const std::vector<uint8_t>& payload) {
    return srt_sendmsg2(s_, reinterpret_cast<const char*>(payload.data()), static_cast<int>(payload.size()),
                        nullptr) >= 0;
  }
  SRT_SOCKSTATUS state() const { return srt_getsockstate(s_); }

 private:
  SRTSOCKET s_ = SRT_INVALID_SOCK;
};

std::vector<uint8_t> ts_payload(uint8_t fill) {
  std::vector<uint8_t> p(1316, fill);
  for (size_t i = 0; i < p.size(); i += 188) p[i] = 0x47;
  return p;
}

TEST_F(SrtServerTest, RejectCodesSeenByTheCaller) {
  start();
  EXPECT_EQ(SrtCaller().connect(server_->port(), "publish:nope"), SRT_REJX_FORBIDDEN);
  EXPECT_EQ(SrtCaller().connect(server_->port(), "#!::r=k1,m=request"), SRT_REJX_BAD_MODE);
  EXPECT_EQ(SrtCaller().connect(server_->port(), "read:k1"), SRT_REJX_BAD_MODE);
  EXPECT_EQ(SrtCaller().connect(server_->port(), std::string(400, '\x01')), SRT_REJX_BAD_REQUEST);
  EXPECT_EQ(SrtCaller().connect(server_->port(), ""), SRT_REJX_BAD_REQUEST);
  EXPECT_TRUE(handler_.wait_for(10s, [&] { return handler_.refused_.size() >= 5; }));
  auto refused = handler_.refused();
  EXPECT_EQ(std::count(refused.begin(), refused.end(), "unknown_key"), 1);
  EXPECT_EQ(std::count(refused.begin(), refused.end(), "bad_mode"), 2);
  EXPECT_EQ(std::count(refused.begin(), refused.end(), "bad_streamid"), 2);
  EXPECT_TRUE(handler_.snapshot().empty());
  EXPECT_EQ(server_->stats().refused.load(), 5u);
}

// One caller publishes; a second one from the same address is refused with `reason`.
void SrtServerTest::expect_second_caller_refused(const SrtServerOptions& options, const std::string& reason) {
  start(options);
  SrtCaller first;
  ASSERT_EQ(first.connect(server_->port(), "publish:k1"), 0);
  ASSERT_TRUE(handler_.wait_for(10s, [&] { return handler_.publishes_.size() == 1; }));
  EXPECT_EQ(SrtCaller().connect(server_->port(), "publish:k1"), SRT_REJX_OVERLOAD);
  EXPECT_TRUE(handler_.wait_for(10s, [&] { return handler_.refused_count(reason) == 1; }));
}

TEST_F(SrtServerTest, MaxConnections) {
  SrtServerOptions options;
  options.max_connections = 1;
  expect_second_caller_refused(options, "max_connections");
}

TEST_F(SrtServerTest, ConnectionsPerAddressAreCapped) {
  SrtServerOptions options;
  options.max_connections_per_address = 1;
  expect_second_caller_refused(options, "connections_per_address");
}

// A studio has one publisher: while it has a session, a caller with its key is refused in the listen callback
// (before libsrt makes the connection's objects), whatever its address.
TEST_F(SrtServerTest, ASecondCallerForABusyStudioIsRefusedBeforeTheHandshake) {
  expect_second_caller_refused(SrtServerOptions{}, "already_live");
  EXPECT_EQ(handler_.snapshot().size(), 1u);
}

TEST_F(SrtServerTest, PendingHandshakesAreBounded) {
  SrtServerOptions options;
  options.max_pending_handshakes = 0;  // no handshake may be in progress: every keyed caller is refused
  start(options);
  EXPECT_EQ(SrtCaller().connect(server_->port(), "publish:k1"), SRT_REJX_OVERLOAD);
  EXPECT_TRUE(handler_.wait_for(10s, [&] { return handler_.refused_count("pending_handshakes") == 1; }));
  EXPECT_TRUE(handler_.snapshot().empty());
}

TEST_F(SrtServerTest, DisconnectAndStopEndSessions) {
  start();
  SrtCaller a;
  SrtCaller b;
  ASSERT_EQ(a.connect(server_->port(), "publish:k1"), 0);
  ASSERT_EQ(b.connect(server_->port(), "#!::m=publish,r=k3"), 0);
  ASSERT_TRUE(a.send(ts_payload(1)));
  ASSERT_TRUE(b.send(ts_payload(2)));
  ASSERT_TRUE(handler_.wait_for(10s, [&] {
    if (handler_.publishes_.size() != 2) return false;
    for (auto& [id, p] : handler_.publishes_) {
      if (p.bytes.size() != 1316) return false;
    }
    return true;
  }));
  uint64_t first = handler_.snapshot().begin()->first;
  server_->disconnect(first, "curator ended the event");
  server_->disconnect(9999, "unknown id is ignored");
  ASSERT_TRUE(handler_.wait_for(10s, [&] { return handler_.ended_count() == 1; }));
  EXPECT_EQ(handler_.snapshot()[first].end_reason, "disconnected: curator ended the event");
  server_->stop();
  auto all = handler_.snapshot();
  ASSERT_EQ(all.size(), 2u);
  for (auto& [id, p] : all) EXPECT_EQ(p.ends, 1);
  EXPECT_EQ(all.rbegin()->second.end_reason, "server stopping");
  EXPECT_EQ(server_->port(), 0);
  // start() again after stop() works.
  auto r = server_->start();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(SrtCaller().connect(server_->port(), "publish:nope"), SRT_REJX_FORBIDDEN);
}

TEST_F(SrtServerTest, RefusedPublishClosesAtOnce) {
  start();
  handler_.refuse_publish(true);
  SrtCaller a;
  ASSERT_EQ(a.connect(server_->port(), "publish:k1"), 0);  // accepted by libsrt, then refused by the hub
  ASSERT_TRUE(handler_.wait_for(10s, [&] { return handler_.ended_count() == 1; }));
  EXPECT_EQ(handler_.snapshot().begin()->second.end_reason, "refused: studio already live");
}

TEST_F(SrtServerTest, IdleTimeout) {
  SrtServerOptions options;
  options.idle_timeout_ms = 300;
  start(options);
  SrtCaller a;
  ASSERT_EQ(a.connect(server_->port(), "publish:k1"), 0);
  ASSERT_TRUE(handler_.wait_for(10s, [&] { return handler_.ended_count() == 1; }));
  EXPECT_EQ(handler_.snapshot().begin()->second.end_reason, "idle timeout");
}

TEST_F(SrtServerTest, ConsumerFullKeepsBytesInOrderThenDropsOldest) {
  SrtServerOptions options;
  options.max_queued_bytes = 4 * 1316;
  start(options);
  handler_.refuse_data_calls(2);  // the first two offers are refused: the bytes wait, then arrive in order
  SrtCaller a;
  ASSERT_EQ(a.connect(server_->port(), "publish:k1"), 0);
  for (uint8_t i = 1; i <= 3; ++i) ASSERT_TRUE(a.send(ts_payload(i)));
  ASSERT_TRUE(handler_.wait_for(10s, [&] {
    return !handler_.publishes_.empty() && handler_.publishes_.begin()->second.bytes.size() == 3 * 1316;
  }));
  auto bytes = handler_.snapshot().begin()->second.bytes;
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(bytes[i * 1316 + 1], i + 1);
  EXPECT_EQ(server_->stats().bytes_dropped.load(), 0u);

  handler_.refuse_data_calls(1000000);  // a stuck consumer: the queue stays bounded, oldest bytes go
  for (uint8_t i = 4; i <= 20; ++i) {
    ASSERT_TRUE(a.send(ts_payload(i)));
    std::this_thread::sleep_for(5ms);  // pacing like a live source
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server_->stats().bytes_in.load() < 20 * 1316 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server_->stats().bytes_in.load(), 20u * 1316);
  EXPECT_GT(server_->stats().bytes_dropped.load(), 0u);
  EXPECT_EQ(server_->stats().bytes_dropped.load() % 188, 0u);
  handler_.refuse_data_calls(0);
  ASSERT_TRUE(
      handler_.wait_for(10s, [&] { return handler_.publishes_.begin()->second.bytes.size() > 3 * 1316; }));
  auto after = handler_.snapshot().begin()->second.bytes;
  EXPECT_EQ(after.back(), 20);  // the latest bytes were kept
  EXPECT_LE(after.size() - 3 * 1316, options.max_queued_bytes);
}

}  // namespace
}  // namespace sreda::ingest::srt
