#include "server/hub/rtmp_bridge.h"

#include "server/core/log.h"
#include "server/ingest/rtmp/rtmp_server.h"

namespace sreda::hub {

void RtmpBridge::on_publish(ingest::rtmp::SessionId id, const ingest::rtmp::PublishRequest& request,
                            ingest::rtmp::PublishDecision decide) {
  auto studio = keys_.find(request.stream_key);
  if (!studio) {
    hub_.count_refused(Protocol::rtmp, "unknown_key");
    core::Logger("rtmp " + request.remote_address + " key=" + redact_key(request.stream_key))
        .info("publish refused: unknown stream key");
    decide(false, "unknown stream key");
    return;
  }
  forwarded_.insert(id);
  auto* server = server_;
  hub_.request_publish(
      Protocol::rtmp, session_of(id), *studio, request.remote_address,
      [decide](bool ok, std::string reason) { decide(ok, std::move(reason)); },
      [server, id](std::string reason) {
        if (server) server->disconnect(id, std::move(reason));
      });
}

bool RtmpBridge::on_flv_tag(ingest::rtmp::SessionId id, ingest::rtmp::FlvTag tag) {
  return hub_.push_tag(session_of(id), tag);
}

void RtmpBridge::on_end(ingest::rtmp::SessionId id, const std::string& reason) {
  if (forwarded_.erase(id)) hub_.publisher_gone(session_of(id), reason);
}

void RtmpBridge::on_limit(const std::string& limit) {
  hub_.count_refused(Protocol::rtmp, limit);
}

}  // namespace sreda::hub
