// Load generator for the audience channel (scripts/bench/audience): N WebSocket viewers on one event, of
// which S send comments at R per second in total; every viewer measures each comment's delivery latency
// (the comment's text carries its send time). One thread, epoll, plain sockets: cheap enough to share the
// machine with the server. Prints one JSON line.
//   audience_client PORT EVENT_ID CONNECTIONS RATE SECONDS WARMUP
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Conn {
  int fd = -1;
  int state = 0;  // 0 connecting/handshake, 1 waiting for welcome, 2 joined, 3 closed
  std::string in, out;
  bool want_write = false;
};

int epfd;
std::vector<Conn> conns;
constexpr int64_t kBucketUs = 100, kBuckets = 200000;  // up to 20 s
std::vector<uint64_t> hist(kBuckets + 1);
uint64_t deliveries = 0, measured = 0, errors = 0, closed = 0;
int64_t window_start = 0, window_end = 0;

std::string frame(const std::string& payload, int opcode = 1) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  }
  f.append(4, '\0');  // mask key 0: the payload is sent as is
  return f + payload;
}

void flush(int i) {
  Conn& c = conns[i];
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    c.state = 3;
    return;
  }
  bool want = !c.out.empty();
  if (want != c.want_write) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_write = want;
  }
}

void on_text(int i, const char* p, size_t n) {
  std::string_view s(p, n);
  if (s.find("\"type\":\"comment\"") != std::string_view::npos) {
    auto t = s.find("\"text\":\"t=");
    if (t == std::string_view::npos) return;
    int64_t sent = std::strtoll(p + t + 10, nullptr, 10);
    int64_t now = now_us();
    ++deliveries;
    if (sent >= window_start && sent < window_end) {
      ++measured;
      hist[std::min<int64_t>((now - sent) / kBucketUs, kBuckets)]++;
    }
  } else if (s.find("\"type\":\"welcome\"") != std::string_view::npos) {
    conns[i].state = 2;
  } else if (s.find("\"type\":\"error\"") != std::string_view::npos) {
    ++errors;
    if (errors <= 5) std::fprintf(stderr, "error frame: %.*s\n", static_cast<int>(n), p);
  }
}

void on_readable(int i, int64_t event_id) {
  Conn& c = conns[i];
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      // A short read emptied the socket: no second recv just to hear EAGAIN (epoll is level-triggered and
      // reports the socket again when more arrives). Halves the client's syscalls per delivery.
      if (static_cast<size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    c.state = 3;
    ++closed;
    ::close(c.fd);
    return;
  }
  if (c.state == 0) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
      c.state = 3;
      ++closed;
      ::close(c.fd);
      return;
    }
    c.in.erase(0, end + 4);
    c.state = 1;
    char join[160];
    std::snprintf(join, sizeof join, R"({"type":"join","event_id":%lld,"viewer_id":"bench-viewer-%08d","nick":"v%d"})",
                  static_cast<long long>(event_id), i, i);
    c.out += frame(join);
    flush(i);
  }
  size_t pos = 0;
  while (c.in.size() - pos >= 2) {
    auto b0 = static_cast<unsigned char>(c.in[pos]), b1 = static_cast<unsigned char>(c.in[pos + 1]);
    size_t len = b1 & 0x7f, head = 2;
    if (len == 126) {
      if (c.in.size() - pos < 4) break;
      len = (static_cast<unsigned char>(c.in[pos + 2]) << 8) | static_cast<unsigned char>(c.in[pos + 3]);
      head = 4;
    } else if (len == 127) {
      if (c.in.size() - pos < 10) break;
      len = 0;
      for (int k = 0; k < 8; ++k) len = (len << 8) | static_cast<unsigned char>(c.in[pos + 2 + k]);
      head = 10;
    }
    if (c.in.size() - pos < head + len) break;
    const char* payload = c.in.data() + pos + head;
    int opcode = b0 & 0x0f;
    if (opcode == 1) on_text(i, payload, len);
    else if (opcode == 9) c.out += frame(std::string(payload, len), 10);
    else if (opcode == 8) {
      c.state = 3;
      ++closed;
      ::close(c.fd);
      return;
    }
    pos += head + len;
  }
  c.in.erase(0, pos);
  if (!c.out.empty()) flush(i);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: audience_client PORT EVENT_ID CONNECTIONS RATE SECONDS WARMUP\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int64_t event_id = std::atoll(argv[2]);
  const int n = std::atoi(argv[3]);
  const double rate = std::atof(argv[4]);
  const int seconds = std::atoi(argv[5]), warmup = std::atoi(argv[6]);
  // The rate limit allows 3 comments per 5 s per viewer: spread the comments over enough senders.
  const int senders = std::min(n, std::max(1, static_cast<int>(std::ceil(rate * 2.5))));
  epfd = epoll_create1(0);
  conns.resize(static_cast<size_t>(n));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string upgrade = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sreda.v1\r\n\r\n";
  const int64_t t0 = now_us();
  int opened = 0;
  std::vector<epoll_event> events(1024);
  auto pump = [&](int timeout_ms) {
    int k = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int e = 0; e < k; ++e) {
      int i = static_cast<int>(events[static_cast<size_t>(e)].data.u32);
      if (conns[static_cast<size_t>(i)].state == 3) continue;
      if (events[static_cast<size_t>(e)].events & EPOLLOUT) flush(i);
      if (events[static_cast<size_t>(e)].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(i, event_id);
    }
  };
  // Ramp up: connect in steps of 200 in flight.
  while (true) {
    int joined = 0, pending = 0;
    for (const auto& c : conns) joined += c.state == 2, pending += (c.fd >= 0 && c.state < 2);
    if (joined + static_cast<int>(closed) >= n) break;
    while (opened < n && pending < 200) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0) {
        std::perror("socket");
        return 1;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      Conn& c = conns[static_cast<size_t>(opened)];
      c.fd = fd;
      c.out = upgrade;
      c.want_write = true;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.u32 = static_cast<uint32_t>(opened);
      epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
      ++opened;
      ++pending;
    }
    pump(10);
    if (now_us() - t0 > 300'000'000) {
      std::fprintf(stderr, "ramp-up did not finish in 300 s\n");
      return 1;
    }
  }
  const int64_t ramp_us = now_us() - t0;
  std::fprintf(stderr, "ready: %d joined in %.1f s\n", n - static_cast<int>(closed), ramp_us / 1e6);
  std::printf("READY\n");
  std::fflush(stdout);
  const int64_t start = now_us();
  window_start = start + int64_t{warmup} * 1'000'000;
  window_end = window_start + int64_t{seconds} * 1'000'000;
  const int64_t stop = window_end + 2'000'000;  // let the last deliveries arrive
  const int64_t interval = static_cast<int64_t>(1e6 / rate);
  int64_t next_send = start;
  int next_sender = 0;
  uint64_t sent = 0, sent_measured = 0;
  uint64_t deliveries_at_start = 0, deliveries_at_end = 0;
  bool in_window = false;
  const char* playback_env = std::getenv("AUDIENCE_PLAYBACK_S");
  const double playback_s = playback_env ? std::atof(playback_env) : 0;
  const int64_t playback_interval = playback_s > 0 ? std::max<int64_t>(1, static_cast<int64_t>(playback_s * 1e6 / n)) : 0;
  int64_t next_playback = start;
  int next_player = 0;
  uint64_t playback_sent = 0;
  while (true) {
    int64_t now = now_us();
    if (!in_window && now >= window_start) {
      in_window = true;
      deliveries_at_start = deliveries;
    }
    if (now >= window_end && deliveries_at_end == 0) deliveries_at_end = deliveries;
    if (now >= stop) break;
    while (now >= next_send && next_send < window_end) {
      Conn& c = conns[static_cast<size_t>(next_sender)];
      if (c.state == 2) {
        char text[96];
        std::snprintf(text, sizeof text, R"({"type":"comment","text":"t=%lld"})", static_cast<long long>(now));
        c.out += frame(text);
        flush(next_sender);
        ++sent;
        if (now >= window_start) ++sent_measured;
      }
      next_sender = (next_sender + 1) % senders;
      next_send += interval;
    }
    while (playback_interval && now >= next_playback && next_playback < window_end) {
      Conn& c = conns[static_cast<size_t>(next_player)];
      if (c.state == 2) {
        c.out += frame(next_player % 5 ? R"({"type":"playback","playing":true,"rendition":"720p","mode":"live"})"
                                       : R"({"type":"playback","playing":true,"rendition":"audio","mode":"live"})");
        flush(next_player);
        ++playback_sent;
      }
      next_player = (next_player + 1) % n;
      next_playback += playback_interval;
    }
    pump(1);
  }
  auto percentile = [&](double q) -> double {
    uint64_t want = static_cast<uint64_t>(std::ceil(q * static_cast<double>(measured))), seen = 0;
    for (int64_t b = 0; b <= kBuckets; ++b) {
      seen += hist[static_cast<size_t>(b)];
      if (seen >= want && want > 0) return (b + 1) * kBucketUs / 1000.0;
    }
    return 0;
  };
  int held = 0;
  for (const auto& c : conns) held += c.state == 2;
  std::printf("{\"connections\":%d,\"held\":%d,\"senders\":%d,\"sent\":%llu,\"sent_measured\":%llu,"
              "\"deliveries_measured\":%llu,\"expected\":%llu,\"deliveries_per_s\":%.0f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,"
              "\"max_ms\":%.1f,\"errors\":%llu,\"closed\":%llu,\"ramp_s\":%.1f,\"playback_sent\":%llu}\n",
              n, held, senders, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(sent_measured),
              static_cast<unsigned long long>(measured),
              static_cast<unsigned long long>(sent_measured * static_cast<uint64_t>(held)),
              static_cast<double>(deliveries_at_end - deliveries_at_start) / seconds, percentile(0.5), percentile(0.99),
              percentile(1.0), static_cast<unsigned long long>(errors), static_cast<unsigned long long>(closed),
              ramp_us / 1e6, static_cast<unsigned long long>(playback_sent));
  return 0;
}
