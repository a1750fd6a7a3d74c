// Glue between the RTMP server and the hub: checks the stream key, forwards publishes, and parses each
// accepted publisher's FLV tags into access units (FlvMediaSource) that it feeds to the hub's
// PublisherInput for the session. Ingest thread only (the RTMP io thread).
#pragma once

#include <memory>
#include <unordered_map>

#include "server/hub/event_hub.h"
#include "server/hub/key_directory.h"
#include "server/ingest/rtmp/flv_media.h"
#include "server/ingest/rtmp/publish_handler.h"

namespace sreda::ingest {

class RtmpBridge : public rtmp::PublishHandler {
 public:
  // max_held_media_bytes: ingest.max_held_media_bytes (media held before both tracks are configured).
  RtmpBridge(hub::EventHub& hub, const hub::KeyDirectory& keys, size_t max_held_media_bytes)
      : hub_(hub), keys_(keys), max_held_media_bytes_(max_held_media_bytes) {}

  void on_publish(rtmp::SessionId id, const rtmp::PublishRequest& request, rtmp::PublishDecision decide,
                  rtmp::Disconnect disconnect) override;
  bool on_flv_tag(rtmp::SessionId id, rtmp::FlvTag tag) override;
  void on_end(rtmp::SessionId id, const std::string& reason) override;
  void on_limit(const std::string& limit) override;

  // Hub session ids: RTMP connection ids as they are (SRT ones carry the top bit).
  static uint64_t session_of(rtmp::SessionId id) { return id; }

 private:
  // A publish forwarded to the hub; once accepted, its parser and the hub's input.
  struct Feed {
    std::shared_ptr<hub::PublisherInput> input;
    std::unique_ptr<rtmp::FlvMediaSource> flv;
    bool counted_limit = false;
  };

  hub::EventHub& hub_;
  const hub::KeyDirectory& keys_;
  const size_t max_held_media_bytes_;
  std::unordered_map<rtmp::SessionId, Feed> forwarded_;
};

}  // namespace sreda::ingest
