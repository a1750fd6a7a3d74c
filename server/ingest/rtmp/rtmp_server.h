// RTMP listener on Boost.Asio: accepts TCP connections and drives one RtmpSession per connection (a strand
// each) on the caller's io_context (the ingest thread; one thread runs it).
//
// Threads: construct, start(), port() from any thread (start() before or after io.run() begins); stop(),
// disconnect() and connection_count() from any thread. The PublishHandler is called on the io thread and
// must outlive the io_context's run (stop(), then let run() return, then destroy the handler).
//
// Limits and overflow policy (STYLE.md 8):
//  - reads are 64 KiB at a time and the next read starts only once the last one was handed on, so TCP
//    flow control holds back a publisher faster than its consumer; the consumer's own queue is bounded
//    and signals "full" (PublishHandler::on_flv_tag → false): we then drop tags until the next keyframe.
//  - outgoing bytes (control replies only) are bounded by max_outgoing_bytes: over it, the connection is
//    dropped ("outgoing queue overflow": a peer that does not read).
//  - handshake_timeout (handshake done), publish_timeout (from accept to Publish.Start, includes the
//    handler's decision), idle_timeout (no bytes read).
//  - max_connections_per_address: more from one address are closed at accept ("connections_per_address"),
//    except from `uncapped_addresses` (server.trusted_proxies: the front that ends RTMPS, where every
//    studio comes from the front's address; the front caps each studio's address itself).
//  - max_connections in total: when full, the oldest connection that has not started publishing is closed
//    to make room ("evicted"), so connections without a key can never keep a studio out; when every
//    connection publishes, the new one is closed ("connections").
//  - before a publish is accepted, a connection holds at most ~100 KiB (SessionOptions, rtmp_session.h).
//  Each limit that triggers calls PublishHandler::on_limit and writes one log line (refusals at accept:
//  at most one line per 10 s and limit, counting the ones held back).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "server/core/client_address.h"
#include "server/core/log.h"
#include "server/core/result.h"
#include "server/ingest/rtmp/publish_handler.h"
#include "server/ingest/rtmp/rtmp_session.h"

namespace sreda::ingest::rtmp {

struct RtmpServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 1935;  // 0: pick a free port, see RtmpServer::port()
  size_t max_connections = 64;
  size_t max_connections_per_address = 8;
  core::AddressSet uncapped_addresses;  // no per-address cap from these (server.trusted_proxies)
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds publish_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};
  size_t max_outgoing_bytes = 1024 * 1024;
  SessionOptions session;
};

// Counters for /metrics. Any thread.
struct RtmpServerStats {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused_max_connections{0};
  std::atomic<uint64_t> refused_per_address{0};
  std::atomic<uint64_t> evicted{0};
  // Not a counter: the "closed" lines of connections that never asked to publish (a scan, a flood of silent
  // connections being evicted) are written at most once per 10 s at info, counting the others (debug).
  core::LogThrottle keyless_closes{std::chrono::seconds(10)};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> tags_out{0};
  std::atomic<uint64_t> tags_dropped{0};
};

class RtmpServer {
 public:
  RtmpServer(boost::asio::io_context& io, RtmpServerOptions options, PublishHandler& handler);
  ~RtmpServer();  // stop()
  RtmpServer(const RtmpServer&) = delete;
  RtmpServer& operator=(const RtmpServer&) = delete;

  // Binds and listens. Idempotent while running; an error names the address.
  core::Result<void> start();
  // The bound port (useful with options.port == 0); 0 before start().
  uint16_t port() const;
  // Closes the listener and every connection ("server stopping"). Idempotent; returns at once, the
  // closes run on the io thread.
  void stop();
  // Closes one connection, e.g. when a curator ends the event.
  void disconnect(SessionId id, std::string reason);
  size_t connection_count() const;
  const RtmpServerStats& stats() const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace sreda::ingest::rtmp
