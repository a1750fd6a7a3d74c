#include "server/ingest/srt_bridge.h"

#include <chrono>
#include <future>

#include "server/ingest/srt/srt_server.h"

namespace sreda::ingest {

std::optional<srt::SrtStudio> SrtBridge::find_studio(const std::string& stream_key) {
  auto s = keys_.find(stream_key);
  if (!s) return std::nullopt;
  return srt::SrtStudio{s->studio_id, s->name, s->srt_passphrase, s->generation};
}

bool SrtBridge::on_publish(uint64_t session_id, const srt::SrtStudio& studio, const std::string& remote,
                           Disconnect disconnect, std::string& reason) {
  auto decision = std::make_shared<std::promise<std::pair<bool, std::string>>>();
  auto future = decision->get_future();
  {
    std::lock_guard lock(mutex_);
    forwarded_.insert(session_id);
  }
  hub_.request_publish(
      hub::Protocol::srt, session_of(session_id),
      hub::StudioKey{studio.studio_id, studio.studio_name, studio.passphrase, studio.key_generation},
      remote, [decision](bool ok, std::string why) { decision->set_value({ok, std::move(why)}); },
      std::move(disconnect));
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    reason = "the server took too long to decide";
    return false;
  }
  auto [ok, why] = future.get();
  reason = why;
  return ok;
}

bool SrtBridge::on_data(uint64_t session_id, const uint8_t* data, size_t size) {
  return hub_.push(session_of(session_id), data, size);
}

void SrtBridge::on_end(uint64_t session_id, const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (!forwarded_.erase(session_id)) return;
  }
  hub_.publisher_gone(session_of(session_id), reason);
}

void SrtBridge::on_refused(const std::string& remote, const std::string& reason) {
  hub_.count_refused(hub::Protocol::srt, reason);
}

}  // namespace sreda::ingest
