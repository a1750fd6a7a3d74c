// The WebRTC back ends the HTTP routes of /whip and /whep call (consumer-owned, STYLE 11: web includes no ingest
// or realtime code; the app implements these with the WHIP server and the WHEP service). The routes
// (server/web/webrtc_routes.h) check the method, content type, size, CORS and the bearer key's form, then
// forward; every answer comes back through `Reply` (once, from any thread).
#pragma once

#include <cstdint>
#include <string>

#include "server/web/http.h"

namespace sreda::web {

// What a WHIP or WHEP back end answers for an offer: 201 with `answer_sdp` and `session_token` (the
// unguessable last part of the session's Location), or an error (status, code, message in plain words).
struct WebRtcOffer {
  std::string sdp;     // the offer (application/sdp), already bounded by webrtc.max_sdp_bytes
  std::string peer;    // the client's address (per-address limits, logs)
};

class WhipEndpoint {
 public:
  virtual ~WhipEndpoint() = default;
  // A publish: studio id from the path, stream key from "Authorization: Bearer". reply gets 201 (body: the
  // answer SDP; headers: Location /whip/<studio>/<token>, ETag) or the refusal in the words RTMP/SRT use.
  virtual void publish(int64_t studio_id, const std::string& key, WebRtcOffer offer, Reply reply) = 0;
  // DELETE /whip/<studio>/<token>: 200 when it ended, 404 when no such session.
  virtual void end(int64_t studio_id, const std::string& token, Reply reply) = 0;
};

class WhepEndpoint {
 public:
  virtual ~WhepEndpoint() = default;
  // A viewer of a live public event with real time on: 201 + answer, or 404 (no such live real-time event),
  // 503 + Retry-After (viewer limit, per-address limit, overload: the page plays LL-HLS).
  virtual void play(int64_t event_id, WebRtcOffer offer, Reply reply) = 0;
  virtual void end(int64_t event_id, const std::string& token, Reply reply) = 0;
};

}  // namespace sreda::web
