// SRT listener on libsrt: one UDP port for every studio, told apart by the streamid (see stream_id.h).
//
// How a publish goes: the listen callback (libsrt's thread) parses the streamid, refuses playback modes,
// unknown keys and excess connections with an SRT reject reason (the caller sees it, no connection is
// made), and for a studio with a passphrase sets SRTO_PASSPHRASE on the new socket, so a caller with a
// wrong or missing passphrase fails the handshake. Accepted sockets are driven by one loop thread running
// srt_epoll: on_publish, then on_data with the received TS bytes, then on_end. With no caller for a while
// the server is dormant (libsrt shut down, the port still bound; see quiet_after_ms).
//
// Threads: construct, start(), port(), stats() from any thread; stop() and disconnect() from any thread
// except inside SrtHandler calls for stop() (it joins the loop thread). SrtHandler calls: see srt_handler.h.
// The handler must outlive the server's running (stop() or destroy the server first).
//
// Limits and overflow policy (STYLE.md 8):
//  - max_connections: sessions plus handshakes in progress; more are refused in the listen callback
//    ("max_connections", SRT_REJX_OVERLOAD). Keys are checked in the callback too, so a caller without
//    a key never holds a slot.
//  - max_connections_per_address: the same, counted per caller address ("connections_per_address").
//  - max_pending_handshakes: callers whose key matched but whose handshake has not completed yet
//    ("pending_handshakes"; each expires after 5 s).
//  These three refusals write at most one log line per 10 s each, counting the ones held back.
//  - per session, bytes the consumer did not take (on_data → false) are queued up to max_queued_bytes;
//    over that the oldest are dropped, in whole 188-byte packets, down to half the cap (keep latest),
//    counted in bytes_dropped; tsdemux resynchronises on the next packets.
//    libsrt's own receive buffer is drained on every turn regardless (in live mode late packets are
//    dropped by libsrt anyway, so holding them back would not help).
//  - idle_timeout_ms: a session that delivers no payload for that long is closed ("idle timeout").
//    libsrt's own peer-idle timeout (5 s of no packets at all) also applies ("peer lost").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "server/core/result.h"
#include "server/ingest/srt/srt_handler.h"

namespace sreda::ingest::srt {

struct SrtServerOptions {
  std::string listen = "0.0.0.0";  // an IPv4 or IPv6 address ("::" is dual-stack)
  int port = 8890;                 // 0: pick a free port, see SrtServer::port()
  int latency_ms = 200;            // SRTO_RCVLATENCY / SRTO_LATENCY
  int max_connections = 64;
  int max_connections_per_address = 8;
  int max_pending_handshakes = 16;
  int idle_timeout_ms = 10000;
  size_t max_queued_bytes = 8 << 20;
  // With no session, no handshake and no refusal to report for this long (and at least 3 s after the
  // listener opened), the server goes dormant: the listener closes and libsrt shuts down (its receive
  // thread wakes every 10 ms with nothing to do: the idle server's largest CPU cost), the UDP port stays
  // bound, and the first datagram that arrives opens the listener again (see run() in srt_server.cpp).
  int64_t quiet_after_ms = 2000;
};

// Counters for /metrics. Any thread.
struct SrtServerStats {
  std::atomic<uint64_t> accepted{0};  // on_publish calls
  std::atomic<uint64_t> refused{0};   // on_refused calls
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_dropped{0};
  std::atomic<uint64_t> sessions{0};  // open now
  std::atomic<bool> listening{false};  // false while dormant (libsrt shut down, the port still bound)
  std::atomic<uint64_t> dormant_spells{0};
};

class SrtServer {
 public:
  SrtServer(SrtServerOptions options, SrtHandler& handler);  // no I/O
  ~SrtServer();                                              // stop()
  SrtServer(const SrtServer&) = delete;
  SrtServer& operator=(const SrtServer&) = delete;

  // srt_startup, bind, listen, start the loop thread. Idempotent while running; an error names the address.
  core::Result<void> start();
  // The bound port (useful with options.port == 0); 0 when not running.
  int port() const;
  // Closes the listener and every session (each gets on_end("server stopping")), joins the loop thread.
  // Idempotent; start() may be called again afterwards.
  void stop();
  // Closes one session soon (on the loop thread, within ~50 ms): on_end("disconnected: <reason>").
  // Unknown or already closed ids are ignored.
  void disconnect(uint64_t session_id, std::string reason);
  const SrtServerStats& stats() const;

 private:
  struct Core;
  struct Shared;  // state that outlives one start()/stop(): disconnect requests, session ids
  SrtServerOptions options_;
  SrtHandler& handler_;
  SrtServerStats stats_;
  std::atomic<int> port_{0};
  std::unique_ptr<Shared> shared_;
  std::mutex lifecycle_mutex_;  // start()/stop()
  std::unique_ptr<Core> core_;
};

}  // namespace sreda::ingest::srt
