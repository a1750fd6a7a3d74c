// The seam between the SRT listener and whoever takes the published MPEG-TS (the event hub). Owned by the
// consumer side; SrtServer only calls it.
//
// Threads: find_studio() is called on libsrt's internal receive thread (inside the listen callback, while
// the handshake waits), so it must be fast and thread-safe (an in-memory map under a lock). Every other
// call comes on SrtServer's own loop thread, one at a time, in order. Handler methods must not call
// SrtServer::stop() (it joins that thread); disconnect() is fine from anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace sreda::ingest::srt {

struct SrtStudio {
  int64_t studio_id = 0;
  std::string studio_name;
  std::string passphrase;  // empty: no encryption; else 10..79 characters (libsrt's limits)
  uint64_t key_generation = 0;  // the handler's own tag for the key that matched; passed back as is
};

class SrtHandler {
 public:
  virtual ~SrtHandler() = default;

  // Synchronous key lookup from the listen callback (libsrt's thread). nullopt: refused as "unknown_key".
  virtual std::optional<SrtStudio> find_studio(const std::string& stream_key) = 0;

  // The key matched, the handshake (and passphrase) succeeded and the connection is accepted. Return false
  // to refuse (studio already live, no event scheduled, …: `reason` is logged): the socket is closed at once.
  // on_end() follows exactly once for every on_publish(), accepted or not.
  // `disconnect` closes this session later, from any thread (as SrtServer::disconnect does).
  using Disconnect = std::function<void(std::string reason)>;
  virtual bool on_publish(uint64_t session_id, const SrtStudio& studio, const std::string& remote,
                          Disconnect disconnect, std::string& reason) = 0;

  // MPEG-TS bytes of an accepted publish, in order (chunks of any size, normally whole 188-byte packets).
  // Return false when the consumer's bounded queue is full and it did not take the bytes: SrtServer keeps
  // them and offers them again (merged with newer bytes) on its next turn, holding at most
  // SrtServerOptions::max_queued_bytes per session; beyond that the oldest queued bytes are dropped
  // (keep latest, see srt_server.h) and counted in SrtServerStats::bytes_dropped.
  virtual bool on_data(uint64_t session_id, const uint8_t* data, size_t size) = 0;

  // Exactly once after each on_publish(): "peer closed", "idle timeout", "disconnected: <why>",
  // "server stopping", "refused: <reason>", …
  virtual void on_end(uint64_t session_id, const std::string& reason) = 0;

  // A connection refused by the server itself, for metrics: "bad_streamid", "bad_mode", "unknown_key",
  // "max_connections", "bad_passphrase_config", "handshake_failed" (e.g. wrong or missing passphrase: the
  // key matched but the SRT handshake did not complete). No on_publish()/on_end() for these.
  virtual void on_refused(const std::string& remote, const std::string& reason) {}
};

}  // namespace sreda::ingest::srt
