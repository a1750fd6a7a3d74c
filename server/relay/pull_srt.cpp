// The SRT side of a pulled studio: libsrt (libsrt-openssl) as a caller to the partner's listener, or as a
// listener the partner calls (mode=listener). Blocking calls with timeouts on the puller's own thread.
#include <srt/srt.h>

#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstring>
#include <thread>

#include "server/relay/pull_source.h"

namespace sreda::relay {

namespace {

std::string srt_error() {
  const char* text = srt_getlasterror_str();
  return text ? text : "unknown error";
}

bool set_int(SRTSOCKET s, SRT_SOCKOPT opt, int value) {
  return srt_setsockflag(s, opt, &value, sizeof value) == 0;
}

class SrtPullSource : public PullSource {
 public:
  SrtPullSource(RelayUrl url, std::vector<boost::asio::ip::address> addresses, PullOptions options)
      : url_(std::move(url)), addresses_(std::move(addresses)), options_(std::move(options)) {
    started_ = srt_startup() >= 0;
  }
  ~SrtPullSource() override {
    close_socket(sock_);
    close_socket(listener_);
    if (epoll_ >= 0) srt_epoll_release(epoll_);
    if (started_) srt_cleanup();
  }

  core::Result<void> open(const std::atomic<bool>& stop) override {
    if (!started_) return fail("the SRT library did not start");
    return url_.listener ? listen(stop) : call(stop);
  }

  bool read(std::vector<uint8_t>& out, int timeout_ms) override {
    out.resize(1500);
    if (timeout_ms != rcv_timeout_ms_ && set_int(sock_, SRTO_RCVTIMEO, timeout_ms))
      rcv_timeout_ms_ = timeout_ms;
    int n = srt_recvmsg(sock_, reinterpret_cast<char*>(out.data()), static_cast<int>(out.size()));
    if (n > 0) {
      out.resize(static_cast<size_t>(n));
      return true;
    }
    out.clear();
    if (n == SRT_ERROR && srt_getlasterror(nullptr) == SRT_EASYNCRCV)
      return true;  // nothing within timeout_ms
    error_ = n == 0 ? "the partner closed the stream" : "the stream broke: " + srt_error();
    error_ = strip_secrets(error_, url_);
    return false;
  }

  std::string error() const override { return error_; }

 private:
  core::Result<void> fail(const std::string& what) {
    error_ = strip_secrets(what, url_);
    return core::Error{"pull_failed", error_};
  }

  // The socket options both roles share (the listener's are inherited by the socket it accepts).
  bool configure(SRTSOCKET s) {
    const int latency = url_.latency_ms > 0 ? url_.latency_ms : options_.srt_latency_ms;
    SRT_TRANSTYPE live = SRTT_LIVE;
    bool ok = srt_setsockflag(s, SRTO_TRANSTYPE, &live, sizeof live) == 0 &&
              set_int(s, SRTO_LATENCY, latency) && set_int(s, SRTO_RCVLATENCY, latency) &&
              set_int(s, SRTO_CONNTIMEO, options_.connect_timeout_s * 1000);
    if (ok && !url_.passphrase.empty())
      ok = srt_setsockflag(s, SRTO_PASSPHRASE, url_.passphrase.data(),
                           static_cast<int>(url_.passphrase.size())) == 0;
    return ok;
  }

  // Connects without blocking (so stop() is heard), bounded by connect_timeout_s; then reads block (with a
  // timeout) on this thread.
  core::Result<void> call(const std::atomic<bool>& stop) {
    if (addresses_.empty()) return fail("no address to call");
    boost::asio::ip::udp::endpoint to(addresses_.front(), static_cast<unsigned short>(url_.port));
    const std::string where = to.address().to_string() + ":" + std::to_string(url_.port);
    sock_ = srt_create_socket();
    if (sock_ == SRT_INVALID_SOCK) return fail("cannot create an SRT socket: " + srt_error());
    if (!configure(sock_) || !set_int(sock_, SRTO_RCVSYN, 0))
      return fail("cannot set the SRT options: " + srt_error());
    if (!url_.streamid.empty() && srt_setsockflag(sock_, SRTO_STREAMID, url_.streamid.data(),
                                                  static_cast<int>(url_.streamid.size())) != 0)
      return fail("the streamid is not accepted: " + srt_error());
    if (srt_connect(sock_, to.data(), static_cast<int>(to.size())) == SRT_ERROR)
      return fail("cannot connect to " + where + ": " + srt_error());
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options_.connect_timeout_s + 1);
    while (!stop && std::chrono::steady_clock::now() < deadline) {
      const SRT_SOCKSTATUS state = srt_getsockstate(sock_);
      if (state == SRTS_CONNECTED) {
        set_int(sock_, SRTO_RCVSYN, 1);
        return {};
      }
      if (state == SRTS_BROKEN || state == SRTS_CLOSED || state == SRTS_NONEXIST) {
        const int reason = srt_getrejectreason(sock_);
        return fail("cannot connect to " + where + ": " + srt_rejectreason_str(reason));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return fail(stop ? "stopped"
                     : "no answer from " + where + " within " + std::to_string(options_.connect_timeout_s) +
                           " s");
  }

  core::Result<void> listen(const std::atomic<bool>& stop) {
    boost::system::error_code ec;
    auto address =
        url_.host.empty() ? boost::asio::ip::address_v4::any() : boost::asio::ip::make_address(url_.host, ec);
    if (ec) return fail("cannot listen on " + url_.host + ": not an address");
    boost::asio::ip::udp::endpoint at(address, static_cast<unsigned short>(url_.port));
    listener_ = srt_create_socket();
    if (listener_ == SRT_INVALID_SOCK) return fail("cannot create an SRT socket: " + srt_error());
    if (!configure(listener_) || !set_int(listener_, SRTO_RCVSYN, 0))
      return fail("cannot set the SRT options: " + srt_error());
    if (srt_bind(listener_, at.data(), static_cast<int>(at.size())) == SRT_ERROR)
      return fail("cannot listen on port " + std::to_string(url_.port) + ": " + srt_error());
    if (srt_listen(listener_, 1) == SRT_ERROR) return fail("cannot listen: " + srt_error());
    epoll_ = srt_epoll_create();
    int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
    if (epoll_ < 0 || srt_epoll_add_usock(epoll_, listener_, &events) != 0) return fail("srt_epoll failed");
    while (!stop) {
      SRTSOCKET ready[1];
      int n = 1;
      if (srt_epoll_wait(epoll_, ready, &n, nullptr, nullptr, 500, nullptr, nullptr, nullptr, nullptr) <= 0)
        continue;
      sockaddr_storage from{};
      int from_len = sizeof from;
      SRTSOCKET s = srt_accept(listener_, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (s == SRT_INVALID_SOCK) continue;
      if (!url_.streamid.empty()) {
        char id[512];
        int len = sizeof id;
        if (srt_getsockflag(s, SRTO_STREAMID, id, &len) != 0 ||
            std::string(id, static_cast<size_t>(len)) != url_.streamid) {
          srt_close(s);  // a caller with another streamid: not our partner
          continue;
        }
      }
      sock_ = s;
      set_int(sock_, SRTO_RCVSYN, 1);
      close_socket(listener_);  // one caller: the partner
      return {};
    }
    return fail("stopped while waiting for the partner to call");
  }

  static void close_socket(SRTSOCKET& s) {
    if (s != SRT_INVALID_SOCK) srt_close(s);
    s = SRT_INVALID_SOCK;
  }

  RelayUrl url_;
  std::vector<boost::asio::ip::address> addresses_;
  PullOptions options_;
  bool started_ = false;
  SRTSOCKET sock_ = SRT_INVALID_SOCK;
  SRTSOCKET listener_ = SRT_INVALID_SOCK;
  int epoll_ = -1;
  int rcv_timeout_ms_ = -1;
  std::string error_;
};

}  // namespace

std::unique_ptr<PullSource> make_srt_pull_source(const RelayUrl& url,
                                                 std::vector<boost::asio::ip::address> addresses,
                                                 const PullOptions& options) {
  return std::make_unique<SrtPullSource>(url, std::move(addresses), options);
}

std::unique_ptr<PullSource> make_pull_source(const RelayUrl& url,
                                             std::vector<boost::asio::ip::address> addresses,
                                             const PullOptions& options) {
  if (url.scheme == Scheme::srt) return make_srt_pull_source(url, std::move(addresses), options);
  return make_gst_pull_source(url, options);
}

}  // namespace sreda::relay
