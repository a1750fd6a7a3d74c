#include "server/app/whip_endpoint.h"

namespace sreda::app {

web::HttpResponse WhipEndpointAdapter::response(int64_t studio_id, const ingest::whip::WhipResult& r) {
  if (r.status == 201) {
    auto out = web::HttpResponse::text(201, "application/sdp", r.answer_sdp);
    out.headers.push_back({"location", "/whip/" + std::to_string(studio_id) + "/" + r.token});
    out.headers.push_back({"etag", "\"" + r.token + "\""});
    return out;
  }
  if (r.retry_after_s > 0) return web::HttpResponse::refused(r.status, r.code, r.message, r.retry_after_s);
  return web::HttpResponse::error(r.status, r.code, r.message);
}

void WhipEndpointAdapter::publish(int64_t studio_id, const std::string& key, web::WebRtcOffer offer, web::Reply reply) {
  server_.publish(studio_id, key, std::move(offer.sdp), std::move(offer.peer),
                  [studio_id, reply = std::move(reply)](ingest::whip::WhipResult r) { reply(response(studio_id, r)); });
}

void WhipEndpointAdapter::end(int64_t studio_id, const std::string& token, web::Reply reply) {
  server_.end(studio_id, token, [reply = std::move(reply)](bool found) {
    reply(found ? web::HttpResponse::json(200, {{"ended", true}})
                : web::HttpResponse::error(404, "not_found", "no such WHIP session (it has ended already?)"));
  });
}

}  // namespace sreda::app
