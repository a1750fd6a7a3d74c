// The HTTP server: the port belongs to the edge (server/web/edge.h), which serves GET/HEAD /live/… itself
// and hands every other connection (with the bytes it read) to libwebsockets, which no longer listens
// itself but adopts those sockets. lws: one web thread runs lws_service; the route table is explicit
// prefixes (STYLE.md 14). Handlers reply from any thread; replies reach the web thread through an
// outbox drained on LWS_CALLBACK_EVENT_WAIT_CANCELLED (the only lws call made off the web thread is
// lws_cancel_service). start()/stop() from the app's thread.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/core/result.h"
#include "server/web/edge.h"
#include "server/web/http.h"
#include "server/core/metrics.h"
#include "server/audience/ws_seam.h"

struct lws;
struct lws_context;
struct lws_retry_bo;

struct ev_loop;  // libev

namespace sreda::web {

struct HttpServerOptions {
  std::string listen = "0.0.0.0";
  int port = 8080;
  int64_t max_body_bytes = 65536;
  int header_timeout_s = 20;     // server.header_timeout_s (the edge and lws)
  int keepalive_timeout_s = 30;  // server.keepalive_timeout_s (the edge and lws)
  audience::WsHandler* ws = nullptr;     // serves /ws (subprotocol sreda.v1) when set; not owned
  size_t ws_max_message = 4096;
  int ws_ping_interval_s = 30;
  std::string edge_prefix = "/live";  // the route served by the edge (GET/HEAD), not by libwebsockets
  EdgeOptions edge;                   // its limits (listen, port, prefix, handler, timeouts are filled in here)
  int64_t max_connections = 50000;             // server.max_connections (counted by the edge at accept)
  int64_t max_connections_per_address = 256;   // server.max_connections_per_address
  core::AddressPolicyPtr addresses;            // trusted proxies, shared addresses; null: none
};

struct Route {
  std::string prefix;      // "/api": matches "/api" and "/api/…"; "/" matches everything
  std::string label;       // for metrics, e.g. "/api"
  RouteHandler* handler;   // not owned; outlives the server
};

struct HttpServerCallback {
  static int call(lws* wsi, int reason, void* user, void* in, size_t len);
};

class HttpServer : public audience::WsTransport {
 public:
  HttpServer(HttpServerOptions options, std::vector<Route> routes, core::Metrics& metrics);
  ~HttpServer() override;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the port and starts the web thread.
  core::Result<void> start();
  // The bound port (the real one when configured as 0).
  int port() const { return port_; }
  // Closes every connection and joins the web thread. Idempotent. Replies arriving later are dropped.
  void stop();

  // audience::WsTransport
  void wake(uint64_t conn) override;
  void run_on_web_thread(std::function<void()> task) override;

  struct Conn;    // per-connection state, web thread only
  struct WsConn;  // per-WebSocket state, web thread only
  struct Tick;
  bool on_web_thread() const { return std::this_thread::get_id() == web_thread_id_; }

 private:
  friend struct HttpServerCallback;
  static int callback(lws* wsi, int reason, void* user, void* in, size_t len);
  int on_http(lws* wsi, Conn& c, const char* uri);
  void dispatch(lws* wsi, Conn& c);
  int on_writable(lws* wsi, Conn& c);
  int finish_transaction(lws* wsi, Conn& c);
  void drain_outbox();
  void post_reply(uint64_t request_id, HttpResponse response);
  void respond_now(lws* wsi, Conn& c, HttpResponse response);
  int on_ws(lws* wsi, int reason, void* user, void* in, size_t len);
  static void on_tick(void* sul);
  void adopt(int fd, std::string bytes, std::unique_ptr<ConnectionTicket> ticket);  // any thread: the edge's hand-over
  std::string client_of(lws* wsi) const;  // web thread: the client's address (core::client_address)

  HttpServerOptions options_;
  std::vector<Route> routes_;
  core::Metrics& metrics_;
  lws_context* context_ = nullptr;
  ::ev_loop* loop_ = nullptr;  // libev (epoll): lws's default poll() loop costs O(connections) per wake-up
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::thread::id> web_thread_id_{};

  // Web thread only.
  uint64_t next_conn_id_ = 1;
  uint64_t next_request_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;   // conn id → state
  std::unordered_map<uint64_t, uint64_t> pending_;              // request id → conn id
  std::unordered_map<uint64_t, std::unique_ptr<WsConn>> ws_conns_;  // conn id → WebSocket state
  std::string ws_wire_;                                         // LWS_PRE + one batch of frames
  std::unique_ptr<Tick> tick_;
  std::unique_ptr<lws_retry_bo> idle_policy_;
  std::unique_ptr<ConnectionBudget> budget_;  // HTTP connections counted from accept to close
  std::unordered_map<lws*, std::unique_ptr<ConnectionTicket>> tickets_;  // web thread: adopted connections
  std::unique_ptr<Edge> edge_;  // lws keeps the pointer for the context's lifetime

  // The seam: replies from any thread.
  std::mutex outbox_mutex_;
  std::vector<std::pair<uint64_t, HttpResponse>> outbox_;
  std::vector<std::function<void()>> tasks_;
  bool context_alive_ = false;  // guarded by outbox_mutex_
};

}  // namespace sreda::web
