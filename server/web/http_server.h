// The HTTP server: the port belongs to the live front (server/web/live_front.h), which serves GET/HEAD
// /live/… itself and hands every other connection (with the bytes it read) to libwebsockets, which no longer
// listens itself but adopts those sockets. lws: one web thread runs lws_service; the route table is explicit
// prefixes (STYLE.md 14). Both transports answer by the same rules (http_rules.h: limits, paths, queries,
// methods, errors, response fields, metrics). Handlers run on their transport's thread — the live front's
// route always on the front's thread, also for a request libwebsockets carries (a keep-alive connection that
// began with a page) — and reply from any thread; replies reach the web thread through a ReplyOutbox drained
// on LWS_CALLBACK_EVENT_WAIT_CANCELLED (the only lws call made off the web thread is lws_cancel_service).
// start()/stop() from the app's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/audience/ws_seam.h"
#include "server/config/config.h"
#include "server/core/metrics.h"
#include "server/core/result.h"
#include "server/web/http.h"
#include "server/web/http_rules.h"
#include "server/web/live_front.h"
#include "server/web/reply_outbox.h"

struct lws;
struct lws_context;
struct lws_retry_bo;

struct ev_loop;  // libev

namespace sreda::web {

struct HttpServerOptions {
  std::string listen = "0.0.0.0";
  int port = 8080;
  HttpLimits limits;                     // the port's limits: both transports read these
  audience::WsHandler* ws = nullptr;     // serves /ws (subprotocol sreda.v1) when set; not owned
  size_t ws_max_message = 4096;
  int ws_ping_interval_s = 30;
  std::string edge_prefix = "/live";  // the route served by the live front (GET/HEAD), not by libwebsockets
  core::AddressPolicyPtr addresses;   // trusted proxies, shared addresses; null: none
  int listener = -1;                  // the port bound already (listen_tcp): adopted, owned from then on
};

// The port's limits from config (server.*).
HttpLimits http_limits(const config::ServerConfig& server);

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
  bool on_web_thread() const { return outbox_.on_owner_thread(); }

 private:
  friend struct HttpServerCallback;
  static int callback(lws* wsi, int reason, void* user, void* in, size_t len);
  int on_http(lws* wsi, Conn& c, const char* uri);
  void dispatch(lws* wsi, Conn& c);
  int on_writable(lws* wsi, Conn& c);
  int finish_transaction(lws* wsi, Conn& c);
  void deliver_reply(uint64_t conn_id, uint64_t request_id, HttpResponse response);  // the outbox's Deliver
  void respond_now(lws* wsi, Conn& c, HttpResponse response);
  int on_ws(lws* wsi, int reason, void* user, void* in, size_t len);
  static void on_tick(void* sul);
  void adopt(int fd, std::string bytes,
             std::unique_ptr<ConnectionTicket> ticket);  // any thread: the live front's hand-over
  std::string client_of(lws* wsi) const;  // web thread: the client's address (core::client_address)

  HttpServerOptions options_;
  std::vector<Route> routes_;
  core::Metrics& metrics_;
  lws_context* context_ = nullptr;
  ::ev_loop* loop_ = nullptr;  // libev (epoll): lws's default poll() loop costs O(connections) per wake-up
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // Web thread only.
  uint64_t next_conn_id_ = 1;
  uint64_t next_request_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;   // conn id → state
  HttpMetrics http_metrics_;                                    // web thread
  std::unordered_map<uint64_t, std::unique_ptr<WsConn>> ws_conns_;  // conn id → WebSocket state
  std::string ws_wire_;                                         // LWS_PRE + one batch of frames
  std::unique_ptr<Tick> tick_;
  std::unique_ptr<lws_retry_bo> idle_policy_;
  std::unique_ptr<ConnectionBudget> budget_;  // HTTP connections counted from accept to close
  std::unordered_map<lws*, std::unique_ptr<ConnectionTicket>> tickets_;  // web thread: adopted connections
  std::unique_ptr<LiveFront> front_;  // lws keeps the pointer for the context's lifetime

  const Route* edge_route_ =
      nullptr;  // the route the live front serves (its handler runs on the front's thread)

  // The seam: replies and tasks from any thread.
  ReplyOutbox outbox_;
};

}  // namespace sreda::web
