// The /whep routes' back end (web::WhepEndpoint) on top of the WHEP service (server/realtime): the service, its
// viewer connections (WebRtcPeer, send mode) and the consumer factory that puts a WHEP tap beside each live
// event's outputs. Joins what the service asks of the rest of the server: whether an event is live with real
// time on (the store's events.realtime, the hub's publisher: WHIP keyframes can be asked for) and the
// publisher's keyframes (EventHub::request_keyframe), and the overload rule (overload.h: the encode's late
// frames in, the refusal of new viewers out). Turns a PlayResult into the HTTP answer: 201 with the
// answer SDP, Location /whep/<event>/<token> and ETag; or the refusal in the API's error shape (503 with
// Retry-After: the watch page plays LL-HLS).
//
// Threads: made before the hub (its consumers()), attach_hub() when the rtc thread starts, stop() after that
// thread has been joined; play()/end() from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <memory>

#include "server/app/overload.h"
#include "server/config/config.h"
#include "server/hub/event_hub.h"
#include "server/realtime/whep_peer.h"
#include "server/realtime/whep_service.h"
#include "server/store/store.h"
#include "server/web/webrtc_endpoints.h"

namespace sreda::app {

class WhepBackEnd : public web::WhepEndpoint {
 public:
  WhepBackEnd(boost::asio::any_io_executor rtc, const config::Config& config, store::Store& store,
              core::Metrics& metrics, hub::ConsumerFactory& outputs, Overload& overload);
  // The hub's ConsumerFactory: the outputs (and relays) of each event with its WHEP tap beside them.
  hub::ConsumerFactory& consumers() { return factory_; }
  void attach_hub(hub::EventHub* hub) { hub_ = hub; }
  void stop() { service_.stop(); }

  void play(int64_t event_id, web::WebRtcOffer offer, web::Reply reply) override;
  void end(int64_t event_id, const std::string& token, web::Reply reply) override;

  // The HTTP answer of one play result (pure).
  static web::HttpResponse response(int64_t event_id, const realtime::PlayResult& result);

 private:
  realtime::WhepHooks hooks();

  const bool enabled_;
  store::Store& store_;
  Overload& overload_;
  std::atomic<hub::EventHub*> hub_{nullptr};
  realtime::PeerConnector connector_;
  realtime::WhepService service_;
  realtime::RealtimeFactory factory_;
};

}  // namespace sreda::app
