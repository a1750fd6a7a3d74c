// The /whip routes' back end (web::WhipEndpoint) on top of the WHIP server (server/ingest/whip): web may not
// include ingest, so the app joins them. Turns a WhipResult into the HTTP answer: 201 with the answer SDP,
// Location /whip/<studio>/<token> and ETag; or the refusal in the API's error shape (503 with Retry-After).
// Any thread.
#pragma once

#include "server/ingest/whip/whip_server.h"
#include "server/web/webrtc_endpoints.h"

namespace sreda::app {

class WhipEndpointAdapter : public web::WhipEndpoint {
 public:
  explicit WhipEndpointAdapter(ingest::whip::WhipServer& server) : server_(server) {}
  void publish(int64_t studio_id, const std::string& key, web::WebRtcOffer offer, web::Reply reply) override;
  void end(int64_t studio_id, const std::string& token, web::Reply reply) override;

  // The HTTP answer of one WHIP result (pure; unit-tested).
  static web::HttpResponse response(int64_t studio_id, const ingest::whip::WhipResult& result);

 private:
  ingest::whip::WhipServer& server_;
};

}  // namespace sreda::app
