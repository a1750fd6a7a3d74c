#include "server/ingest/whip/whip_server.h"

#include <boost/asio/post.hpp>
#include <future>

#include "server/core/log.h"
#include "server/core/random.h"
#include "server/ingest/whip/whip_offer.h"
#include "server/ingest/whip/whip_session.h"

namespace sreda::ingest::whip {

namespace {
bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

WhipResult refusal_for(const std::string& reason) {
  // The hub's words (server/hub/event_hub.cpp), the same RTMP and SRT publishers hear.
  if (starts_with(reason, "this stream key is no longer valid")) return {401, "key_rotated", reason, 0, "", ""};
  if (starts_with(reason, "this studio is already publishing")) return {409, "already_live", reason, 0, "", ""};
  if (starts_with(reason, "no event is scheduled")) return {403, "no_event", reason, 0, "", ""};
  if (starts_with(reason, "the server is stopping")) return {503, "stopping", reason, 10, "", ""};
  if (starts_with(reason, "the server is busy")) return {503, "busy", reason, 5, "", ""};
  return {500, "pipeline", reason.empty() ? "the server could not start processing the stream" : reason, 0, "", ""};
}

WhipServer::WhipServer(boost::asio::any_io_executor rtc, hub::EventHub& hub, const hub::KeyDirectory& keys,
                       const config::Config& config, core::Metrics& metrics)
    : rtc_(std::move(rtc)), hub_(hub), keys_(keys), config_(config), metrics_(metrics) {
  metrics_.describe("sreda_whip_keyframe_requests_total", "counter",
                    "keyframe requests (PLI) sent to WHIP publishers, by cause: first (none came yet), segment (the "
                    "segment clock: one every half segment), request (a real-time viewer); at most one per webrtc.min_keyframe_request_ms");
  metrics_.describe("sreda_whip_media_timeouts_total", "counter",
                    "WHIP publishers dropped for sending no media for webrtc.media_timeout_s while connected, by studio "
                    "(the event waits for the studio in intermission, as for a dropped RTMP publisher)");
  metrics_.gauge("sreda_whip_sessions", "WHIP publishers connected or being answered now",
                 [this] { return static_cast<double>(session_count_.load()); });
}

WhipServer::~WhipServer() = default;

bool WhipServer::start() {
  // main checked webrtcbin and libnice at start-up and turned webrtc.enabled off (with its reason) if missing.
  if (!config_.webrtc.enabled) unavailable_ = "WebRTC is off (webrtc.enabled, or a missing plugin: see the start-up log)";
  return unavailable_.empty();
}

void WhipServer::stop() {
  std::promise<void> done;
  boost::asio::post(rtc_, [this, &done] {
    stopping_ = true;
    auto all = sessions_;  // finish() forgets each
    for (auto& [id, s] : all) s->finish("the server is stopping", refusal_for("the server is stopping"));
    sessions_.clear();
    session_count_ = 0;
    done.set_value();
  });
  done.get_future().wait();
}

void WhipServer::publish(int64_t studio_id, const std::string& key, std::string offer_sdp, std::string peer,
                         WhipReply reply) {
  boost::asio::post(rtc_, [this, studio_id, key, offer = std::move(offer_sdp), peer = std::move(peer),
                           reply = std::move(reply)]() mutable {
    publish_on_rtc(studio_id, key, std::move(offer), std::move(peer), std::move(reply));
  });
}

void WhipServer::publish_on_rtc(int64_t studio_id, const std::string& key, std::string offer, std::string peer,
                                WhipReply reply) {
  core::Logger refused_log("whip " + peer + " studio=" + std::to_string(studio_id));
  auto studio = keys_.find(key);
  if (!studio || studio->studio_id != studio_id) {
    count_refused("unknown_key");
    refused_log.info("publish refused: unknown stream key " + hub::redact_key(key));
    return reply({401, "unknown_key", "unknown stream key", 0, "", ""});
  }
  if (stopping_) {
    count_refused("stopping");
    return reply(refusal_for("the server is stopping"));
  }
  if (!unavailable_.empty()) {
    count_refused("unavailable");
    return reply({503, "unavailable", "WebRTC publishing is not available on this server: " + unavailable_, 60, "", ""});
  }
  OfferCheck check = check_offer(offer, static_cast<size_t>(config_.webrtc.max_sdp_bytes));
  if (check.refusal) {
    count_refused("offer");
    refused_log.info("publish refused: " + check.refusal->message);
    return reply({check.refusal->status, check.refusal->code, check.refusal->message, 0, "", ""});
  }
  if (sessions_.size() >= static_cast<size_t>(config_.ingest.max_publishers)) {
    count_refused("max_publishers");
    refused_log.info("publish refused: ingest.max_publishers WHIP sessions at once");
    return reply({503, "busy", "the server has as many publishers as it takes; try again later", 30, "", ""});
  }
  size_t from_peer = 0;
  for (const auto& [id, s] : sessions_) from_peer += s->remote() == peer;
  if (from_peer >= static_cast<size_t>(config_.ingest.max_connections_per_address)) {
    count_refused("max_per_address");
    refused_log.info("publish refused: ingest.max_connections_per_address WHIP sessions from this address");
    return reply({503, "busy", "too many publishers from this address at once; try again later", 30, "", ""});
  }
  WhipSession::Params p;
  p.id = session_of(next_id_++);
  p.token = core::random_token(16);
  p.studio = *studio;
  p.remote = peer;
  p.offer_sdp = std::move(offer);
  p.tracks = check.tracks;
  auto session = std::make_shared<WhipSession>(*this, rtc_, hub_, config_, std::move(p), std::move(reply));
  sessions_[session->id()] = session;
  session_count_ = sessions_.size();
  session->begin();
}

void WhipServer::end(int64_t studio_id, const std::string& token, std::function<void(bool)> reply) {
  boost::asio::post(rtc_, [this, studio_id, token, reply = std::move(reply)] {
    for (auto& [id, s] : sessions_) {
      if (s->studio_id() == studio_id && core::equal_secrets(s->token(), token)) {
        auto keep = s;
        keep->finish("the publisher stopped",
                     WhipResult{409, "stopped", "the publisher stopped before its answer", 0, "", ""});
        return reply(true);
      }
    }
    reply(false);
  });
}

void WhipServer::forget(uint64_t session_id) {
  sessions_.erase(session_id);
  session_count_ = sessions_.size();
}

}  // namespace sreda::ingest::whip
