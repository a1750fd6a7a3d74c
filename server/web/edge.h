// The edge: the HTTP port's front. One thread with a Boost.Asio io_context (epoll) accepts every
// connection and reads its request line. GET/HEAD of `prefix` (/live/…, the LL-HLS fan-out) it serves
// itself on that connection for as long as the requests keep being such (keep-alive); anything else
// — another path or method, a body, an Upgrade (WebSocket /ws), a line it cannot classify — at the first
// request or at any later request boundary, it hands over with the bytes already read (`Handoff`: the
// HttpServer adopts the socket into libwebsockets). Why: libwebsockets' per-request machinery (its
// timeout list insert is O(connections), header tables, one malloc+memcpy of header+body per reply)
// cost 55–90 µs of server CPU per LL-HLS request with 1000 viewers (11–18k requests per CPU second in
// scripts/bench/fanout); here a request is a peek and a read, one parse with Beast's parser (no field
// table), the route, and one writev of the header block and the shared part bytes (no copy): 15–20 µs
// with blocking reloads (50–67k requests per CPU second; nginx serving the parts as files 35–55k in the
// same runs), 20–32 µs non-blocking (31–49k). December 2026, 2 shared cores. What is left is mostly the
// kernel copying each part into the socket (sendfile from a memfd, as nginx sends files, would avoid it).
// Limits: a header over max_header_bytes → 431 and close; a request not complete header_timeout_ms after
// its first byte (slowloris), or a keep-alive connection idle for idle_timeout_ms, or a response the client
// does not read for header_timeout_ms → closed; max_requests per connection, then "connection: close".
// Threads: start()/stop() from the owner's thread; handlers run on the edge thread; their Reply may be
// called from any thread (held blocking reloads): it is posted to the edge thread, and dropped after stop().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/core/client_address.h"
#include "server/core/result.h"
#include "server/web/http.h"
#include "server/web/limits.h"
#include "server/core/metrics.h"

namespace sreda::web {

struct EdgeOptions {
  std::string listen = "0.0.0.0";
  int port = 8080;
  std::string prefix = "/live/";     // served by the edge (GET/HEAD)
  RouteHandler* handler = nullptr;   // answers them; null: everything is handed over
  std::string label = "/live";       // route label in sreda_http_requests_total
  size_t max_header_bytes = 8192;
  size_t max_handoff_bytes = 2048;   // what libwebsockets accepts with an adopted socket (lws-adopt.h)
  int64_t header_timeout_ms = 20'000;  // server.header_timeout_s (lws's timeout_secs too)
  int64_t idle_timeout_ms = 30'000;    // server.keepalive_timeout_s (lws's keepalive_timeout too)
  uint64_t max_requests = 100'000;     // per connection
  // Connection caps (server.max_connections[_per_address]): every HTTP connection is counted here from
  // accept until the edge or libwebsockets closes it. Null: no caps. Not owned.
  ConnectionBudget* budget = nullptr;
  core::AddressPolicyPtr addresses;    // trusted proxies (no per-address cap), shared addresses (larger caps)
  int fd_reserve = 256;                // server.fd_reserve: descriptors a new connection may not take
};

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

class Edge {
 public:
  // Called on the edge thread with a connection the edge does not serve: the socket (now the callee's to
  // close), the bytes read from it so far (≤ max_handoff_bytes) and its ticket (held until it closes).
  using Handoff = std::function<void(int fd, std::string bytes, std::unique_ptr<ConnectionTicket> ticket)>;

  Edge(EdgeOptions options, core::Metrics& metrics, Handoff handoff);
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  // Binds and listens (no thread yet): the port is taken or this fails.
  core::Result<void> listen();
  int port() const { return port_; }
  // Starts the edge thread: accepting begins.
  void run();
  // Closes the acceptor and every connection the edge holds, joins the thread. Idempotent.
  void stop();

  size_t connections() const { return connection_count_.load(std::memory_order_relaxed); }

 private:
  struct Conn;
  using ConnPtr = std::shared_ptr<Conn>;

  void accept();
  void read(const ConnPtr& c);
  void arm_read(const ConnPtr& c);
  void process(const ConnPtr& c);
  void dispatch(const ConnPtr& c, HttpRequest request);
  void post_reply(uint64_t conn_id, uint64_t serial, HttpResponse response);
  void drain_outbox();
  void deliver(const ConnPtr& c, HttpResponse response);
  void write_rest(const ConnPtr& c);
  void finish(const ConnPtr& c);
  // Answers `status` and closes; `refusal`: a cause of sreda_http_refused_total to count (and log) it under.
  void fail(const ConnPtr& c, int status, const std::string& code, const std::string& message,
            const char* refusal = nullptr);
  void hand_off(const ConnPtr& c);
  void close(const ConnPtr& c);
  void on_tick();
  // Accept-and-close: a new connection refused by a limit (one log line per burst, a counter).
  bool evict_idle();
  void refuse(boost::asio::ip::tcp::socket& socket, const std::string& cause, const std::string& why);
  // A refusal by `cause`: counted in sreda_http_refused_total{cause}; `what` logged once per burst.
  void note_refusal(const std::string& cause, const std::string& what);
  void count(const std::string& label, int status);
  bool on_edge_thread() const { return std::this_thread::get_id() == thread_id_.load(); }

  EdgeOptions options_;
  core::Metrics& metrics_;
  Handoff handoff_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer tick_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<size_t> connection_count_{0};

  // Edge thread only.
  uint64_t next_conn_id_ = 1;
  std::unordered_map<uint64_t, ConnPtr> conns_;
  std::unordered_map<uint64_t, std::atomic<uint64_t>*> counters_;  // (label is ours) status → counter
  std::string read_buffer_;
  int fd_ceiling_ = 0;  // a new connection whose descriptor is at or above this is refused (the reserve)
  int64_t http_fd_cap_ = 0;  // HTTP connections (edge + libwebsockets) the descriptors allow
  std::unordered_map<std::string, BurstLog> refusal_logs_;  // cause → its bursts

  // The seam: replies from any thread.
  std::mutex outbox_mutex_;
  std::vector<std::tuple<uint64_t, uint64_t, HttpResponse>> outbox_;  // conn id, request serial, response
  bool alive_ = false;  // guarded by outbox_mutex_
};

// The header block of `r` (status line, content-type, content-length, r.headers, "connection: close"
// when `close`) as libwebsockets writes it, for a body of `content_length` bytes.
std::string response_head(const HttpResponse& r, size_t content_length, bool close, bool http10 = false);

}  // namespace sreda::web
