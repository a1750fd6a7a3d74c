// The desk's "test connection" (RelayControl::test): it says in words what happened when it tried the target
// now, within its time bound — connected (an SRT listener), refused (a closed RTMP port), no answer (a TCP
// listener that never speaks RTMP), not allowed (an address the allow-list does not name, never reached).
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <srt/srt.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>

#include "server/relay/push_relays.h"

namespace sreda::relay {
namespace {

class NoTargets : public RelayTargetSource {
 public:
  void event_targets(int64_t, int64_t, std::function<void(std::vector<RelayTarget>)> reply) override {
    reply({});
  }
  void pulled_studios(std::function<void(std::vector<std::pair<int64_t, std::string>>)> reply) override {
    reply({});
  }
};

// A TCP socket listening on 127.0.0.1 that never accepts (the kernel completes the connection) or, closed,
// a port that refuses.
struct TcpPort {
  int fd = -1;
  int port = 0;
  explicit TcpPort(bool listen) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    if (listen) {
      ::listen(fd, 4);
    } else {
      ::close(fd);
      fd = -1;
    }
  }
  ~TcpPort() {
    if (fd >= 0) ::close(fd);
  }
};

class RelayTestConnection : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gst_init(nullptr, nullptr); }

  std::pair<bool, std::string> try_url(const std::string& allowed, const std::string& url) {
    PushRelaysOptions options;
    options.sender.connect_timeout_s = 2;
    options.sender.allowed = std::make_shared<const Destinations>(*Destinations::parse(allowed));
    core::Metrics metrics;
    NoTargets targets;
    PushRelays relays(options, targets, metrics);
    std::promise<std::pair<bool, std::string>> answer;
    relays.test(url, [&](bool ok, std::string what) { answer.set_value({ok, std::move(what)}); });
    auto f = answer.get_future();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    auto r = f.get();
    relays.stop();
    return r;
  }
};

TEST_F(RelayTestConnection, SrtListenerConnects) {
  ASSERT_GE(srt_startup(), 0);
  SRTSOCKET s = srt_create_socket();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_NE(srt_bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), SRT_ERROR);
  int len = sizeof a;
  srt_getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ASSERT_NE(srt_listen(s, 4), SRT_ERROR);
  auto [ok, what] = try_url("127.0.0.1", "srt://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) +
                                             "?streamid=publish:secretKEY-0123");
  EXPECT_TRUE(ok) << what;
  EXPECT_EQ(what, "connected");
  srt_close(s);
  srt_cleanup();
}

TEST_F(RelayTestConnection, ClosedRtmpPortIsRefused) {
  TcpPort closed(false);
  auto [ok, what] =
      try_url("127.0.0.1", "rtmp://127.0.0.1:" + std::to_string(closed.port) + "/live/secretKEY-0123");
  EXPECT_FALSE(ok);
  EXPECT_NE(what.find("refused"), std::string::npos) << what;
  EXPECT_EQ(what.find("secretKEY-0123"), std::string::npos) << what;
}

TEST_F(RelayTestConnection, SilentTargetGivesNoAnswerInTime) {
  TcpPort silent(true);
  auto [ok, what] =
      try_url("127.0.0.1", "rtmp://127.0.0.1:" + std::to_string(silent.port) + "/live/secretKEY-0123");
  EXPECT_FALSE(ok) << what;
  EXPECT_NE(what.find("no answer"), std::string::npos) << what;
  EXPECT_EQ(what.find("secretKEY-0123"), std::string::npos) << what;
}

TEST_F(RelayTestConnection, AddressOutsideTheAllowListIsNotReached) {
  TcpPort silent(true);
  auto [ok, what] = try_url("", "rtmp://127.0.0.1:" + std::to_string(silent.port) + "/live/secretKEY-0123");
  EXPECT_FALSE(ok);
  EXPECT_NE(what.find("relays.allowed_hosts"), std::string::npos) << what;
}

}  // namespace
}  // namespace sreda::relay
