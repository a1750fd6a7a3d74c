#include "server/ingest/rtmp_bridge.h"

#include "server/core/log.h"

namespace sreda::ingest {

namespace {
constexpr uint64_t kFlvTagOverhead = 15;  // tag header and PreviousTagSize: bytes_in counts FLV bytes
}  // namespace

void RtmpBridge::on_publish(rtmp::SessionId id, const rtmp::PublishRequest& request, rtmp::PublishDecision decide,
                            rtmp::Disconnect disconnect) {
  auto studio = keys_.find(request.stream_key);
  if (!studio) {
    hub_.count_refused(hub::Protocol::rtmp, "unknown_key");
    core::Logger("rtmp " + request.remote_address + " key=" + hub::redact_key(request.stream_key))
        .info("publish refused: unknown stream key");
    decide(false, "unknown stream key");
    return;
  }
  forwarded_[id];
  hub_.request_publish(
      hub::Protocol::rtmp, session_of(id), *studio, request.remote_address,
      [decide](bool ok, std::string reason) { decide(ok, std::move(reason)); }, std::move(disconnect));
}

bool RtmpBridge::on_flv_tag(rtmp::SessionId id, rtmp::FlvTag tag) {
  auto it = forwarded_.find(id);
  if (it == forwarded_.end()) return false;
  Feed& f = it->second;
  if (!f.input) {  // the first tag since the hub accepted the publish (no media comes before that)
    f.input = hub_.input(session_of(id));
    if (!f.input) return false;
    f.flv = std::make_unique<rtmp::FlvMediaSource>(*f.input, max_held_media_bytes_);
  }
  if (f.input->closed()) return false;
  f.input->count_bytes(tag.data.size() + kFlvTagOverhead);
  const uint64_t dropped_before = f.flv->dropped_units();
  const bool ok = f.flv->feed(tag);
  f.input->count_dropped(f.flv->dropped_units() - dropped_before);
  if (!ok && f.flv->held_bytes_exceeded() && !f.counted_limit) {
    f.counted_limit = true;
    hub_.count_refused(hub::Protocol::rtmp, "held_media_bytes");
  }
  return ok;
}

void RtmpBridge::on_end(rtmp::SessionId id, const std::string& reason) {
  if (forwarded_.erase(id)) hub_.publisher_gone(session_of(id), reason);
}

void RtmpBridge::on_limit(const std::string& limit) { hub_.count_refused(hub::Protocol::rtmp, limit); }

}  // namespace sreda::ingest
