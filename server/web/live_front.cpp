#include "server/web/live_front.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <filesystem>
#include <utility>

#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/web/live_front_request.h"

namespace sreda::web {

namespace asio = boost::asio;
using asio::ip::tcp;

struct LiveFront::Conn {
  explicit Conn(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  uint64_t id = 0;
  std::string peer;
  std::string in;             // bytes read and not yet consumed (the next request's, when idle)
  bool waiting_read = false;  // a peek (the read readiness wait) is pending
  // What the readiness wait peeked at (MSG_PEEK: nothing consumed): a request line for the live front is
  // usually whole in it, so read() need not peek again.
  std::array<char, 256> peek{};
  bool busy = false;          // a request is being answered (held, or its response being written)
  bool in_process = false;    // process() is on the stack
  bool started = false;       // bytes of the next request have arrived (its header deadline runs)
  bool closed = false;        // closed or handed over: every pending handler returns
  bool head_only = false;     // the request being answered is a HEAD
  bool keep_alive = true;
  bool http10 = false;  // answer with HTTP/1.0, as libwebsockets does
  uint64_t serial = 0;  // of the request being answered: late replies for older ones are dropped
  std::string_view label = "other";  // its route's label in sreda_http_requests_total (Routing::label)
  uint64_t requests = 0;
  int64_t deadline_ms = 0;  // steady clock; 0: none (a handler holds the request)
  // The response being written: its header block, and the response that owns the body bytes.
  std::string out_head;
  HttpResponse response;
  size_t out_total = 0;
  size_t out_sent = 0;
  bool close_after = false;
  std::unique_ptr<ConnectionTicket> ticket;  // counted in the connection budget until closed or handed over
  std::shared_ptr<std::atomic<bool>> gone = std::make_shared<std::atomic<bool>>(false);  // set at close
};

namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr int64_t kTickMs = 250;

}  // namespace

std::string response_head(const HttpResponse& r, size_t content_length, bool close, bool http10) {
  std::string h;
  h.reserve(160 + r.content_type.size());
  h += http10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  h += std::to_string(r.status);
  h += ' ';
  h += reason_phrase(r.status);
  h += "\r\ncontent-type: ";
  h += r.content_type;
  h += "\r\ncontent-length: ";
  h += std::to_string(content_length);
  h += "\r\n";
  for_each_field(r, close, [&h](std::string_view name, std::string_view value) {
    h += name;
    h += ": ";
    h += value;
    h += "\r\n";
  });
  h += "\r\n";
  return h;
}

LiveFront::LiveFront(LiveFrontOptions options, core::Metrics& metrics, Handoff handoff)
    : options_(std::move(options)),
      handoff_(std::move(handoff)),
      acceptor_(io_),
      tick_(io_),
      routes_{options_.route},
      http_metrics_(metrics, "edge"),
      outbox_([this](uint64_t conn, uint64_t serial,
                     HttpResponse r) { deliver_reply(conn, serial, std::move(r)); },
              [this] { asio::post(io_, [this] { outbox_.drain(); }); }) {}
LiveFront::~LiveFront() {
  stop();
}

core::Result<int> listen_tcp(const std::string& listen, int port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen, ec);
  const std::string where = listen + ":" + std::to_string(port);
  if (ec) return core::Error{"listen", "cannot listen for HTTP on " + where + ": not an address", ""};
  asio::io_context io;
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && address.is_v6()) acceptor.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  const int fd = ec ? -1 : acceptor.release(ec);
  if (ec) return core::Error{"listen", "cannot listen for HTTP on " + where + " (" + ec.message() + ")", ""};
  // Not inherited: a child (GStreamer's plugin scanner, bound early now) that outlived us would keep the port.
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

core::Result<void> LiveFront::listen() {
  int fd = std::exchange(options_.listener, -1);
  if (fd < 0) {
    auto bound = listen_tcp(options_.listen, options_.port);
    if (!bound) return bound.error();
    fd = *bound;
  }
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  boost::system::error_code ec;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0)
    ec.assign(errno, boost::system::system_category());
  if (!ec) acceptor_.assign(local.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return core::Error{"listen", "cannot listen for HTTP on " + options_.listen + " (" + ec.message() + ")", ""};
  }
  port_ = acceptor_.local_endpoint().port();
  return {};
}

void LiveFront::run() {
  if (!acceptor_.is_open() || thread_.joinable()) return;
  running_ = true;
  read_buffer_.resize(kReadChunk);
  // The descriptor reserve: Linux hands out the lowest free descriptor, so a new connection at or above
  // (limit − reserve) means fewer than `reserve` are left for recordings, the store and studios.
  rlimit rl{};
  const int64_t limit = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                            ? static_cast<int64_t>(std::min<rlim_t>(rl.rlim_cur, 1 << 30))
                            : int64_t{1} << 30;
  const int64_t reserve = std::min<int64_t>(options_.limits.fd_reserve, limit / 2);
  fd_ceiling_ = static_cast<int>(limit - reserve);
  // HTTP connections may use what is neither the reserve nor open now (the store, the listeners, the
  // libraries' own descriptors); what opens later (recordings, studios) comes out of the reserve.
  int64_t open_now = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++open_now;
  http_fd_cap_ = std::max<int64_t>(1, limit - reserve - open_now);
  core::log_line(core::LogLevel::info, "edge",
                 "descriptors: limit " + std::to_string(limit) + ", " + std::to_string(open_now) + " open, " +
                     std::to_string(reserve) + " kept in reserve: at most " + std::to_string(http_fd_cap_) +
                     " HTTP connections (then idle ones are closed, or new ones refused)");
  accept();
  on_tick();
  outbox_.open();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sreda-front");
    outbox_.set_owner_thread();
    io_.run();
  });
}

void LiveFront::stop() {
  if (!running_) {
    if (acceptor_.is_open()) acceptor_.close();
    return;
  }
  running_ = false;
  outbox_.close();
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    tick_.cancel();
    auto conns = conns_;
    for (auto& [id, c] : conns) close(c);
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
  conns_.clear();
}

void LiveFront::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors (or a reset before accept): try again shortly rather than spin; one line a burst.
      note_refusal("accept_error", "accept: " + ec.message() + " (retrying every 100 ms)");
      auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      retry->async_wait([this, retry](boost::system::error_code e) {
        if (!e) accept();
      });
      return;
    }
    auto c = std::make_shared<Conn>(std::move(socket));
    c->id = next_conn_id_++;
    boost::system::error_code e;
    c->socket.non_blocking(true, e);
    c->socket.set_option(tcp::no_delay(true), e);
    auto remote = c->socket.remote_endpoint(e);
    if (!e) c->peer = core::client_address(remote.address().to_string(), "", "", core::AddressSet{});
    const bool short_of_fds = c->socket.native_handle() >= fd_ceiling_ ||
                              (options_.budget && options_.budget->total() >= http_fd_cap_);
    if (short_of_fds && !evict_idle()) {
      refuse(c->socket, "descriptors",
             "another connection would eat into the descriptors kept for recordings, the store and studios "
             "(server.fd_reserve)");
      return accept();
    }
    if (options_.budget) {
      const auto& policy = options_.addresses;
      const bool proxy = policy && policy->trusted_proxies.contains(c->peer);
      const int64_t cap = proxy    ? -1
                          : policy ? policy->limit_for(c->peer, options_.budget->max_per_address())
                                   : options_.budget->max_per_address();
      std::string key = core::limit_key(c->peer);
      const auto verdict = options_.budget->acquire(key, cap);
      if (verdict == ConnectionBudget::Verdict::total) {
        refuse(c->socket, "connections_total", "server.max_connections HTTP connections are open");
        return accept();
      }
      if (verdict == ConnectionBudget::Verdict::per_address) {
        refuse(c->socket, "connections_per_address",
               std::to_string(cap) + " HTTP connections are open from " + key +
                   " (server.max_connections_per_address)");
        return accept();
      }
      c->ticket = std::make_unique<ConnectionTicket>(options_.budget, std::move(key));
    }
    c->deadline_ms = core::steady_ms() + options_.limits.header_timeout_ms;
    conns_.emplace(c->id, c);
    connection_count_.store(conns_.size(), std::memory_order_relaxed);
    read(c);  // the request is usually there already
    accept();
  });
}

// Reads what the socket has (until it would block or the buffer's cap), then serves or hands over.
// At a request boundary the bytes are first only peeked at (MSG_PEEK): a request the live front does not
// serve is handed over with nothing read from the socket, so libwebsockets reads it, body and all, exactly as
// if it had accepted the connection itself (a body that came with the header in an adopted read buffer is
// lost by lws 4.1: POSTs hung). Only a request the live front serves is then read for real.
void LiveFront::read(const ConnPtr& c, size_t peeked) {
  const int fd = c->socket.native_handle();
  if (c->in.empty() && !c->busy) {
    // The wait's own peek usually holds the whole request line: a request for the live front is then known
    // without peeking again.
    auto route = peeked > 0 && options_.route.handler
                     ? live_front::classify(std::string_view(c->peek.data(), peeked), options_.prefix,
                                            options_.limits.max_handoff_bytes)
                     : live_front::Route::need_more;
    if (route != live_front::Route::front) {
      ssize_t n;
      do n = ::recv(fd, read_buffer_.data(), options_.limits.max_handoff_bytes, MSG_PEEK);
      while (n < 0 && errno == EINTR);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return arm_read(c);
      if (n <= 0) return close(c);  // the peer closed, or an error
      route = live_front::classify(std::string_view(read_buffer_.data(), static_cast<size_t>(n)),
                                   options_.prefix, options_.limits.max_handoff_bytes);
    }
    if (!c->started) {
      c->started = true;
      c->deadline_ms = core::steady_ms() + options_.limits.header_timeout_ms;
    }
    if (route == live_front::Route::need_more) return arm_read(c);  // the rest of the line raises a new edge
    if (route == live_front::Route::handoff || !options_.route.handler) return hand_off(c);
  }
  for (;;) {
    if (c->in.size() >= options_.limits.max_header_bytes) break;
    const size_t want = std::min(kReadChunk, options_.limits.max_header_bytes - c->in.size());
    const ssize_t n = ::recv(fd, read_buffer_.data(), want, 0);
    if (n > 0) {
      c->in.append(read_buffer_.data(), static_cast<size_t>(n));
      if (static_cast<size_t>(n) < want) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    close(c);  // the peer closed (a held request is dropped with it) or an error
    return;
  }
  process(c);
  arm_read(c);
}

// At the descriptor ceiling: closes the oldest connection that has not sent a byte (an idle flood's) so
// a new one can come in; false when there is none. A scan, only while at the ceiling.
bool LiveFront::evict_idle() {
  ConnPtr oldest;
  for (const auto& [id, c] : conns_)
    if (!c->started && !c->busy && c->requests == 0 && (!oldest || id < oldest->id)) oldest = c;
  if (!oldest) return false;
  note_refusal("idle_evicted", "descriptors are short: closing connections that sent nothing (from " +
                                   oldest->peer + ") to let new ones in");
  close(oldest);
  return true;
}

void LiveFront::note_refusal(const std::string& cause, const std::string& what) {
  http_metrics_.refused(cause, what, core::steady_ms());
}

void LiveFront::refuse(tcp::socket& socket, const std::string& cause, const std::string& why) {
  note_refusal(cause, "refusing new HTTP connections: " + why);
  // Best effort, never waiting: a plain-words 503 the client may read, then close.
  static const std::string kBusy = [] {
    const auto r = too_many_connections();
    return response_head(r, r.body.size(), true) + r.body;
  }();
  boost::system::error_code ec;
  ::send(socket.native_handle(), kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

// Waits for bytes with a peek of up to 256 of them rather than async_wait: Asio's epoll reactor re-registers
// the socket (an epoll_ctl) for every async_wait, but not for a receive, which waits on the registration the
// socket already has (edge-triggered; a new edge comes with new bytes). That was a system call per request,
// about 9 % of the live front's CPU with 1000 LL-HLS viewers (perf, scripts/bench/fanout).
void LiveFront::arm_read(const ConnPtr& c) {
  if (c->closed || c->waiting_read) return;
  // A full buffer waits for the response being written; then process() consumes it and reading resumes.
  if (c->in.size() >= options_.limits.max_header_bytes) return;
  c->waiting_read = true;
  c->socket.async_receive(boost::asio::buffer(c->peek), tcp::socket::message_peek,
                          [this, c](boost::system::error_code ec, size_t n) {
                            c->waiting_read = false;
                            if (c->closed) return;
                            if (ec == boost::asio::error::operation_aborted) return;
                            if (ec) return close(c);  // the peer closed (eof), or an error
                            read(c, n);
                          });
}

void LiveFront::process(const ConnPtr& c) {
  if (c->in_process) return;
  c->in_process = true;
  while (!c->busy && !c->closed && !c->in.empty()) {
    const auto route = live_front::classify(c->in, options_.prefix, options_.limits.max_handoff_bytes);
    if (route == live_front::Route::need_more) break;
    if (route == live_front::Route::handoff || !options_.route.handler) {
      hand_off(c);
      break;
    }
    live_front::Head head;
    const auto status = live_front::parse_head(c->in, options_.limits.max_header_bytes, head);
    if (status == live_front::ParseStatus::need_more) break;
    if (status == live_front::ParseStatus::too_large) {
      fail(
          c, header_too_large(options_.limits.max_header_bytes), "header_too_large",
          "the request header is larger than " + std::to_string(options_.limits.max_header_bytes) + " bytes");
      break;
    }
    if (status == live_front::ParseStatus::bad) {
      fail(c, bad_request("invalid request"));
      break;
    }
    if (status == live_front::ParseStatus::handoff) {
      hand_off(c);
      break;
    }
    // A well-formed request (also one for a path the rules refuse: answered, and the connection stays open).
    c->in.erase(0, head.header_bytes);
    c->started = false;
    c->keep_alive = head.keep_alive;
    c->http10 = head.version == 10;
    head.request.peer = options_.addresses && !options_.addresses->trusted_proxies.empty()
                            ? core::client_address(c->peer, head.x_forwarded_for, head.forwarded,
                                                   options_.addresses->trusted_proxies)
                            : c->peer;
    head.request.gone = c->gone;
    dispatch(c, std::move(head.request),
             status == live_front::ParseStatus::bad_path    ? PathVerdict::bad
             : status == live_front::ParseStatus::traversal ? PathVerdict::traversal
                                                            : PathVerdict::ok);
  }
  c->in_process = false;
  if (!c->closed && !c->busy && c->in.empty() && c->deadline_ms == 0)
    c->deadline_ms = core::steady_ms() + options_.limits.idle_timeout_ms;
}

void LiveFront::dispatch(const ConnPtr& c, HttpRequest request, PathVerdict parsed) {
  c->busy = true;
  c->head_only = request.method == "HEAD";
  c->deadline_ms = 0;  // the handler may hold it (a blocking reload): its own deadline answers it
  ++c->requests;
  const uint64_t serial = ++c->serial;
  // The rules first (path, method), as for every route.
  Routing routing = route_request(routes_, request, parsed);
  c->label = routing.label;
  if (routing.answered) return deliver(c, std::move(routing.answer));
  routing.route->handler->handle(std::move(request), outbox_.reply(c->id, serial));
}

void LiveFront::deliver_reply(uint64_t conn_id, uint64_t serial, HttpResponse response) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) return;  // the viewer went away
  ConnPtr c = it->second;          // a copy: delivering may close the connection (and erase the map's)
  if (c->busy && c->serial == serial && !c->out_total) deliver(c, std::move(response));
}

void LiveFront::deliver(const ConnPtr& c, HttpResponse response) {
  if (!response.file_path.empty())  // the live front's routes answer from memory; a file is lws's job
    response = HttpResponse::error(500, "internal", "a file response on the live front");
  http_metrics_.answered(c->label, response.status);
  c->response = std::move(response);
  const std::string_view body = c->response.payload();
  c->close_after =
      c->response.close || !c->keep_alive || c->requests >= options_.limits.max_requests_per_connection;
  c->out_head = response_head(c->response, body.size(), c->close_after, c->http10);
  c->out_total = c->out_head.size() + (c->head_only ? 0 : body.size());
  c->out_sent = 0;
  http_metrics_.sent(c->label, c->out_total);  // counted once, as the response starts
  c->deadline_ms = core::steady_ms() + options_.limits.header_timeout_ms;  // a client that does not read
  write_rest(c);
}

// Writes what the socket takes now (one writev of header block + body, usually all of it); the rest when
// it is writable again.
void LiveFront::write_rest(const ConnPtr& c) {
  const std::string_view body = c->head_only ? std::string_view() : c->response.payload();
  for (;;) {
    std::array<iovec, 2> iov{};
    int n_iov = 0;
    size_t skip = c->out_sent;
    if (skip < c->out_head.size()) {
      iov[n_iov++] = {c->out_head.data() + skip, c->out_head.size() - skip};
      skip = 0;
    } else {
      skip -= c->out_head.size();
    }
    if (skip < body.size()) iov[n_iov++] = {const_cast<char*>(body.data()) + skip, body.size() - skip};
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = static_cast<size_t>(n_iov);
    const ssize_t n = ::sendmsg(c->socket.native_handle(), &msg, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_sent += static_cast<size_t>(n);
      if (c->out_sent >= c->out_total) return finish(c);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return close(c);
  }
  c->socket.async_wait(tcp::socket::wait_write, [this, c](boost::system::error_code ec) {
    if (ec || c->closed) return;
    write_rest(c);
  });
}

void LiveFront::finish(const ConnPtr& c) {
  c->response = HttpResponse{};
  c->out_total = c->out_sent = 0;
  c->busy = false;
  c->started = !c->in.empty();
  if (c->close_after) {
    boost::system::error_code ec;
    c->socket.shutdown(tcp::socket::shutdown_send, ec);
    return close(c);
  }
  c->deadline_ms = c->in.empty() ? core::steady_ms() + options_.limits.idle_timeout_ms
                                 : core::steady_ms() + options_.limits.header_timeout_ms;
  if (!c->in_process) {
    process(c);
    arm_read(c);
  }
}

void LiveFront::fail(const ConnPtr& c, HttpResponse r, const char* refusal, const std::string& why) {
  if (refusal) note_refusal(refusal, "refusing a request from " + c->peer + ": " + why);
  r.close = true;
  c->busy = true;
  c->head_only = false;
  ++c->serial;
  http_metrics_.answered("other", r.status);
  c->response = std::move(r);
  const std::string_view body = c->response.payload();
  c->close_after = true;
  c->out_head = response_head(c->response, body.size(), true);
  c->out_total = c->out_head.size() + body.size();
  c->out_sent = 0;
  http_metrics_.sent("other", c->out_total);
  c->deadline_ms = core::steady_ms() + options_.limits.header_timeout_ms;
  write_rest(c);
}

void LiveFront::hand_off(const ConnPtr& c) {
  if (c->in.size() > options_.limits.max_handoff_bytes) {
    // Pipelined bytes after /live requests, more than an adopted lws socket takes.
    const std::string why = "too many pipelined bytes before this request";
    fail(c, HttpResponse::error(431, "header_too_large", why), "pipelined_too_large", why);
    return;
  }
  c->closed = true;
  boost::system::error_code ec;
  const int fd = c->socket.release(ec);  // pending waits complete with operation_aborted
  conns_.erase(c->id);
  connection_count_.store(conns_.size(), std::memory_order_relaxed);
  if (ec || fd < 0) return;
  handoff_(fd, std::move(c->in), std::move(c->ticket));
}

void LiveFront::close(const ConnPtr& c) {
  if (c->closed) return;
  c->closed = true;
  c->gone->store(true, std::memory_order_relaxed);  // a request held for it is dropped
  c->ticket.reset();
  boost::system::error_code ec;
  c->socket.close(ec);
  conns_.erase(c->id);
  connection_count_.store(conns_.size(), std::memory_order_relaxed);
}

// Every kTickMs: closes connections past their deadline (slowloris, idle keep-alive, a stalled reader).
void LiveFront::on_tick() {
  const int64_t now = core::steady_ms();
  std::vector<ConnPtr> expired;
  for (const auto& [id, c] : conns_)
    if (c->deadline_ms && c->deadline_ms <= now) expired.push_back(c);
  for (const auto& c : expired) {
    // A request begun and not finished in time (slowloris), or a response the client does not read; an idle
    // keep-alive connection simply ends.
    if (c->started && !c->busy)
      note_refusal("header_timeout", "closing a connection from " + c->peer +
                                         ": its request header was not complete "
                                         "within server.header_timeout_s (slowloris)");
    else if (c->busy && c->out_sent < c->out_total)
      note_refusal("write_timeout",
                   "closing a connection from " + c->peer + ": it did not read its response");
    close(c);
  }
  tick_.expires_after(std::chrono::milliseconds(kTickMs));
  tick_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_tick();
  });
}

}  // namespace sreda::web
