// Glue between the RTMP server and the hub: checks the stream key, forwards publishes, and turns FLV
// tags into container bytes for the session's source pipeline. Ingest thread only (the RTMP io thread).
#pragma once

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/hub/event_hub.h"
#include "server/hub/key_directory.h"
#include "server/ingest/rtmp/publish_handler.h"

namespace sreda::ingest::rtmp {
class RtmpServer;
}

namespace sreda::hub {

class RtmpBridge : public ingest::rtmp::PublishHandler {
 public:
  RtmpBridge(EventHub& hub, const KeyDirectory& keys) : hub_(hub), keys_(keys) {}
  void set_server(ingest::rtmp::RtmpServer* server) { server_ = server; }

  void on_publish(ingest::rtmp::SessionId id, const ingest::rtmp::PublishRequest& request,
                  ingest::rtmp::PublishDecision decide) override;
  bool on_flv_tag(ingest::rtmp::SessionId id, ingest::rtmp::FlvTag tag) override;
  void on_end(ingest::rtmp::SessionId id, const std::string& reason) override;

  // Hub session ids: RTMP connection ids as they are (SRT ones carry the top bit).
  static uint64_t session_of(ingest::rtmp::SessionId id) { return id; }

 private:
  EventHub& hub_;
  const KeyDirectory& keys_;
  ingest::rtmp::RtmpServer* server_ = nullptr;
  static constexpr int kMaxHeldAudioTags = 4;        // ~90 ms of AAC at 44.1 kHz for audio-only streams
  static constexpr size_t kMaxBatchBytes = 256 * 1024;
  struct Pending {
    std::vector<uint8_t> bytes;
    int audio_tags = 0;
  };
  std::unordered_set<ingest::rtmp::SessionId> forwarded_;
  std::unordered_map<ingest::rtmp::SessionId, Pending> pending_;  // FLV bytes not yet handed on
};

}  // namespace sreda::hub
