// Long because it is one libsrt listener: its epoll loop, the listen callback (access control before the
// handshake) and the per-caller limits share the pending/session tables here; splitting them would expose
// those tables across files for no second user.
#include "server/ingest/srt/srt_server.h"

#include <pthread.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/ingest/srt/srt_socket.h"
#include "server/ingest/srt/stream_id.h"

namespace sreda::ingest::srt {
namespace {

constexpr int loop_wait_ms = 50;               // also the latency of disconnect() and of on_refused()
constexpr int retry_wait_ms = 10;              // while some session holds bytes the consumer refused
// A dormant loop (see SrtServerOptions::quiet_after_ms) is woken by a datagram or stop(); this is only a
// safety net.
constexpr int dormant_check_ms = 30000;
// A listening spell that a datagram started lasts at least this long (a caller's handshake needs a few
// round trips before the listen callback records it as pending).
constexpr int64_t min_listening_ms = 3000;
constexpr int64_t handshake_expiry_ms = 5000;  // callback said yes but no accepted socket came
constexpr size_t max_message = 1500;           // > SRT_LIVE_MAX_PLSIZE (1456); live payloads are 1316
constexpr size_t deliver_threshold = 64 * 1024;
constexpr size_t ts_packet = 188;
constexpr size_t max_queued_refusals = 256;

// The caller's address without its port ("192.0.2.7", "2001:db8::1"): what per-address limits count.
std::string host_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa != nullptr && sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa != nullptr && sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  else
    return "?";
  return buf;
}

std::string address_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa == nullptr) return "?";
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

std::string srt_error_text() {
  return srt_getlasterror_str();
}

core::Error srt_failure(const std::string& what) {
  return core::Error{"srt_failed", "srt: " + what + ": " + srt_error_text(), "srt_port"};
}

bool set_int(SRTSOCKET s, SRT_SOCKOPT opt, int value) {
  return srt_setsockflag(s, opt, &value, sizeof value) == 0;
}

}  // namespace

struct SrtServer::Shared {
  std::mutex mutex;
  std::vector<std::pair<uint64_t, std::string>> disconnects;  // (session id, reason)
  uint64_t next_session_id = 1;                               // loop thread only

  // Any thread: the loop closes the session on its next turn (bounded: a flood of requests is dropped).
  void request_disconnect(uint64_t session_id, std::string reason) {
    std::lock_guard lock(mutex);
    if (disconnects.size() < 1024) disconnects.emplace_back(session_id, std::move(reason));
  }
};

struct SrtServer::Core {
  struct Pending {
    SrtStudio studio;
    std::string remote;
    std::string host;  // remote without the port
    int64_t since_ms = 0;
  };
  struct Session {
    uint64_t id = 0;
    SrtSocket socket;
    SrtStudio studio;
    std::string host;
    core::Logger log{""};
    int64_t started_ms = 0;
    int64_t last_data_ms = 0;
    uint64_t bytes = 0;
    uint64_t dropped = 0;
    bool overflowing = false;
    std::vector<uint8_t> queued;
  };

  Core(const SrtServerOptions& o, SrtHandler& h, SrtServerStats& s, Shared& sh)
      : options(o), handler(h), stats(s), shared(sh), log("srt " + o.listen + ":" + std::to_string(o.port)) {}
  // After a failed open() the listener may exist without the loop: close it before the state it uses goes.
  ~Core() {
    sessions.clear();
    close_listener();
    if (udp_fd >= 0) ::close(udp_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  const SrtServerOptions& options;
  SrtHandler& handler;
  SrtServerStats& stats;
  Shared& shared;
  core::Logger log;
  // The port is our own UDP socket; each listening spell hands libsrt a duplicate of it (srt_bind_acquire),
  // so the port stays ours while libsrt is shut down (dormant, see run()).
  int udp_fd = -1;
  int wake_fd = -1;  // eventfd: stop() and listen callbacks wake the loop when it is dormant
  bool v6 = false;
  std::string where;
  // One listening spell: srt_startup → epoll → listener; close_listener() undoes it (loop thread, or
  // open()/~Core when the loop does not run).
  bool library_started = false;
  int epoll = -1;
  SrtSocket listener;
  int64_t listening_since_ms = 0;
  int bound_port = 0;
  std::thread thread;
  std::atomic<bool> stopping{false};
  int64_t last_activity_ms = 0;  // loop thread only

  std::mutex callback_mutex;  // held across each listen callback; guards `accepting`, `throttles`
  bool accepting = false;
  std::map<std::string, core::LogThrottle> throttles;  // refusal reason → its log throttle

  std::mutex mutex;  // guards pending, per_host, per_studio, refusals (callback thread ↔ loop thread)
  std::map<SRTSOCKET, Pending> pending;
  std::map<std::string, int> per_host;  // pending handshakes and sessions per caller address
  // Sessions per studio: a studio has one publisher, so while it has a session a caller with its key is refused
  // in the listen callback, before libsrt makes its connection objects (~0.5 MB each, kept a while after the
  // close: a flood of callers with one valid key cost hundreds of MB). Pending handshakes are not counted (one
  // that fails afterwards, e.g. a wrong passphrase, must not keep the studio out): they have their own bound.
  std::map<int64_t, int> per_studio;
  std::vector<std::pair<std::string, std::string>> refusals;  // (remote, reason)
  std::atomic<int> session_count{0};

  std::map<SRTSOCKET, std::unique_ptr<Session>> sessions;  // loop thread only

  core::Result<void> open();
  core::Result<void> listen_again();
  void close_listener();
  void wait_dormant();
  static int listen_callback(void* opaque, SRTSOCKET ns, int hsversion, const sockaddr* peer,
                             const char* streamid);
  int on_listen(SRTSOCKET ns, int hsversion, const sockaddr* peer, const char* streamid);
  void queue_refusal(const std::string& remote, const std::string& reason);
  // A pending handshake's or a session's place from `host`; and, for a session (studio_id != 0), its studio's.
  void release_host(const std::string& host, int64_t studio_id);
  void run();
  void turn(std::vector<SRT_EPOLL_EVENT>& events);
  bool quiet(int64_t now);
  void wake_loop();
  void accept_one();
  void read_session(SRTSOCKET s);
  void deliver(Session& s);
  void close_session(SRTSOCKET s, const std::string& reason);
  void report_refusals();
  void expire_pending(bool all);
  void shutdown();
};

core::Result<void> SrtServer::Core::open() {
  sockaddr_storage storage{};
  socklen_t addr_len = 0;
  if (options.port < 0 || options.port > 65535) {
    return core::Error{"bad_port", "srt: port out of range: " + std::to_string(options.port), "srt_port"};
  }
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, options.listen.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(options.port));
    addr_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, options.listen.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(options.port));
    addr_len = sizeof(sockaddr_in6);
    v6 = true;
  } else {
    return core::Error{"bad_address", "srt: not an IP address: " + options.listen, "srt_listen"};
  }
  where = options.listen + ":" + std::to_string(options.port);
  auto sys_failure = [&](const std::string& what) {
    return core::Error{"srt_failed", "srt: " + what + ": " + std::strerror(errno), "srt_port"};
  };
  udp_fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (udp_fd < 0) return sys_failure("socket");
  int off = 0;
  if (v6 && ::setsockopt(udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0) {
    return sys_failure("IPV6_V6ONLY");
  }
  if (::bind(udp_fd, reinterpret_cast<sockaddr*>(&storage), addr_len) != 0) {
    return sys_failure("cannot bind " + where);
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  if (::getsockname(udp_fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return sys_failure("getsockname");
  }
  bound_port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return sys_failure("eventfd");
  log = core::Logger("srt " + options.listen + ":" + std::to_string(bound_port));
  if (auto r = listen_again(); !r) return r;
  log.info("listening (latency " + std::to_string(options.latency_ms) + " ms)");
  thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "sreda-srt");
    run();
  });
  return {};
}

// A listening spell: libsrt started, an epoll, a listener on a duplicate of our UDP socket.
core::Result<void> SrtServer::Core::listen_again() {
  if (!library_started) {
    if (srt_startup() < 0) return srt_failure("srt_startup failed");
    library_started = true;
  }
  epoll = srt_epoll_create();
  if (epoll < 0) return srt_failure("srt_epoll_create failed");
  srt_epoll_set(epoll, SRT_EPOLL_ENABLE_EMPTY);
  listener = SrtSocket(srt_create_socket());
  if (!listener.valid()) return srt_failure("srt_create_socket failed");
  SRTSOCKET ls = listener.get();
  SRT_TRANSTYPE live = SRTT_LIVE;
  bool ok = srt_setsockflag(ls, SRTO_TRANSTYPE, &live, sizeof live) == 0 && set_int(ls, SRTO_RCVSYN, 0) &&
            set_int(ls, SRTO_SNDSYN, 0) && set_int(ls, SRTO_LATENCY, options.latency_ms) &&
            set_int(ls, SRTO_RCVLATENCY, options.latency_ms);
  if (!ok) return srt_failure("setting listener options failed");
  // libsrt closes the descriptor it is given when it lets go of the port: give it a duplicate. (On a
  // failure inside srt_bind_acquire the duplicate may or may not be closed by libsrt: it is left alone.)
  int fd = ::fcntl(udp_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return core::Error{"srt_failed", std::string("srt: dup: ") + std::strerror(errno), "srt_port"};
  if (srt_bind_acquire(ls, fd) != 0) return srt_failure("cannot bind " + where);
  if (srt_listen_callback(ls, &Core::listen_callback, this) != 0)
    return srt_failure("srt_listen_callback failed");
  {
    std::lock_guard gate(callback_mutex);
    accepting = true;
  }
  if (srt_listen(ls, std::max(1, options.max_connections)) != 0)
    return srt_failure("cannot listen on " + where);
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  if (srt_epoll_add_usock(epoll, ls, &events) != 0) return srt_failure("srt_epoll_add_usock failed");
  listening_since_ms = last_activity_ms = core::steady_ms();
  stats.listening.store(true);
  return {};
}

// Ends a listening spell: no callback after this, libsrt's threads joined by srt_cleanup (when nothing
// else in the process holds libsrt; otherwise they stop a second or two later, in libsrt's own time).
void SrtServer::Core::close_listener() {
  {
    std::lock_guard gate(callback_mutex);  // waits for a callback in progress
    accepting = false;
  }
  if (epoll >= 0 && listener.valid()) srt_epoll_remove_usock(epoll, listener.get());
  listener.reset();
  if (epoll >= 0) srt_epoll_release(epoll);
  epoll = -1;
  if (library_started) srt_cleanup();
  library_started = false;
  stats.listening.store(false);
}

int SrtServer::Core::listen_callback(void* opaque, SRTSOCKET ns, int hsversion, const sockaddr* peer,
                                     const char* streamid) {
  return static_cast<Core*>(opaque)->on_listen(ns, hsversion, peer, streamid);
}

// libsrt's receive thread, while the caller's handshake waits. Returning -1 rejects the connection with
// the reason set by srt_setrejectreason.
int SrtServer::Core::on_listen(SRTSOCKET ns, int hsversion, const sockaddr* peer, const char* streamid) {
  struct Wake {  // whatever the answer, once it is recorded: an accept or a refusal to report follows
    Core* core;
    ~Wake() { core->wake_loop(); }
  } wake_after{this};
  std::lock_guard gate(callback_mutex);
  std::string remote = address_text(peer);
  std::string host = host_text(peer);
  core::Logger l("srt " + remote);
  auto refuse = [&](int code, const std::string& reason, const std::string& detail) {
    srt_setrejectreason(ns, code);
    l.warn("refused: " + reason + (detail.empty() ? "" : " (" + detail + ")"));
    queue_refusal(remote, reason);
    return -1;
  };
  auto refuse_flood = [&](const std::string& reason, const std::string& detail) {  // one line per 10 s
    srt_setrejectreason(ns, SRT_REJX_OVERLOAD);
    uint64_t held_back = 0;
    if (throttles.try_emplace(reason, std::chrono::seconds(10)).first->second.allow(held_back)) {
      l.warn("refused: " + reason + " (" + detail + ")" +
             (held_back ? " and " + std::to_string(held_back) + " more since the last such line" : ""));
    }
    queue_refusal(remote, reason);
    return -1;
  };
  if (!accepting) {
    srt_setrejectreason(ns, SRT_REJX_DOWN);
    return -1;
  }
  if (hsversion < 5 || streamid == nullptr)
    return refuse(SRT_REJX_BAD_REQUEST, "bad_streamid", "no streamid");
  auto parsed = parse_stream_id(streamid);
  if (!parsed) return refuse(SRT_REJX_BAD_REQUEST, "bad_streamid", parsed.error().message);
  if (parsed->mode != StreamMode::publish) {
    return refuse(SRT_REJX_BAD_MODE, "bad_mode", "this port takes publishers only (m=publish)");
  }
  size_t busy = 0, waiting = 0;
  int from_host = 0;
  {
    std::lock_guard lock(mutex);
    waiting = pending.size();
    busy = waiting + static_cast<size_t>(session_count.load());
    if (auto it = per_host.find(host); it != per_host.end()) from_host = it->second;
  }
  if (from_host >= options.max_connections_per_address) {
    return refuse_flood("connections_per_address", host + " has " + std::to_string(from_host) +
                                                       " connections (ingest.max_connections_per_address)");
  }
  if (busy >= static_cast<size_t>(std::max(0, options.max_connections))) {
    return refuse_flood("max_connections", std::to_string(busy) + " connections (ingest.max_publishers)");
  }
  if (waiting >= static_cast<size_t>(std::max(0, options.max_pending_handshakes))) {
    return refuse_flood("pending_handshakes", std::to_string(waiting) +
                                                  " handshakes in progress (ingest.srt_max_pending_handshakes)");
  }
  std::optional<SrtStudio> studio;
  try {
    studio = handler.find_studio(parsed->key);
  } catch (const std::exception& e) {
    return refuse(SRT_REJX_ISE, "internal_error", std::string("find_studio: ") + e.what());
  }
  if (!studio) return refuse(SRT_REJX_FORBIDDEN, "unknown_key", "key " + mask_key(parsed->key));
  bool studio_busy = false;
  {
    std::lock_guard lock(mutex);
    auto it = per_studio.find(studio->studio_id);
    studio_busy = it != per_studio.end() && it->second > 0;
  }
  if (studio_busy)  // (refuse_flood takes the mutex itself)
    return refuse_flood("already_live",
                        "studio=" + std::to_string(studio->studio_id) + " has a publisher or a handshake in progress");
  if (!studio->passphrase.empty() && srt_setsockflag(ns, SRTO_PASSPHRASE, studio->passphrase.data(),
                                                     static_cast<int>(studio->passphrase.size())) != 0) {
    l.error("studio=" + std::to_string(studio->studio_id) +
            " has an unusable SRT passphrase (10..79 characters)");
    return refuse(SRT_REJX_ISE, "bad_passphrase_config", "studio=" + std::to_string(studio->studio_id));
  }
  l.debug("handshake for studio=" + std::to_string(studio->studio_id) + " key " + mask_key(parsed->key) +
          (studio->passphrase.empty() ? "" : " (encrypted)"));
  std::lock_guard lock(mutex);
  pending[ns] = Pending{std::move(*studio), remote, host, core::steady_ms()};
  ++per_host[host];
  return 0;
}

void SrtServer::Core::release_host(const std::string& host, int64_t studio_id) {
  std::lock_guard lock(mutex);
  if (auto it = per_host.find(host); it != per_host.end() && --it->second <= 0) per_host.erase(it);
  if (auto it = per_studio.find(studio_id); it != per_studio.end() && --it->second <= 0) per_studio.erase(it);
}

void SrtServer::Core::queue_refusal(const std::string& remote, const std::string& reason) {
  std::lock_guard lock(mutex);
  if (refusals.size() < max_queued_refusals) refusals.emplace_back(remote, reason);  // else: only logged
}

// Dormant: with no session, no handshake and no refusal to report for quiet_after_ms (and a spell that a
// datagram started at least min_listening_ms old), the listener is closed and libsrt shut down: its
// receive thread wakes every 10 ms even with nothing to receive (select() with a 10 ms timeout in
// CChannel::recvfrom) — an idle server's largest cost, and as much as the RTMP ingest of a studio. The
// port stays bound (udp_fd); the loop sleeps in poll() until a datagram arrives (a caller's first
// handshake packet, left in the socket for libsrt to read) or stop(). Callers retry their handshake every
// 250 ms, so one that lands while libsrt is shutting down is answered by the next spell.
void SrtServer::Core::run() {
  std::vector<SRT_EPOLL_EVENT> events(64);
  last_activity_ms = core::steady_ms();
  while (!stopping.load()) {
    if (listener.valid()) {
      int64_t now = core::steady_ms();
      if (quiet(now) && now - listening_since_ms >= min_listening_ms) {
        close_listener();
        stats.dormant_spells.fetch_add(1);
        log.debug("dormant: no SRT caller");
        continue;
      }
      turn(events);
    } else {
      wait_dormant();
    }
  }
  shutdown();
}

bool SrtServer::Core::quiet(int64_t now) {
  if (!sessions.empty()) {
    last_activity_ms = now;
    return false;
  }
  {
    std::lock_guard lock(mutex);
    if (!pending.empty() || !refusals.empty()) {
      last_activity_ms = now;
      return false;
    }
  }
  return now - last_activity_ms >= options.quiet_after_ms;
}

void SrtServer::Core::wait_dormant() {
  pollfd fds[2] = {{udp_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  int n = ::poll(fds, 2, dormant_check_ms);
  if (n <= 0) return;
  if (fds[1].revents & POLLIN) {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t r = ::read(wake_fd, &count, sizeof count);
  }
  if (stopping.load() || !(fds[0].revents & (POLLIN | POLLERR))) return;
  if (auto r = listen_again(); !r) {
    // Never spin on the datagram that woke us: drop it, try again on the next one.
    log.error(r.error().message);
    close_listener();
    char scratch[1500];
    [[maybe_unused]] ssize_t dropped = ::recv(udp_fd, scratch, sizeof scratch, MSG_DONTWAIT);
    std::this_thread::sleep_for(std::chrono::milliseconds(retry_wait_ms));
    return;
  }
  log.debug("a datagram: listening again");
}

void SrtServer::Core::wake_loop() {
  if (wake_fd < 0) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd, &one, sizeof one);
}

void SrtServer::Core::turn(std::vector<SRT_EPOLL_EVENT>& events) {
  bool holding =
      std::any_of(sessions.begin(), sessions.end(), [](auto& kv) { return !kv.second->queued.empty(); });
  int n = srt_epoll_uwait(epoll, events.data(), static_cast<int>(events.size()),
                          holding ? retry_wait_ms : loop_wait_ms);
  if (n < 0) std::this_thread::sleep_for(std::chrono::milliseconds(retry_wait_ms));  // never spin
  for (int i = 0; i < n; ++i) {
    if (events[i].fd == listener.get()) {
      accept_one();
    } else {
      read_session(events[i].fd);
    }
  }
  for (auto& [sock, s] : sessions) {
    if (!s->queued.empty()) deliver(*s);
  }
  std::vector<std::pair<uint64_t, std::string>> disconnects;
  {
    std::lock_guard lock(shared.mutex);
    disconnects.swap(shared.disconnects);
  }
  for (auto& d : disconnects) {
    const uint64_t id = d.first;  // not a structured binding: clang 14 cannot capture those
    auto it = std::find_if(sessions.begin(), sessions.end(), [&](auto& kv) { return kv.second->id == id; });
    if (it != sessions.end()) close_session(it->first, "disconnected: " + d.second);
  }
  int64_t now = core::steady_ms();
  std::vector<SRTSOCKET> idle;
  for (auto& [sock, s] : sessions) {
    if (now - s->last_data_ms > options.idle_timeout_ms) idle.push_back(sock);
  }
  for (SRTSOCKET sock : idle) close_session(sock, "idle timeout");
  expire_pending(false);
  report_refusals();
}

// One accept per readiness report: the listener stays readable while more wait (level-triggered), and
// an srt_accept on an empty queue makes libsrt log an error line.
void SrtServer::Core::accept_one() {
  sockaddr_storage addr{};
  int len = sizeof addr;
  SRTSOCKET raw = srt_accept(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  if (raw == SRT_INVALID_SOCK) return;  // SRT_EASYNCRCV: nothing waiting after all
  SrtSocket sock(raw);
  std::string remote = address_text(reinterpret_cast<sockaddr*>(&addr));
  std::optional<Pending> p;
  {
    std::lock_guard lock(mutex);
    if (auto it = pending.find(raw); it != pending.end()) {
      p = std::move(it->second);
      pending.erase(it);  // its per_host count passes to the session (released by close_session)
      ++per_studio[p->studio.studio_id];
    }
  }
  if (!p) {  // not seen by our callback (should not happen): no session, the socket closes here
    log.warn("[" + remote + "] refused: internal_error (accepted without a listen-callback decision)");
    queue_refusal(remote, "internal_error");
    return;
  }
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  if (!set_int(raw, SRTO_RCVSYN, 0) || srt_epoll_add_usock(epoll, raw, &events) != 0) {
    log.error("[" + remote + "] refused: internal_error (" + srt_error_text() + ")");
    queue_refusal(remote, "internal_error");
    release_host(p->host, p->studio.studio_id);  // (counted as the studio's session just above)
    return;
  }
  auto s = std::make_unique<Session>();
  s->id = shared.next_session_id++;
  s->socket = std::move(sock);
  s->studio = std::move(p->studio);
  s->host = p->host;
  s->log = core::Logger("srt " + remote + " studio=" + std::to_string(s->studio.studio_id));
  s->started_ms = s->last_data_ms = core::steady_ms();
  Session& session = *s;
  sessions.emplace(raw, std::move(s));
  session_count.store(static_cast<int>(sessions.size()));
  stats.sessions.store(sessions.size());
  stats.accepted.fetch_add(1);
  std::string reason;
  // The disconnect request joins the queue SrtServer::disconnect() fills (Shared outlives every session).
  auto disconnect = [shared = &shared, id = session.id](std::string why) { shared->request_disconnect(id, std::move(why)); };
  bool ok = handler.on_publish(session.id, session.studio, remote, disconnect, reason);
  if (!ok) {
    close_session(raw, "refused: " + (reason.empty() ? std::string("by the event hub") : reason));
    return;
  }
  session.log.info("publishing to \"" + printable(session.studio.studio_name) + "\" (session " +
                   std::to_string(session.id) + (session.studio.passphrase.empty() ? "" : ", encrypted") +
                   ")");
}

void SrtServer::Core::read_session(SRTSOCKET sock) {
  auto it = sessions.find(sock);
  if (it == sessions.end()) return;
  Session& s = *it->second;
  std::string failure;
  while (true) {
    size_t old = s.queued.size();
    s.queued.resize(old + max_message);
    int n = srt_recvmsg(sock, reinterpret_cast<char*>(s.queued.data() + old), static_cast<int>(max_message));
    if (n <= 0) {
      s.queued.resize(old);
      if (n == 0) break;
      int err = srt_getlasterror(nullptr);
      if (err == SRT_EASYNCRCV) break;
      failure = err == SRT_ECONNLOST ? "peer closed" : "receive error: " + srt_error_text();
      break;
    }
    s.queued.resize(old + static_cast<size_t>(n));
    s.bytes += static_cast<uint64_t>(n);
    stats.bytes_in.fetch_add(static_cast<uint64_t>(n));
    s.last_data_ms = core::steady_ms();
    if (s.queued.size() >= deliver_threshold) deliver(s);
  }
  if (!s.queued.empty()) deliver(s);
  if (failure.empty() && srt_getsockstate(sock) >= SRTS_BROKEN) failure = "peer closed";
  if (!failure.empty()) close_session(sock, failure);
}

// Offers the queued bytes; on refusal keeps them, capped at max_queued_bytes by dropping the oldest.
void SrtServer::Core::deliver(Session& s) {
  if (s.queued.empty()) return;
  if (handler.on_data(s.id, s.queued.data(), s.queued.size())) {
    s.queued.clear();
    if (s.overflowing) s.log.info("consumer caught up");
    s.overflowing = false;
    return;
  }
  if (s.queued.size() <= options.max_queued_bytes) return;
  // Over the cap: drop the oldest bytes down to half of it, so a stuck consumer costs one move per half-cap.
  size_t excess = s.queued.size() - options.max_queued_bytes / 2;
  excess = std::min(s.queued.size(), (excess + ts_packet - 1) / ts_packet * ts_packet);
  s.queued.erase(s.queued.begin(), s.queued.begin() + static_cast<std::ptrdiff_t>(excess));
  s.dropped += excess;
  stats.bytes_dropped.fetch_add(excess);
  if (!s.overflowing) s.log.warn("consumer full: dropping the oldest queued bytes (keep latest)");
  s.overflowing = true;
}

void SrtServer::Core::close_session(SRTSOCKET sock, const std::string& reason) {
  auto it = sessions.find(sock);
  if (it == sessions.end()) return;
  std::unique_ptr<Session> s = std::move(it->second);
  sessions.erase(it);
  srt_epoll_remove_usock(epoll, sock);
  if (!s->queued.empty() && !handler.on_data(s->id, s->queued.data(), s->queued.size())) {
    s->dropped += s->queued.size();
    stats.bytes_dropped.fetch_add(s->queued.size());
  }
  s->queued.clear();
  s->socket.reset();
  release_host(s->host, s->studio.studio_id);
  session_count.store(static_cast<int>(sessions.size()));
  stats.sessions.store(sessions.size());
  double seconds = static_cast<double>(core::steady_ms() - s->started_ms) / 1000.0;
  char facts[128];
  std::snprintf(facts, sizeof facts, " (%llu bytes in, %llu dropped, %.1f s)",
                static_cast<unsigned long long>(s->bytes), static_cast<unsigned long long>(s->dropped),
                seconds);
  s->log.info("closed: " + reason + facts);
  handler.on_end(s->id, reason);
}

void SrtServer::Core::report_refusals() {
  std::vector<std::pair<std::string, std::string>> batch;
  {
    std::lock_guard lock(mutex);
    batch.swap(refusals);
  }
  for (auto& [remote, reason] : batch) {
    stats.refused.fetch_add(1);
    handler.on_refused(remote, reason);
  }
}

// A listen-callback "yes" whose socket never reached srt_accept: the handshake failed afterwards, which
// for an encrypted studio means a wrong or missing passphrase.
void SrtServer::Core::expire_pending(bool all) {
  int64_t now = core::steady_ms();
  std::vector<Pending> expired;
  {
    std::lock_guard lock(mutex);
    for (auto it = pending.begin(); it != pending.end();) {
      if (all || now - it->second.since_ms > handshake_expiry_ms) {
        if (auto h = per_host.find(it->second.host); h != per_host.end() && --h->second <= 0) per_host.erase(h);
        expired.push_back(std::move(it->second));
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (all) return;
  for (auto& p : expired) {
    core::Logger("srt " + p.remote + " studio=" + std::to_string(p.studio.studio_id))
        .warn(std::string("refused: handshake_failed") +
              (p.studio.passphrase.empty() ? "" : " (wrong or missing passphrase?)"));
    queue_refusal(p.remote, "handshake_failed");
  }
}

// Loop thread, once, after the last turn.
void SrtServer::Core::shutdown() {
  {
    std::lock_guard gate(callback_mutex);  // waits for a callback in progress
    accepting = false;
  }
  if (epoll >= 0 && listener.valid()) srt_epoll_remove_usock(epoll, listener.get());
  listener.reset();  // libsrt removes the listener from its receive queue: no callback after this
  std::vector<SRTSOCKET> open;
  for (auto& [sock, s] : sessions) open.push_back(sock);
  for (SRTSOCKET sock : open) close_session(sock, "server stopping");
  close_listener();
  expire_pending(true);
  report_refusals();
  log.info("stopped");
}

SrtServer::SrtServer(SrtServerOptions options, SrtHandler& handler)
    : options_(std::move(options)), handler_(handler), shared_(std::make_unique<Shared>()) {}

SrtServer::~SrtServer() {
  stop();
}

core::Result<void> SrtServer::start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (core_) return {};
  auto core = std::make_unique<Core>(options_, handler_, stats_, *shared_);
  if (auto r = core->open(); !r) {
    core->log.error(r.error().message);
    return r;
  }
  port_.store(core->bound_port);
  core_ = std::move(core);
  return {};
}

int SrtServer::port() const {
  return port_.load();
}

void SrtServer::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  if (!core_) return;
  core_->stopping.store(true);
  core_->wake_loop();
  if (core_->thread.joinable()) core_->thread.join();
  core_.reset();
  port_.store(0);
  std::lock_guard requests(shared_->mutex);
  shared_->disconnects.clear();
}

void SrtServer::disconnect(uint64_t session_id, std::string reason) {
  shared_->request_disconnect(session_id, std::move(reason));
}

const SrtServerStats& SrtServer::stats() const {
  return stats_;
}

}  // namespace sreda::ingest::srt
