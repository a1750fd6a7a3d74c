// Simulated LL-HLS viewers for scripts/bench/fanout (one file, plain epoll, no dependencies).
//
// Long because one file with no dependencies is the point: the bench copies it nowhere and builds it with one
// compiler call; the two viewer modes, the epoll loop and the statistics share its connection state.
//
//   fanout_client --port P[,P2…] --base /live/ID/source/ --viewers N --seconds S [--warmup W]
//                 [--mode blocking|plain] [--rate REQ_PER_S] [--pids PID,PID] [--timeout-ms T]
//
// blocking: each viewer works like hls.js in low-latency mode: GET index.m3u8 once, then loops
//   GET index.m3u8?_HLS_msn=M&_HLS_part=I (M/I = the PRELOAD-HINT of the previous playlist, i.e. the next
//   part), then GET that part when the playlist lists it.
// plain: each viewer GETs index.m3u8 (not blocking) and then the next part it lists (cycling through the
//   listed parts), paced so all viewers together make REQ_PER_S requests per second (0: as fast as possible).
//   With --sync, all viewers start each cycle at the same instant (the burst a part completion causes in
//   LL-HLS); "delivery" is then the time from that instant to the viewer having the part.
//
// One HTTP/1.1 keep-alive connection per viewer, 127.0.0.1 only; with several ports (edges) viewer i uses port
// i mod their number. Statistics count only responses that
// complete inside the measured window [warmup, warmup + seconds]; the CPU time (utime+stime) and VmRSS of
// --pids are read from /proc at the window's start and end. Output: key=value lines on stdout.
//
// "Part delivery delay": for each part, its completion time is taken as the first moment any viewer
// received a playlist listing it (a held blocking reload returns the instant the part completes); the
// delay of a viewer's part is (its part bytes fully received) − that moment.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::vector<int> ports;
  std::string base;
  int viewers = 100;
  double seconds = 10, warmup = 3;
  bool blocking = true;
  bool sync = false;  // plain mode: every viewer starts its cycle at the same instants (a burst per period)
  double rate = 0;
  std::vector<int> pids;
  int timeout_ms = 10000;
};

enum class Kind { playlist_plain, playlist_block, part };

struct PartId {
  int64_t msn = -1;
  int64_t part = -1;
  bool valid() const { return msn >= 0; }
  int64_t key() const { return msn * 10000 + part; }
  bool operator<(const PartId& o) const { return msn < o.msn || (msn == o.msn && part < o.part); }
  bool operator==(const PartId& o) const { return msn == o.msn && part == o.part; }
};

bool parse_part_uri(const std::string& uri, PartId& out) {  // "part12.3.m4s"
  unsigned long long m = 0, i = 0;
  int n = 0;
  if (std::sscanf(uri.c_str(), "part%llu.%llu.m4s%n", &m, &i, &n) == 2 && n == static_cast<int>(uri.size())) {
    out.msn = static_cast<int64_t>(m);
    out.part = static_cast<int64_t>(i);
    return true;
  }
  return false;
}

std::string attr_uri(const std::string& line) {
  auto p = line.find("URI=\"");
  if (p == std::string::npos) return {};
  auto q = line.find('"', p + 5);
  return q == std::string::npos ? std::string() : line.substr(p + 5, q - p - 5);
}

struct Playlist {
  std::vector<std::string> part_uris;
  PartId newest, hint;
  bool ended = false;
  bool lists(const PartId& id) const {
    for (auto it = part_uris.rbegin(); it != part_uris.rend(); ++it) {
      PartId p;
      if (parse_part_uri(*it, p) && p == id) return true;
    }
    return false;
  }
};

Playlist parse_playlist(const std::string& body) {
  Playlist pl;
  size_t i = 0;
  while (i < body.size()) {
    size_t j = body.find('\n', i);
    if (j == std::string::npos) j = body.size();
    std::string line = body.substr(i, j - i);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("#EXT-X-PART:", 0) == 0) {
      auto uri = attr_uri(line);
      if (!uri.empty()) {
        pl.part_uris.push_back(uri);
        PartId p;
        if (parse_part_uri(uri, p) && pl.newest < p) pl.newest = p;
      }
    } else if (line.rfind("#EXT-X-PRELOAD-HINT:", 0) == 0 && line.find("TYPE=PART") != std::string::npos) {
      PartId p;
      if (parse_part_uri(attr_uri(line), p)) pl.hint = p;
    } else if (line.rfind("#EXT-X-ENDLIST", 0) == 0) {
      pl.ended = true;
    }
    i = j + 1;
  }
  return pl;
}

struct Viewer {
  int id = 0;
  int fd = -1;
  bool connected = false;
  bool busy = false;  // a request is in flight
  std::string out;
  size_t out_off = 0;
  std::string in;
  Kind kind = Kind::playlist_plain;
  int64_t t_req = 0;
  PartId target, next_target;
  int64_t playlist_done_us = 0;
  uint64_t cycle = 0;
  int64_t next_slot = 0;
  uint32_t events = 0;
};

struct Response {
  int status = 0;
  std::string body;
  bool close = false;
};

// Returns 1 when a whole response is in `in` (moved into r, consumed), 0 when more bytes are needed,
// -1 on a malformed response.
int parse_response(std::string& in, Response& r, bool eof) {
  auto he = in.find("\r\n\r\n");
  if (he == std::string::npos) return in.size() > 65536 ? -1 : 0;
  int status = 0;
  if (std::sscanf(in.c_str(), "HTTP/1.%*d %d", &status) != 1) return -1;
  long long clen = -1;
  bool chunked = false, close = false;
  size_t i = in.find("\r\n") + 2;
  while (i < he) {
    size_t j = in.find("\r\n", i);
    std::string line = in.substr(i, j - i);
    std::string lower = line;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.rfind("content-length:", 0) == 0) clen = std::atoll(lower.c_str() + 15);
    if (lower.rfind("transfer-encoding:", 0) == 0 && lower.find("chunked") != std::string::npos) chunked = true;
    if (lower.rfind("connection:", 0) == 0 && lower.find("close") != std::string::npos) close = true;
    i = j + 2;
  }
  size_t body = he + 4;
  if (chunked) {
    std::string out;
    size_t p = body;
    while (true) {
      size_t e = in.find("\r\n", p);
      if (e == std::string::npos) return 0;
      unsigned long long n = std::strtoull(in.c_str() + p, nullptr, 16);
      size_t data = e + 2;
      if (n == 0) {
        size_t t = in.find("\r\n", data);  // no trailers expected: "0\r\n\r\n"
        if (t == std::string::npos) return 0;
        r.status = status;
        r.body = std::move(out);
        r.close = close;
        in.erase(0, t + 2);
        return 1;
      }
      if (in.size() < data + n + 2) return 0;
      out.append(in, data, n);
      p = data + n + 2;
    }
  }
  if (clen < 0) {
    if (status == 204 || status == 304) clen = 0;
    else if (!eof) return 0;
    else clen = static_cast<long long>(in.size() - body);
    close = true;
  }
  if (in.size() < body + static_cast<size_t>(clen)) return 0;
  r.status = status;
  r.body = in.substr(body, clen);
  r.close = close;
  in.erase(0, body + clen);
  return 1;
}

struct Stats {
  uint64_t ok = 0, parts = 0, playlists = 0, part_bytes = 0, timeouts = 0, conn_errors = 0, reconnects = 0;
  uint64_t not_listed = 0;
  std::map<int, uint64_t> bad_status;
  std::vector<int64_t> lat_part, lat_playlist, delivery, own_delay;
};

double pct(std::vector<int64_t>& v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)] / 1000.0;  // ms
}

long long proc_ticks(const std::vector<int>& pids) {
  long long total = 0;
  for (int pid : pids) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto p = s.rfind(')');
    if (p == std::string::npos) continue;
    std::istringstream is(s.substr(p + 2));
    std::string tok;
    long long ut = 0, st = 0;
    for (int k = 1; k <= 13 && is >> tok; ++k) {  // state=1 … utime=12 stime=13
      if (k == 12) ut = std::atoll(tok.c_str());
      if (k == 13) st = std::atoll(tok.c_str());
    }
    total += ut + st;
  }
  return total;
}

long long proc_rss_kib(const std::vector<int>& pids) {
  long long total = 0;
  for (int pid : pids) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("VmRSS:", 0) == 0) total += std::atoll(line.c_str() + 6);
  }
  return total;
}

class Client {
 public:
  explicit Client(Options o) : o_(std::move(o)), rng_(12345) {}

  int run() {
    ep_ = epoll_create1(0);
    if (ep_ < 0) return perror("epoll_create1"), 1;
    viewers_.resize(o_.viewers);
    const int64_t t0 = now_us();
    win_start_ = t0 + static_cast<int64_t>(o_.warmup * 1e6);
    win_end_ = win_start_ + static_cast<int64_t>(o_.seconds * 1e6);
    period_us_ = o_.rate > 0 ? static_cast<int64_t>(2.0 * o_.viewers / o_.rate * 1e6) : 0;
    std::uniform_int_distribution<int64_t> phase(0, std::max<int64_t>(period_us_, 1) - 1);
    for (int i = 0; i < o_.viewers; ++i) {
      auto& v = viewers_[i];
      v.id = i;
      // Connections start spread over the first second (the warm-up absorbs it).
      v.next_slot = o_.sync ? t0 + 1000000
                            : t0 + static_cast<int64_t>(1e6 * i / std::max(1, o_.viewers)) + (o_.blocking ? 0 : phase(rng_));
      timers_.push({v.next_slot, i});
    }
    bool window_open = false;
    long long ticks0 = 0;
    int64_t last_sweep = t0;
    std::vector<epoll_event> evs(1024);
    while (true) {
      int64_t now = now_us();
      if (!window_open && now >= win_start_) {
        window_open = true;
        ticks0 = proc_ticks(o_.pids);
        rss0_ = proc_rss_kib(o_.pids);
      }
      if (now >= win_end_) break;
      while (!timers_.empty() && timers_.top().first <= now) {
        int id = timers_.top().second;
        timers_.pop();
        start_cycle(viewers_[id], now);
      }
      if (now - last_sweep > 200000) {  // request time-outs
        last_sweep = now;
        for (auto& v : viewers_)
          if (v.busy && now - v.t_req > o_.timeout_ms * 1000LL) {
            if (in_window(now)) ++st_.timeouts;
            fail(v, now, false);
          }
      }
      int wait_ms = 50;
      if (!timers_.empty()) wait_ms = static_cast<int>(std::clamp<int64_t>((timers_.top().first - now) / 1000, 0, 50));
      int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), wait_ms);
      if (n < 0 && errno != EINTR) return perror("epoll_wait"), 1;
      for (int k = 0; k < n; ++k) on_event(viewers_[evs[k].data.u32], evs[k].events);
    }
    long long ticks1 = proc_ticks(o_.pids);
    long long rss1 = proc_rss_kib(o_.pids);
    report(ticks1 - ticks0, rss1);
    for (auto& v : viewers_)
      if (v.fd >= 0) close(v.fd);
    return 0;
  }

 private:
  bool in_window(int64_t t) const { return t >= win_start_ && t < win_end_; }
  int port_of(const Viewer& v) const { return o_.ports[static_cast<size_t>(v.id) % o_.ports.size()]; }

  void set_events(Viewer& v, uint32_t ev) {
    if (v.events == ev) return;
    epoll_event e{};
    e.events = ev;
    e.data.u32 = static_cast<uint32_t>(v.id);
    epoll_ctl(ep_, EPOLL_CTL_MOD, v.fd, &e);
    v.events = ev;
  }

  bool open_conn(Viewer& v) {
    v.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (v.fd < 0) return false;
    int one = 1;
    setsockopt(v.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_of(v)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(v.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS) {
      close(v.fd);
      v.fd = -1;
      return false;
    }
    epoll_event e{};
    e.events = EPOLLOUT;
    e.data.u32 = static_cast<uint32_t>(v.id);
    epoll_ctl(ep_, EPOLL_CTL_ADD, v.fd, &e);
    v.events = EPOLLOUT;
    v.connected = false;
    v.in.clear();
    return true;
  }

  void send_request(Viewer& v, Kind kind, const std::string& path, int64_t now) {
    v.kind = kind;
    v.out = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_of(v)) +
            "\r\nUser-Agent: sreda-fanout\r\nAccept: */*\r\n\r\n";
    v.out_off = 0;
    v.busy = true;
    v.t_req = now;
    if (v.fd < 0 && !open_conn(v)) {
      fail(v, now, true);
      return;
    }
    if (v.connected) flush(v, now);
  }

  void start_cycle(Viewer& v, int64_t now) {
    if (v.busy) return;
    if (o_.blocking) {
      if (v.target.valid())
        send_request(v, Kind::playlist_block,
                     o_.base + "index.m3u8?_HLS_msn=" + std::to_string(v.target.msn) + "&_HLS_part=" +
                         std::to_string(v.target.part),
                     now);
      else
        send_request(v, Kind::playlist_plain, o_.base + "index.m3u8", now);
    } else {
      send_request(v, Kind::playlist_plain, o_.base + "index.m3u8", now);
    }
  }

  void schedule(Viewer& v, int64_t at) { timers_.push({at, v.id}); }

  // Connection trouble: close, forget the target, retry a little later.
  void fail(Viewer& v, int64_t now, bool conn_error) {
    if (conn_error && in_window(now)) ++st_.conn_errors;
    if (v.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, v.fd, nullptr);
      close(v.fd);
      v.fd = -1;
    }
    v.busy = false;
    v.connected = false;
    v.target = {};
    schedule(v, now + 200000);
  }

  void flush(Viewer& v, int64_t now) {
    while (v.out_off < v.out.size()) {
      ssize_t n = send(v.fd, v.out.data() + v.out_off, v.out.size() - v.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        v.out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_events(v, EPOLLOUT);
        return;
      }
      return fail(v, now, true);
    }
    set_events(v, EPOLLIN);
  }

  void on_event(Viewer& v, uint32_t ev) {
    int64_t now = now_us();
    if (v.fd < 0) return;
    if (!v.connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(v.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(v, now, true);
      v.connected = true;
      if (v.busy) flush(v, now);
      else set_events(v, EPOLLIN);
      return;
    }
    if (ev & EPOLLOUT) {
      flush(v, now);
      return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      char buf[65536];
      bool eof = false;
      while (true) {
        ssize_t n = recv(v.fd, buf, sizeof buf, 0);
        if (n > 0) {
          v.in.append(buf, static_cast<size_t>(n));
          if (n < static_cast<ssize_t>(sizeof buf)) break;
          continue;
        }
        if (n == 0) eof = true;
        else if (errno != EAGAIN && errno != EWOULDBLOCK) eof = true;
        break;
      }
      if (!v.busy) {  // the server closed an idle keep-alive connection
        if (eof) {
          epoll_ctl(ep_, EPOLL_CTL_DEL, v.fd, nullptr);
          close(v.fd);
          v.fd = -1;
          v.connected = false;
          if (in_window(now)) ++st_.reconnects;
        }
        return;
      }
      Response r;
      int got = parse_response(v.in, r, eof);
      if (got < 0 || (got == 0 && eof)) return fail(v, now, true);
      if (got == 0) return;
      if (r.close || eof) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, v.fd, nullptr);
        close(v.fd);
        v.fd = -1;
        v.connected = false;
        if (in_window(now)) ++st_.reconnects;
      }
      v.busy = false;
      on_response(v, r, now);
    }
  }

  void on_response(Viewer& v, Response& r, int64_t now) {
    const bool win = in_window(now);
    const int64_t lat = now - v.t_req;
    if (r.status < 200 || r.status >= 300) {
      if (win) ++st_.bad_status[r.status];
      v.target = {};
      schedule(v, now + (r.status == 503 ? 50000 : 300000));
      return;
    }
    if (win) ++st_.ok;
    if (v.kind == Kind::part) {
      if (win) {
        ++st_.parts;
        st_.part_bytes += r.body.size();
        st_.lat_part.push_back(lat);
        if (o_.blocking) {
          auto it = first_listed_.find(v.target.key());
          if (it != first_listed_.end()) st_.delivery.push_back(now - it->second);
          st_.own_delay.push_back(now - v.playlist_done_us);
        }
      }
      if (o_.blocking) {
        v.target = v.next_target;
        start_cycle(v, now);
      } else if (o_.sync && period_us_ > 0) {
        // Burst mode: the delay is measured from the common slot start; the next slot stays aligned.
        if (win) st_.delivery.push_back(now - v.next_slot);
        int64_t behind = (now - v.next_slot) / period_us_ + 1;
        v.next_slot += behind * period_us_;
        schedule(v, v.next_slot);
      } else {
        int64_t next = v.next_slot + period_us_;
        v.next_slot = std::max(next, now);
        if (period_us_ > 0) schedule(v, v.next_slot);
        else start_cycle(v, now);
      }
      return;
    }
    // A playlist.
    if (win) {
      ++st_.playlists;
      st_.lat_playlist.push_back(lat);
    }
    Playlist pl = parse_playlist(r.body);
    if (pl.newest.valid()) {
      auto [it, inserted] = first_listed_.emplace(pl.newest.key(), now);
      if (inserted && win) ++parts_completed_;
      if (inserted) last_part_seen_ = now;
    }
    if (o_.blocking) {
      if (pl.ended) {
        v.target = {};
        schedule(v, now + 1000000);
        return;
      }
      if (v.kind == Kind::playlist_plain) {
        if (!pl.hint.valid()) {
          schedule(v, now + 200000);
          return;
        }
        v.target = pl.hint;
        start_cycle(v, now);
        return;
      }
      if (!pl.lists(v.target)) {  // answered before the part exists: ask again
        if (win) ++st_.not_listed;
        if (pl.newest.valid() && v.target < pl.newest) v.target = {};  // fell behind: resync
        schedule(v, now + 1000);
        return;
      }
      v.next_target = pl.hint.valid() ? pl.hint : PartId{};
      v.playlist_done_us = now;
      send_request(v, Kind::part, o_.base + "part" + std::to_string(v.target.msn) + "." +
                                      std::to_string(v.target.part) + ".m4s",
                   now);
      return;
    }
    if (pl.part_uris.empty()) {
      schedule(v, now + 200000);
      return;
    }
    const std::string& uri = pl.part_uris[(v.cycle + static_cast<uint64_t>(v.id)) % pl.part_uris.size()];
    ++v.cycle;
    send_request(v, Kind::part, o_.base + uri, now);
  }

  void report(long long ticks, long long rss1) {
    const double secs = o_.seconds;
    const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double cpu = ticks / hz;
    uint64_t errors = 0;
    for (auto& [s, n] : st_.bad_status) errors += n;
    std::printf("sync=%d\nmode=%s\nviewers=%d\nseconds=%.1f\n", o_.sync ? 1 : 0, o_.blocking ? "blocking" : "plain",
                o_.viewers, secs);
    std::printf("requests_ok=%llu\nrequests_per_s=%.1f\n", static_cast<unsigned long long>(st_.ok), st_.ok / secs);
    std::printf("parts=%llu\nparts_per_s=%.1f\nplaylists=%llu\n", static_cast<unsigned long long>(st_.parts),
                st_.parts / secs, static_cast<unsigned long long>(st_.playlists));
    std::printf("part_mbit_per_s=%.1f\n", st_.part_bytes * 8.0 / secs / 1e6);
    std::printf("distinct_parts_completed=%llu\n", static_cast<unsigned long long>(parts_completed_));
    std::printf("server_cpu_s=%.2f\nserver_rss_mib=%.1f\nserver_rss_start_mib=%.1f\n", cpu, rss1 / 1024.0,
                rss0_ / 1024.0);
    std::printf("requests_per_cpu_s=%.0f\n", cpu > 0 ? st_.ok / cpu : 0.0);
    std::printf("part_latency_p50_ms=%.1f\npart_latency_p99_ms=%.1f\n", pct(st_.lat_part, 50), pct(st_.lat_part, 99));
    std::printf("playlist_latency_p50_ms=%.1f\nplaylist_latency_p99_ms=%.1f\n", pct(st_.lat_playlist, 50),
                pct(st_.lat_playlist, 99));
    std::printf("delivery_p50_ms=%.1f\ndelivery_p99_ms=%.1f\ndelivery_max_ms=%.1f\n", pct(st_.delivery, 50),
                pct(st_.delivery, 99), pct(st_.delivery, 100));
    std::printf("own_playlist_to_part_p99_ms=%.1f\n", pct(st_.own_delay, 99));
    std::printf("errors_status=%llu\n", static_cast<unsigned long long>(errors));
    std::string by;
    for (auto& [s, n] : st_.bad_status) by += (by.empty() ? "" : ",") + std::to_string(s) + ":" + std::to_string(n);
    std::printf("errors_by_status=%s\n", by.empty() ? "-" : by.c_str());
    std::printf("timeouts=%llu\nconn_errors=%llu\nreconnects=%llu\nnot_listed=%llu\n",
                static_cast<unsigned long long>(st_.timeouts), static_cast<unsigned long long>(st_.conn_errors),
                static_cast<unsigned long long>(st_.reconnects), static_cast<unsigned long long>(st_.not_listed));
    std::printf("idle_viewers_at_end=%d\n", idle_viewers());
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("client_cpu_s_total=%.2f\n", ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
                                                 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    std::fflush(stdout);
  }

  int idle_viewers() const {  // viewers with nothing in flight and nothing scheduled soon (should be 0)
    int n = 0;
    for (auto& v : viewers_) n += (v.fd < 0 && !v.busy) ? 1 : 0;
    return n;
  }

  Options o_;
  std::mt19937_64 rng_;
  int ep_ = -1;
  std::vector<Viewer> viewers_;
  std::priority_queue<std::pair<int64_t, int>, std::vector<std::pair<int64_t, int>>, std::greater<>> timers_;
  std::unordered_map<int64_t, int64_t> first_listed_;
  uint64_t parts_completed_ = 0;
  int64_t last_part_seen_ = 0;
  int64_t win_start_ = 0, win_end_ = 0, period_us_ = 0;
  long long rss0_ = 0;
  Stats st_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") {
      std::stringstream ss(next());
      std::string p;
      while (std::getline(ss, p, ','))
        if (std::atoi(p.c_str()) > 0) o.ports.push_back(std::atoi(p.c_str()));
    }
    else if (a == "--base") o.base = next();
    else if (a == "--viewers") o.viewers = std::atoi(next().c_str());
    else if (a == "--seconds") o.seconds = std::atof(next().c_str());
    else if (a == "--warmup") o.warmup = std::atof(next().c_str());
    else if (a == "--mode") o.blocking = next() != "plain";
    else if (a == "--rate") o.rate = std::atof(next().c_str());
    else if (a == "--sync") o.sync = true;
    else if (a == "--timeout-ms") o.timeout_ms = std::atoi(next().c_str());
    else if (a == "--pids") {
      std::stringstream ss(next());
      std::string p;
      while (std::getline(ss, p, ','))
        if (!p.empty()) o.pids.push_back(std::atoi(p.c_str()));
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (o.ports.empty() || o.base.empty() || o.viewers < 1 || o.viewers > 20000 || o.seconds <= 0 || o.seconds > 3600) {
    std::fprintf(stderr, "usage: fanout_client --port P --base /live/ID/source/ --viewers N --seconds S ...\n");
    return 2;
  }
  return Client(o).run();
}
