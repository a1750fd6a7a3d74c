// The live front (called "the edge" before; that name now belongs to the caching tier in front of sreda —
// its log lines keep the tag [edge]): the HTTP port's front. One thread (sreda-front) with a Boost.Asio
// io_context (epoll) accepts every connection and reads its request line. GET/HEAD of `prefix` (/live/…,
// the LL-HLS fan-out) it serves itself on that connection for as long as the requests keep being such
// (keep-alive); anything else — another path or method, a body, an Upgrade (WebSocket /ws), a line it
// cannot classify — at the first request or at any later request boundary, it hands over with the bytes
// already read (`Handoff`: the HttpServer adopts the socket into libwebsockets). Why: libwebsockets'
// per-request machinery costs several times more server CPU per LL-HLS request than a peek, one Beast
// parse, the route and one writev of the header block and the shared part bytes (no copy): figures in
// scripts/bench/NOTES.md (fanout).
// Limits (HttpLimits, http_rules.h): a header over max_header_bytes → 431 and close; a request not complete
// header_timeout_ms after its first byte (slowloris), or a keep-alive connection idle for idle_timeout_ms,
// or a response the client does not read for header_timeout_ms → closed; max_requests_per_connection, then
// "connection: close". Paths, methods, errors, response fields and metrics are the rules' (http_rules.h).
// Threads: start()/stop() from the owner's thread; its route's handler runs on the front's thread only
// (libwebsockets hands the live front's route to it with run_on_edge_thread); a Reply may be called from any
// thread (held blocking reloads): it crosses through the ReplyOutbox, and is dropped after stop().
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/core/client_address.h"
#include "server/core/metrics.h"
#include "server/core/result.h"
#include "server/web/http.h"
#include "server/web/http_rules.h"
#include "server/web/limits.h"
#include "server/web/reply_outbox.h"

namespace sreda::web {

struct LiveFrontOptions {
  std::string listen = "0.0.0.0";
  int port = 8080;
  // The port already bound and listening (listen_tcp, main's first step): adopted (owned from then on) instead
  // of binding `listen`:`port` here. -1: bind here.
  int listener = -1;
  std::string prefix = "/live/";  // served by the live front (GET/HEAD)
  Route route{"/live", "/live",
              nullptr};  // answers them (the route table's entry); null handler: everything is handed over
  HttpLimits limits;
  // Connection caps (limits.max_connections[_per_address]): every HTTP connection is counted here from
  // accept until the live front or libwebsockets closes it. Null: no caps. Not owned.
  ConnectionBudget* budget = nullptr;
  core::AddressPolicyPtr addresses;  // trusted proxies (no per-address cap), shared addresses (larger caps)
};

// A TCP socket bound to `listen`:`port` (0: any free port) and listening: its descriptor, the caller's to close.
// Address reuse on (a restart binds over the killed process's closing connections), dual-stack on "::".
// Connections that arrive before anyone accepts wait in the kernel's queue (up to SOMAXCONN): a player that
// reloads while the server starts gets its answer late instead of a refusal.
core::Result<int> listen_tcp(const std::string& listen, int port);

// One counted HTTP connection: released (once) when destroyed. Moves with the socket to libwebsockets.
class ConnectionTicket {
 public:
  ConnectionTicket(ConnectionBudget* budget, std::string key) : budget_(budget), key_(std::move(key)) {}
  ~ConnectionTicket() {
    if (budget_) budget_->release(key_);
  }
  ConnectionTicket(const ConnectionTicket&) = delete;
  ConnectionTicket& operator=(const ConnectionTicket&) = delete;

 private:
  ConnectionBudget* budget_;
  std::string key_;
};

class LiveFront {
 public:
  // Called on the front's thread with a connection the live front does not serve: the socket (now the
  // callee's to close), the bytes read from it so far (≤ max_handoff_bytes) and its ticket (held until it
  // closes).
  using Handoff = std::function<void(int fd, std::string bytes, std::unique_ptr<ConnectionTicket> ticket)>;

  LiveFront(LiveFrontOptions options, core::Metrics& metrics, Handoff handoff);
  ~LiveFront();
  LiveFront(const LiveFront&) = delete;
  LiveFront& operator=(const LiveFront&) = delete;

  // Binds and listens, or adopts options.listener (no thread yet): the port is taken or this fails.
  core::Result<void> listen();
  int port() const { return port_; }
  // Starts the front's thread: accepting begins.
  void run();
  // Closes the acceptor and every connection the live front holds, joins the thread. Idempotent.
  void stop();

  size_t connections() const { return connection_count_.load(std::memory_order_relaxed); }
  // Runs `task` on the front's thread (from any thread; dropped after stop()).
  void run_on_edge_thread(std::function<void()> task) { outbox_.post_task(std::move(task)); }

 private:
  struct Conn;
  using ConnPtr = std::shared_ptr<Conn>;

  void accept();
  void read(const ConnPtr& c, size_t peeked = 0);  // peeked: bytes in Conn::peek from the wait
  void arm_read(const ConnPtr& c);
  void process(const ConnPtr& c);
  void dispatch(const ConnPtr& c, HttpRequest request, PathVerdict parsed);
  void deliver_reply(uint64_t conn_id, uint64_t serial, HttpResponse response);  // the outbox's Deliver
  void deliver(const ConnPtr& c, HttpResponse response);
  void write_rest(const ConnPtr& c);
  void finish(const ConnPtr& c);
  // Answers `response` (an error of the rules) and closes; `refusal`: a cause of sreda_http_refused_total to
  // count it under, and log `why` once per burst.
  void fail(const ConnPtr& c, HttpResponse response, const char* refusal = nullptr,
            const std::string& why = "");
  void hand_off(const ConnPtr& c);
  void close(const ConnPtr& c);
  void on_tick();
  // Accept-and-close: a new connection refused by a limit (one log line per burst, a counter).
  bool evict_idle();
  void refuse(boost::asio::ip::tcp::socket& socket, const std::string& cause, const std::string& why);
  // A refusal by `cause`: counted in sreda_http_refused_total{cause}; `what` logged once per burst.
  void note_refusal(const std::string& cause, const std::string& what);

  LiveFrontOptions options_;
  Handoff handoff_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer tick_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<size_t> connection_count_{0};
  std::vector<Route> routes_;  // the one route the live front serves
  bool running_ = false;       // owner's thread: between run() and stop()

  // LiveFront thread only.
  uint64_t next_conn_id_ = 1;
  std::unordered_map<uint64_t, ConnPtr> conns_;
  HttpMetrics http_metrics_;  // front thread
  std::string read_buffer_;
  int fd_ceiling_ = 0;       // a new connection whose descriptor is at or above this is refused (the reserve)
  int64_t http_fd_cap_ = 0;  // HTTP connections (the front's + libwebsockets') the descriptors allow

  // The seam: replies (and tasks) from any thread.
  ReplyOutbox outbox_;
};

// The header block of `r` (status line, content-type, content-length, then the rules' fields: r.headers,
// "connection: close" when `close`) as libwebsockets writes it, for a body of `content_length` bytes.
std::string response_head(const HttpResponse& r, size_t content_length, bool close, bool http10 = false);

}  // namespace sreda::web
