// One WHIP publisher (see whip_server.h): its hub decision, its webrtcbin (webrtc::WebRtcPeer), the answer's
// deadline, the keyframe requests and the media watchdog. Lives on the rtc thread (WhipServer's map holds it;
// every callback reaches it through a weak pointer posted to that thread); its media goes from the peer's
// GStreamer threads straight into WhipMedia → the hub's PublisherInput.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pipelines/webrtc/webrtc_peer.h"
#include "server/core/log.h"
#include "server/ingest/whip/whip_media.h"
#include "server/ingest/whip/whip_server.h"

namespace sreda::ingest::whip {

class WhipSession : public std::enable_shared_from_this<WhipSession> {
 public:
  struct Params {
    uint64_t id = 0;             // the hub's session id (bit 61)
    std::string token;           // the Location's last part
    hub::StudioKey studio;
    std::string remote;
    std::string offer_sdp;
    webrtc::TrackChoice tracks;  // chosen by our SDP check (pt -1: the kind is absent)
  };
  WhipSession(WhipServer& server, boost::asio::any_io_executor rtc, hub::EventHub& hub, const config::Config& config,
              Params params, WhipReply reply);
  ~WhipSession();

  // rtc thread: asks the hub (the answer follows its decision).
  void begin();
  // rtc thread: ends the session (idempotent): a pending reply gets `refusal` (if given), the peer stops, the
  // hub hears the publisher go, the server forgets it. One "closed: <reason>" line.
  void finish(const std::string& reason, std::optional<WhipResult> refusal = std::nullopt);
  // rtc thread: the hub's request_keyframe (a new real-time viewer, …), rate-limited.
  void want_keyframe(const char* cause);

  uint64_t id() const { return p_.id; }
  int64_t studio_id() const { return p_.studio.studio_id; }
  const std::string& token() const { return p_.token; }
  const std::string& remote() const { return p_.remote; }

 private:
  struct Feed;  // the media side shared with the peer's GStreamer threads
  void decided(bool ok, const std::string& reason);
  void answered(core::Result<webrtc::Answer> answer);
  void on_peer_state(webrtc::PeerState state, const std::string& reason);
  void tick();
  // How late the publisher's keyframes come after a request (`last_key_ms`: the newest keyframe's arrival).
  void learn_lead(int64_t last_key_ms);
  void reply(WhipResult result);
  template <typename F>
  void post_self(F f);

  WhipServer& server_;
  boost::asio::any_io_executor rtc_;
  hub::EventHub& hub_;
  const config::Config& config_;
  Params p_;
  WhipReply reply_;  // empty once replied
  core::Logger log_;
  std::unique_ptr<webrtc::WebRtcPeer> peer_;
  std::shared_ptr<Feed> feed_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer ticker_;
  bool decided_ = false;    // the hub's decision came
  bool accepted_ = false;   // the hub took the publish (it must hear it go)
  bool finished_ = false;
  int64_t started_ms_ = 0;   // steady
  int64_t answered_ms_ = 0;  // steady; 0 until 201
  int64_t last_request_ms_ = 0;  // the limiter: the last PLI sent (steady)
  const char* pending_cause_ = nullptr;  // a request waiting for the limiter
  int64_t pending_since_ms_ = 0;         // since when (steady): a keyframe after it answers it
  // Keyframes are asked for this often (max(webrtc.min_keyframe_request_ms, live.segment_target_ms / 2)), each
  // lead_ms_ before it is due: how late the publisher's keyframes came after their requests (see tick()).
  const int64_t keyframe_interval_ms_;
  int64_t lead_ms_;
  int64_t seen_key_ms_ = 0;  // the last keyframe learn_lead() saw (steady)
};

}  // namespace sreda::ingest::whip
