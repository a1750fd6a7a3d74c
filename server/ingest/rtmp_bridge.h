// Glue between the RTMP server and the hub: checks the stream key, forwards publishes, and hands FLV tags
// to the hub, which turns them into access units on this thread. Ingest thread only (the RTMP io thread).
#pragma once

#include <unordered_set>

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
  void on_limit(const std::string& limit) override;

  // Hub session ids: RTMP connection ids as they are (SRT ones carry the top bit).
  static uint64_t session_of(ingest::rtmp::SessionId id) { return id; }

 private:
  EventHub& hub_;
  const KeyDirectory& keys_;
  ingest::rtmp::RtmpServer* server_ = nullptr;
  std::unordered_set<ingest::rtmp::SessionId> forwarded_;
};

}  // namespace sreda::hub
