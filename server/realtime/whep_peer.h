// The WHEP service's viewer connections (ViewerConnector, whep_service.h) made with webrtc::WebRtcPeer in send
// mode: the viewer's offer is parsed and its H.264/Opus payload types chosen (server/media/sdp_offer.h:
// choose_whep, for the feed's profile and level), the peer answers with all its candidates, and the fan-out
// pushes the feed's packets into it with the viewer's payload types. A viewer's PLI/FIR and its connection's
// end reach the service through ViewerEvents.
//
// Threads: connect() and the links' close() on the rtc thread (its executor given); the peers' callbacks post
// there.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "pipelines/webrtc/webrtc_peer.h"
#include "server/config/config.h"
#include "server/realtime/whep_service.h"

namespace sreda::realtime {

class PeerConnector : public ViewerConnector {
 public:
  PeerConnector(boost::asio::any_io_executor rtc, const config::WebRtcConfig& config);
  std::function<void()> connect(ViewerRequest request, ViewerEvents events, std::function<void(Connected)> done) override;

 private:
  boost::asio::any_io_executor rtc_;
  const config::WebRtcConfig config_;
  const webrtc::IceSettings ice_;
  uint64_t next_ = 1;
};

}  // namespace sreda::realtime
