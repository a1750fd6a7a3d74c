#include "server/app/whep_endpoint.h"

#include "server/schedule/catalog.h"

namespace sreda::app {

namespace {

realtime::WhepOptions whep_options(const config::WebRtcConfig& c) {
  realtime::WhepOptions o;
  o.feed.max_height = c.whep_height;
  o.feed.video_kbps = c.whep_kbps;
  o.feed.audio_kbps = c.whep_audio_kbps;
  o.feed.preset = c.whep_preset;
  o.max_viewers = c.max_whep_viewers;
  o.max_per_address = c.max_whep_per_address;
  o.idle_stop_s = c.whep_idle_stop_s;
  o.min_keyframe_request_ms = c.min_keyframe_request_ms;
  o.answer_timeout_ms = c.answer_timeout_ms;
  return o;
}

}  // namespace

WhepBackEnd::WhepBackEnd(boost::asio::any_io_executor rtc, const config::Config& config, store::Store& store,
                         core::Metrics& metrics, hub::ConsumerFactory& outputs, Overload& overload)
    : enabled_(config.webrtc.enabled),
      store_(store),
      overload_(overload),
      connector_(rtc, config.webrtc),
      service_(rtc, whep_options(config.webrtc), connector_, hooks(), metrics),
      factory_(outputs, service_) {}

realtime::WhepHooks WhepBackEnd::hooks() {
  realtime::WhepHooks h;
  // A live event with real time on (the store thread), then its publisher's protocol (the control thread).
  h.realtime_event = [this](int64_t event_id, std::function<void(bool, bool)> reply) {
    const bool posted = store_.post([this, event_id, reply](store::Db& db) {
      auto e = schedule::find_event(db, event_id);
      auto* hub = hub_.load();
      if (!e || !e->realtime || !hub || (e->state != schedule::EventState::live &&
                                         e->state != schedule::EventState::intermission))
        return reply(false, false);
      hub->live_info(event_id, [reply](std::optional<nlohmann::json> info) {
        if (!info) return reply(false, false);
        const auto p = info->find("publisher");
        const bool whip = p != info->end() && p->is_object() && p->value("protocol", "") == "whip";
        reply(true, whip);
      });
    });
    if (!posted) reply(false, false);
  };
  h.request_source_keyframe = [this](int64_t event_id) {
    if (auto* hub = hub_.load()) hub->request_keyframe(event_id);
  };
  h.encode_late = [this](int64_t event_id, int64_t frames) {
    overload_.report(Overload::Cause::whep_encode, "event " + std::to_string(event_id) + "'s real-time encode",
                     frames);
  };
  h.overloaded = [this] { return overload_.refusal(); };
  return h;
}

web::HttpResponse WhepBackEnd::response(int64_t event_id, const realtime::PlayResult& r) {
  if (r.status == 201) {
    auto out = web::HttpResponse::text(201, "application/sdp", r.answer);
    out.headers.push_back({"location", "/whep/" + std::to_string(event_id) + "/" + r.token});
    out.headers.push_back({"etag", "\"" + r.token + "\""});
    return out;
  }
  if (r.retry_after_s > 0) return web::HttpResponse::refused(r.status, r.code, r.message, r.retry_after_s);
  return web::HttpResponse::error(r.status, r.code, r.message);
}

void WhepBackEnd::play(int64_t event_id, web::WebRtcOffer offer, web::Reply reply) {
  if (!enabled_)
    return reply(web::HttpResponse::refused(503, "webrtc_off", "real time (WebRTC) is off on this server", 60));
  service_.play(event_id, std::move(offer.sdp), std::move(offer.peer),
                [event_id, reply = std::move(reply)](realtime::PlayResult r) { reply(response(event_id, r)); });
}

void WhepBackEnd::end(int64_t event_id, const std::string& token, web::Reply reply) {
  service_.end(event_id, token, [reply = std::move(reply)](bool found) {
    reply(found ? web::HttpResponse::json(200, {{"ended", true}})
                : web::HttpResponse::error(404, "not_found", "no such real-time session (it has ended already?)"));
  });
}

}  // namespace sreda::app
