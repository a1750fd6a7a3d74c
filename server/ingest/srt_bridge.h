// Glue between the SRT listener and the hub: key lookup for the listen callback, publish decisions,
// MPEG-TS bytes into the session's source pipeline. Called on the SRT server's threads (see srt_handler.h).
#pragma once

#include <mutex>
#include <unordered_set>

#include "server/hub/event_hub.h"
#include "server/hub/key_directory.h"
#include "server/ingest/srt/srt_handler.h"

namespace sreda::ingest {

class SrtBridge : public srt::SrtHandler {
 public:
  SrtBridge(hub::EventHub& hub, const hub::KeyDirectory& keys) : hub_(hub), keys_(keys) {}

  std::optional<srt::SrtStudio> find_studio(const std::string& stream_key) override;
  // Waits (at most 5 s) for the hub's decision: the event lookup is one short store job. This holds the
  // SRT loop thread for that long, which only delays other SRT sessions' reads by as much.
  bool on_publish(uint64_t session_id, const srt::SrtStudio& studio, const std::string& remote,
                  Disconnect disconnect, std::string& reason) override;
  bool on_data(uint64_t session_id, const uint8_t* data, size_t size) override;
  void on_end(uint64_t session_id, const std::string& reason) override;
  void on_refused(const std::string& remote, const std::string& reason) override;

  // Hub session ids of SRT connections carry the top bit (RTMP ones do not).
  static uint64_t session_of(uint64_t id) { return id | (uint64_t{1} << 63); }

 private:
  hub::EventHub& hub_;
  const hub::KeyDirectory& keys_;
  std::mutex mutex_;
  std::unordered_set<uint64_t> forwarded_;
};

}  // namespace sreda::ingest
