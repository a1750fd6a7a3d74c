// Long because it is the libwebsockets side of the port, HTTP and WebSocket, in one lws callback; what a
// request means and how it is answered is http_rules.h's, and replies cross threads in reply_outbox.h.
#include "server/web/http_server.h"

#include <pthread.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <ev.h>
#include <libwebsockets.h>

#include <cstring>
#include <filesystem>
#include <utility>

#include "server/core/clock.h"
#include "server/core/log.h"

namespace sreda::web {

struct HttpServer::Conn {
  uint64_t id = 0;
  lws* wsi = nullptr;
  HttpRequest request;
  std::shared_ptr<std::atomic<bool>> gone = std::make_shared<std::atomic<bool>>(false);  // set at close
  std::string_view route_label = "other";  // Routing::label
  bool reading_body = false;
  bool bad_query = false;  // an item of the query the rules refuse (a NUL)
  bool body_too_large = false;
  uint64_t request_id = 0;  // of the request waiting for a reply (0: none); older replies are dropped
  bool has_response = false;
  HttpResponse response;
  bool headers_sent = false;
  size_t body_sent = 0;
  // The body with LWS_PRE bytes of headroom, copied once per response; slices of it are written.
  // Headroom + headers (+ body) of the response being written; not zero-filled (it is written over).
  std::unique_ptr<unsigned char[]> wire;
};

struct HttpServer::WsConn {
  uint64_t id = 0;
  lws* wsi = nullptr;
  audience::WsHandshake handshake;
  bool opened = false;
  std::string rx;  // the message being assembled from fragments
};

// The audience tick: an lws timer on the web thread (the sul must be the first member).
struct HttpServer::Tick {
  lws_sorted_usec_list_t sul{};
  HttpServer* server = nullptr;
};

namespace {

struct Pss {
  uint64_t conn_id;  // lws zero-fills this; 0 = no state yet
};

void lws_log_bridge(int level, const char* line) {
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (level & LLL_ERR) core::log_line(core::LogLevel::error, "lws", text);
  else if (level & LLL_WARN) core::log_line(core::LogLevel::warn, "lws", text);
  else core::log_line(core::LogLevel::debug, "lws", text);
}

std::string header(lws* wsi, lws_token_indexes token) {
  int n = lws_hdr_total_length(wsi, token);
  if (n <= 0) return "";
  std::string out(static_cast<size_t>(n) + 1, '\0');
  int got = lws_hdr_copy(wsi, out.data(), n + 1, token);
  out.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return out;
}

const char* method_of(lws* wsi) {
  static const struct {
    lws_token_indexes token;
    const char* name;
  } kMethods[] = {{WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
                  {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
                  {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
                  {WSI_TOKEN_HEAD_URI, "HEAD"}};
  for (const auto& m : kMethods)
    if (lws_hdr_total_length(wsi, m.token) > 0) return m.name;
  return "";
}

int lws_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);

// Bodies up to this size leave in the same write as their headers.
constexpr size_t kOneWriteBody = 256 * 1024;
// The most bytes of WebSocket frames one writable callback batches into its one write.
constexpr size_t kWsBatchBytes = 16 * 1024;

// lws keeps a pointer to this table for the context's lifetime.
const lws_protocols kProtocols[] = {
    {"http", lws_callback, sizeof(Pss), 0, 0, nullptr, 0},
    // tx_packet_size: one send may carry a whole batch of frames (lws keeps any unsent rest and sends it first).
    {audience::kWsProtocol, lws_callback, sizeof(Pss), 4096, 0, nullptr, kWsBatchBytes},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};
const lws_protocols kHttpOnly[] = {
    {"http", lws_callback, sizeof(Pss), 0, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

constexpr int64_t kTickUs = 100'000;

// The rules' header fields after content-type and content-length (http_rules.h), as lws adds them.
bool add_fields(lws* wsi, const HttpResponse& r, unsigned char** p, unsigned char* end) {
  bool ok = true;
  std::string name;
  for_each_field(r, r.close, [&](std::string_view field, std::string_view value) {
    name.assign(field);
    name += ':';
    ok = ok && lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(name.c_str()),
                                           reinterpret_cast<const unsigned char*>(value.data()),
                                           static_cast<int>(value.size()), p, end) == 0;
  });
  return ok;
}

}  // namespace

namespace {
int lws_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  return HttpServerCallback::call(wsi, reason, user, in, len);
}
}  // namespace

HttpLimits http_limits(const config::ServerConfig& server) {
  HttpLimits l;
  l.max_body_bytes = server.max_body_bytes;
  l.header_timeout_ms = int64_t{server.header_timeout_s} * 1000;
  l.idle_timeout_ms = int64_t{server.keepalive_timeout_s} * 1000;
  l.max_connections = server.max_connections;
  l.max_connections_per_address = server.max_connections_per_address;
  l.fd_reserve = server.fd_reserve;
  return l;
}

HttpServer::HttpServer(HttpServerOptions options, std::vector<Route> routes, core::Metrics& metrics)
    : options_(std::move(options)),
      routes_(std::move(routes)),
      metrics_(metrics),
      http_metrics_(metrics, "web"),
      outbox_([this](uint64_t conn, uint64_t request, HttpResponse r) { deliver_reply(conn, request, std::move(r)); },
              [this] { lws_cancel_service(context_); }) {
  HttpMetrics::describe(metrics_);
}

HttpServer::~HttpServer() { stop(); }

core::Result<void> HttpServer::start() {
  lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
  // The live front owns the port (bound first: a port in use fails here); lws serves the sockets it hands
  // over.
  LiveFrontOptions front_options;
  front_options.listen = options_.listen;
  front_options.port = options_.port;
  front_options.listener = std::exchange(options_.listener, -1);
  front_options.prefix = options_.edge_prefix + "/";
  front_options.limits = options_.limits;
  front_options.route = Route{options_.edge_prefix, options_.edge_prefix, nullptr};
  edge_route_ = nullptr;
  for (const auto& route : routes_)
    if (route.prefix == options_.edge_prefix) {
      front_options.route = route;
      edge_route_ = &route;
    }
  budget_ = std::make_unique<ConnectionBudget>(options_.limits.max_connections,
                                               options_.limits.max_connections_per_address);
  front_options.budget = budget_.get();
  front_options.addresses = options_.addresses;
  metrics_.gauge("sreda_http_connections", "HTTP connections open (the live front's and libwebsockets')",
                 [b = budget_.get()] { return static_cast<double>(b->total()); });
  front_ = std::make_unique<LiveFront>(
      front_options, metrics_, [this](int fd, std::string bytes, std::unique_ptr<ConnectionTicket> t) {
        adopt(fd, std::move(bytes), std::move(t));
      });
  if (auto r = front_->listen(); !r) {
    front_.reset();
    return r;
  }
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
  info.protocols = options_.ws ? kProtocols : kHttpOnly;
  // Idle WebSockets are pinged after ws_ping_interval_s; no pong within as long again closes them.
  // lws keeps the pointer, not a copy: the policy lives as long as the server. The timer starts when a
  // WebSocket is established (lws only starts it by itself for client connections) and every pong resets it.
  idle_policy_ = std::make_unique<lws_retry_bo_t>();
  idle_policy_->secs_since_valid_ping = static_cast<uint16_t>(options_.ws_ping_interval_s);
  idle_policy_->secs_since_valid_hangup = static_cast<uint16_t>(options_.ws_ping_interval_s * 2);
  info.retry_and_idle_policy = idle_policy_.get();
  info.user = this;
  // The event loop is libev's (epoll), owned by us: lws's built-in loop is poll(), which scans every
  // connection on every wake-up — with a thousand LL-HLS viewers (before they moved to the live front) or ten
  // thousand WebSockets that scan was most of the server's CPU (measured with perf in scripts/bench/fanout).
  loop_ = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
  if (!loop_) return core::Error{"listen", "cannot create the event loop (libev)", ""};
  void* foreign_loops[1] = {loop_};
  info.foreign_loops = foreign_loops;
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBEV;
  info.timeout_secs = static_cast<unsigned int>(options_.limits.header_timeout_ms / 1000);
  info.keepalive_timeout = static_cast<int>(options_.limits.idle_timeout_ms / 1000);
  // An IPv4 address (or 0.0.0.0) must bind IPv4 only: lws binds IPv6 "any" unless told otherwise.
  in_addr v4{};
  std::string iface;
  if (inet_pton(AF_INET, options_.listen.c_str(), &v4) == 1) {
    info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (options_.listen != "0.0.0.0") iface = options_.listen;
  } else if (options_.listen != "::") {
    iface = options_.listen;
  }
  info.iface = iface.empty() ? nullptr : iface.c_str();

  context_ = lws_create_context(&info);
  if (!context_) {
    ev_loop_destroy(loop_);
    loop_ = nullptr;
    front_->stop();
    front_.reset();
    return core::Error{"listen", "cannot start libwebsockets for HTTP on " + options_.listen + ":" +
                                     std::to_string(options_.port), ""};
  }
  port_ = front_->port();
  outbox_.open();
  if (options_.ws) {
    options_.ws->attach(this);
    tick_ = std::make_unique<Tick>();
    tick_->server = this;
    lws_sul_schedule(context_, 0, &tick_->sul, reinterpret_cast<sul_cb_t>(&HttpServer::on_tick), kTickUs);
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sreda-web");
    outbox_.set_owner_thread();
    ev_run(loop_, 0);  // until stop(): lws_cancel_service → EVENT_WAIT_CANCELLED → ev_break
  });
  front_->run();
  return {};
}

void HttpServer::stop() {
  if (front_) front_->stop();  // first: no more hand-overs
  if (!context_) return;
  stopping_ = true;
  lws_cancel_service(context_);
  if (thread_.joinable()) thread_.join();
  outbox_.close();
  if (tick_) lws_sul_cancel(&tick_->sul);
  lws_context_destroy(context_);  // WebSockets still open report their close to the handler here
  context_ = nullptr;
  ev_loop_destroy(loop_);
  loop_ = nullptr;
  conns_.clear();
  ws_conns_.clear();
  tickets_.clear();
}

void HttpServer::on_tick(void* sul) {
  auto* tick = reinterpret_cast<Tick*>(sul);
  HttpServer* self = tick->server;
  if (self->options_.ws) self->options_.ws->tick(core::now_ms());
  lws_sul_schedule(self->context_, 0, &tick->sul, reinterpret_cast<sul_cb_t>(&HttpServer::on_tick), kTickUs);
}

namespace {
// A descriptor on its way to the web thread: closed if it never gets there (stopping).
struct PendingFd {
  int fd;
  std::unique_ptr<ConnectionTicket> ticket;
  PendingFd(int f, std::unique_ptr<ConnectionTicket> t) : fd(f), ticket(std::move(t)) {}
  ~PendingFd() {
    if (fd >= 0) ::close(fd);
  }
  PendingFd(const PendingFd&) = delete;
  PendingFd& operator=(const PendingFd&) = delete;
};
}  // namespace

void HttpServer::adopt(int fd, std::string bytes, std::unique_ptr<ConnectionTicket> ticket) {
  auto pending = std::make_shared<PendingFd>(fd, std::move(ticket));
  run_on_web_thread([this, pending, bytes = std::move(bytes)] {
    lws_vhost* vhost = lws_get_vhost_by_name(context_, "default");
    const int fd = pending->fd;
    pending->fd = -1;
    // lws reads `bytes` first, as if it had read them from the socket; on failure it closes the socket.
    if (!vhost) {
      ::close(fd);
      return;
    }
    lws* wsi = lws_adopt_socket_vhost_readbuf(vhost, fd, bytes.empty() ? nullptr : bytes.data(), bytes.size());
    if (!wsi) {
      core::log_line(core::LogLevel::warn, "web",
                     "libwebsockets did not adopt a connection from the live front");
      return;  // the ticket is released with `pending`
    }
    // Released at LWS_CALLBACK_WSI_DESTROY (a WebSocket upgrade keeps the same wsi).
    if (pending->ticket) tickets_[wsi] = std::move(pending->ticket);
  });
}

std::string HttpServer::client_of(lws* wsi) const {
  char peer[64] = {0};
  lws_get_peer_simple(wsi, peer, sizeof peer);
  if (!options_.addresses || options_.addresses->trusted_proxies.empty())
    return core::client_address(peer, "", "", core::AddressSet{});
  std::string forwarded;
  if (int n = lws_hdr_custom_length(wsi, "forwarded:", 10); n > 0 && n < 4096) {
    forwarded.resize(static_cast<size_t>(n) + 1);
    const int got = lws_hdr_custom_copy(wsi, forwarded.data(), n + 1, "forwarded:", 10);
    forwarded.resize(got > 0 ? static_cast<size_t>(got) : 0);
  }
  return core::client_address(peer, header(wsi, WSI_TOKEN_X_FORWARDED_FOR), forwarded, options_.addresses->trusted_proxies);
}

void HttpServer::wake(uint64_t conn) {
  auto it = ws_conns_.find(conn);
  if (it != ws_conns_.end()) lws_callback_on_writable(it->second->wsi);
}

void HttpServer::run_on_web_thread(std::function<void()> task) { outbox_.post_task(std::move(task)); }

void HttpServer::deliver_reply(uint64_t conn_id, uint64_t request_id, HttpResponse response) {
  auto c = conns_.find(conn_id);
  if (c == conns_.end() || c->second->request_id != request_id) return;  // the client went away, or moved on
  respond_now(c->second->wsi, *c->second, std::move(response));
}

void HttpServer::respond_now(lws* wsi, Conn& c, HttpResponse response) {
  c.request_id = 0;
  c.response = std::move(response);
  c.has_response = true;
  c.headers_sent = false;
  c.body_sent = 0;
  c.wire.reset();
  lws_callback_on_writable(wsi);
}

int HttpServerCallback::call(lws* wsi, int reason, void* user, void* in, size_t len) {
  return HttpServer::callback(wsi, reason, user, in, len);
}

int HttpServer::callback(lws* wsi, int reason_int, void* user, void* in, size_t len) {
  auto reason = static_cast<lws_callback_reasons>(reason_int);
  lws_context* ctx = lws_get_context(wsi);
  auto* self = ctx ? static_cast<HttpServer*>(lws_context_user(ctx)) : nullptr;
  if (!self) return 0;
  if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
    if (self->stopping_.load()) {
      ev_break(self->loop_, EVBREAK_ALL);
      return 0;
    }
    self->outbox_.drain();
    return 0;
  }
  auto* pss = static_cast<Pss*>(user);
  switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
      return self->on_ws(wsi, reason, user, in, len);
    case LWS_CALLBACK_WSI_DESTROY:
      self->tickets_.erase(wsi);
      if (pss && pss->conn_id && self->ws_conns_.count(pss->conn_id)) return self->on_ws(wsi, LWS_CALLBACK_CLOSED, user, in, len);
      return 0;
    default:
      break;
  }
  Conn* conn = nullptr;
  if (pss && pss->conn_id) {
    auto it = self->conns_.find(pss->conn_id);
    if (it != self->conns_.end()) conn = it->second.get();
  }
  switch (reason) {
    case LWS_CALLBACK_HTTP: {
      if (!pss) return -1;
      if (!conn) {
        auto c = std::make_unique<Conn>();
        c->id = self->next_conn_id_++;
        c->wsi = wsi;
        conn = c.get();
        pss->conn_id = c->id;
        self->conns_.emplace(c->id, std::move(c));
      }
      return self->on_http(wsi, *conn, static_cast<const char*>(in));
    }
    case LWS_CALLBACK_HTTP_BODY: {
      if (!conn || conn->body_too_large) return 0;
      if (static_cast<int64_t>(conn->request.body.size() + len) > self->options_.limits.max_body_bytes) {
        conn->body_too_large = true;
        self->respond_now(wsi, *conn, body_too_large(self->options_.limits.max_body_bytes));
        return 0;
      }
      conn->request.body.append(static_cast<const char*>(in), len);
      return 0;
    }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
      // lws also reports completion for a declared empty body, which was dispatched already.
      if (!conn || conn->body_too_large || !conn->reading_body) return 0;
      conn->reading_body = false;
      self->dispatch(wsi, *conn);
      return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
      if (!conn) return 0;
      return self->on_writable(wsi, *conn);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
      if (!conn) return -1;
      return self->finish_transaction(wsi, *conn);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
      if (conn) {
        conn->gone->store(true, std::memory_order_relaxed);  // a request held for it is dropped
        self->conns_.erase(conn->id);
        pss->conn_id = 0;
      }
      return 0;
    default:
      return 0;
  }
}

int HttpServer::on_ws(lws* wsi, int reason_int, void* user, void* in, size_t len) {
  auto reason = static_cast<lws_callback_reasons>(reason_int);
  auto* pss = static_cast<Pss*>(user);
  audience::WsHandler* handler = options_.ws;
  if (!pss || !handler) return reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION ? 1 : 0;
  if (reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION) {
    // Only /ws with the sreda.v1 subprotocol: without it lws would bind the plain "http" protocol.
    const lws_protocols* protocol = lws_get_protocol(wsi);
    if (!protocol || std::strcmp(protocol->name, audience::kWsProtocol) != 0) {
      metrics_.add("sreda_ws_refused_total", {{"reason", "subprotocol"}});
      return 1;
    }
    if (header(wsi, WSI_TOKEN_GET_URI) != audience::kWsPath) {
      metrics_.add("sreda_ws_refused_total", {{"reason", "path"}});
      return 1;
    }
    auto w = std::make_unique<WsConn>();
    w->id = next_conn_id_++;
    w->wsi = wsi;
    w->handshake.origin = header(wsi, WSI_TOKEN_ORIGIN);
    w->handshake.host = header(wsi, WSI_TOKEN_HOST);
    w->handshake.peer = client_of(wsi);
    w->handshake.address_key = core::limit_key(w->handshake.peer);
    w->handshake.shared_address = options_.addresses && options_.addresses->shared.contains(w->handshake.peer);
    w->handshake.cookie = header(wsi, WSI_TOKEN_HTTP_COOKIE);
    if (handler->admit(w->handshake)) return 1;
    pss->conn_id = w->id;
    ws_conns_.emplace(w->id, std::move(w));
    return 0;
  }
  auto it = pss->conn_id ? ws_conns_.find(pss->conn_id) : ws_conns_.end();
  if (it == ws_conns_.end()) return reason == LWS_CALLBACK_CLOSED ? 0 : -1;
  WsConn& w = *it->second;
  switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
      lws_validity_confirmed(wsi);  // starts the idle timer: a ping after ws.ping_interval_s of silence
      w.opened = true;
      http_metrics_.answered("/ws", 101);  // the upgrade (refusals: sreda_ws_refused_total)
      handler->opened(w.id, w.handshake);
      return 0;
    case LWS_CALLBACK_RECEIVE: {
      if (lws_frame_is_binary(wsi)) {
        handler->refused_frame(w.id, "binary");
        static const char kWhy[] = "binary frames are not accepted";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, (unsigned char*)kWhy, sizeof kWhy - 1);
        return -1;
      }
      if (w.rx.size() + len + lws_remaining_packet_payload(wsi) > options_.ws_max_message) {
        handler->refused_frame(w.id, "too_big");
        std::string why = "messages are at most " + std::to_string(options_.ws_max_message) + " bytes";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char*)why.data(), why.size());
        return -1;
      }
      w.rx.append(static_cast<const char*>(in), len);
      if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
      std::string message;
      message.swap(w.rx);
      handler->message(w.id, message);
      return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      // One lws_write per writable callback (STYLE.md 14): the frames the handler batched, already framed.
      audience::WsBatch batch(ws_wire_, LWS_PRE, kWsBatchBytes);
      audience::WsOut out = handler->next(w.id, batch);
      if (batch.frames()) {
        if (lws_write(wsi, reinterpret_cast<unsigned char*>(batch.wire_data()), batch.size(), LWS_WRITE_RAW) <
            static_cast<int>(batch.size()))
          return -1;
        http_metrics_.sent("/ws", batch.size());
      } else if (out.close_code) {
        lws_close_reason(wsi, static_cast<lws_close_status>(out.close_code), (unsigned char*)out.close_reason.data(),
                         out.close_reason.size());
        return -1;
      }
      if (out.more) lws_callback_on_writable(wsi);
      return 0;
    }
    case LWS_CALLBACK_CLOSED:
      if (w.opened) handler->closed(w.id);
      ws_conns_.erase(it);
      pss->conn_id = 0;
      return 0;
    default:
      return 0;
  }
}

int HttpServer::on_http(lws* wsi, Conn& c, const char* uri) {
  c.request = HttpRequest{};
  c.has_response = false;
  c.body_too_large = false;
  c.bad_query = false;
  c.request.method = method_of(wsi);
  c.request.path = uri ? uri : "/";
  c.request.gone = c.gone;
  // lws hands over the query's items already %-decoded (and the path with dot segments removed).
  for (int i = 0;; ++i) {
    char frag[2048];
    int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n < 0) break;
    if (!add_query_item(std::string_view(frag, static_cast<size_t>(n)), false, c.request.query)) c.bad_query = true;
  }
  c.request.authorization = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
  c.request.host = header(wsi, WSI_TOKEN_HOST);
  c.request.origin = header(wsi, WSI_TOKEN_ORIGIN);
  c.request.content_type = header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
  c.request.peer = client_of(wsi);
  c.request.cookie = header(wsi, WSI_TOKEN_HTTP_COOKIE);

  std::string length_text = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
  int64_t length = 0;
  if (!length_text.empty()) {
    try {
      length = std::stoll(length_text);
    } catch (const std::exception&) {
      length = -1;
    }
  }
  if (length < 0) {
    respond_now(wsi, c, bad_request("invalid Content-Length"));
    return 0;
  }
  if (length > options_.limits.max_body_bytes) {
    respond_now(wsi, c, body_too_large(options_.limits.max_body_bytes));
    return 0;
  }
  if (length > 0) {
    c.reading_body = true;
    c.request.body.reserve(static_cast<size_t>(length));
    return 0;  // the body arrives in LWS_CALLBACK_HTTP_BODY
  }
  dispatch(wsi, c);
  return 0;
}

void HttpServer::dispatch(lws* wsi, Conn& c) {
  Routing routing = route_request(routes_, c.request,
                                  c.bad_query ? std::optional<PathVerdict>(PathVerdict::bad) : std::nullopt);
  c.route_label = routing.label;
  if (routing.answered) return respond_now(wsi, c, std::move(routing.answer));
  const uint64_t request_id = next_request_id_++;
  c.request_id = request_id;
  Reply reply = outbox_.reply(c.id, request_id);
  RouteHandler* handler = routing.route->handler;
  if (routing.route == edge_route_ && front_) {
    // The live front's route runs on the front's thread only (a /live request on a connection lws carries).
    front_->run_on_edge_thread([handler, request = c.request, reply = std::move(reply)]() mutable {
      handler->handle(std::move(request), std::move(reply));
    });
    return;
  }
  handler->handle(c.request, std::move(reply));
}

int HttpServer::on_writable(lws* wsi, Conn& c) {
  if (!c.has_response) return 0;
  HttpResponse& r = c.response;
  const std::string_view body = r.payload();
  const bool head = c.request.method == "HEAD";
  if (!r.file_path.empty()) {
    unsigned char extra[1024];
    unsigned char* p = extra;
    unsigned char* end = extra + sizeof extra;
    if (!add_fields(wsi, r, &p, end)) return -1;
    http_metrics_.answered(c.route_label, 200);
    // The file as a whole (a range request is counted at the file's size): lws streams it itself.
    std::error_code size_error;
    const auto file_bytes = std::filesystem::file_size(r.file_path, size_error);
    http_metrics_.sent(c.route_label, static_cast<uint64_t>(p - extra) + (size_error || head ? 0 : file_bytes));
    c.has_response = false;
    int n = lws_serve_http_file(wsi, r.file_path.c_str(), r.content_type.c_str(), reinterpret_cast<char*>(extra),
                                static_cast<int>(p - extra));
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi))) return -1;
    return 0;
  }
  if (!c.headers_sent) {
    // Headers and (when it fits in one piece) the whole body go out in one write: one send and one
    // wake-up of the client per response instead of two.
    const size_t kHeaderRoom = 4096;
    const bool with_body = !head && !body.empty() && body.size() <= kOneWriteBody;
    c.wire = std::make_unique_for_overwrite<unsigned char[]>(LWS_PRE + kHeaderRoom + (with_body ? body.size() : 0));
    unsigned char* start = c.wire.get() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = start + kHeaderRoom - 1;
    if (lws_add_http_common_headers(wsi, static_cast<unsigned int>(r.status), r.content_type.c_str(),
                                    body.size(), &p, end))
      return -1;
    if (!add_fields(wsi, r, &p, end)) return -1;
    if (lws_finalize_http_header(wsi, &p, end)) return -1;
    size_t n = static_cast<size_t>(p - start);
    if (with_body) {
      std::memcpy(p, body.data(), body.size());
      n += body.size();
    }
    if (lws_write(wsi, start, n, LWS_WRITE_HTTP_HEADERS) != static_cast<int>(n)) return -1;
    http_metrics_.sent(c.route_label, n);
    c.headers_sent = true;
    c.wire.reset();
    if (body.empty() || head || with_body) return finish_transaction(wsi, c);
    lws_callback_on_writable(wsi);
    return 0;
  }
  // One lws_write per writable callback (STYLE.md 14), in pieces of at most 256 KiB (a whole LL-HLS part
  // or playlist in one write). The headroom lws needs before each piece is the already-sent body before
  // it (or the LWS_PRE bytes reserved at the start), which lws may overwrite.
  const size_t kPiece = 256 * 1024;
  if (!c.wire) {
    c.wire = std::make_unique_for_overwrite<unsigned char[]>(LWS_PRE + body.size());
    std::memcpy(c.wire.get() + LWS_PRE, body.data(), body.size());
  }
  size_t n = std::min(kPiece, body.size() - c.body_sent);
  const bool last = c.body_sent + n == body.size();
  if (lws_write(wsi, c.wire.get() + LWS_PRE + c.body_sent, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
      static_cast<int>(n))
    return -1;
  http_metrics_.sent(c.route_label, n);
  c.body_sent += n;
  if (!last) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  return finish_transaction(wsi, c);
}

int HttpServer::finish_transaction(lws* wsi, Conn& c) {
  if (c.has_response) http_metrics_.answered(c.route_label, c.response.status);
  const bool close = c.has_response && c.response.close;
  c.has_response = false;
  c.response = HttpResponse{};
  c.request = HttpRequest{};
  c.wire.reset();
  if (close) return -1;
  if (lws_http_transaction_completed(wsi)) return -1;
  return 0;
}

}  // namespace sreda::web
