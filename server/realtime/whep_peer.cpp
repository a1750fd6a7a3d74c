#include "server/realtime/whep_peer.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/media/sdp_offer.h"

namespace sreda::realtime {

namespace {

// One viewer's WebRtcPeer as the fan-out sees it.
class PeerLink : public ViewerLink {
 public:
  explicit PeerLink(std::unique_ptr<webrtc::WebRtcPeer> peer) : peer_(std::move(peer)) {}
  ~PeerLink() override { close(); }
  bool send(media::TrackKind track, GstBuffer* packet) override { return peer_->push_rtp(track, packet); }
  bool send_list(media::TrackKind track, GstBufferList* packets) override {
    return peer_->push_rtp_list(track, packets);
  }
  bool ready() const override { return peer_->sending(); }
  // WebRtcPeer sends at once (no queue: nothing waits); push_rtp() says when it dropped.
  int64_t queued_ms(media::TrackKind) const override { return 0; }
  void close() override {
    if (peer_) peer_->stop();
  }

 private:
  std::unique_ptr<webrtc::WebRtcPeer> peer_;
};

}  // namespace

PeerConnector::PeerConnector(boost::asio::any_io_executor rtc, const config::WebRtcConfig& config)
    : rtc_(std::move(rtc)), config_(config), ice_(webrtc::IceSettings::from(config)) {}

std::function<void()> PeerConnector::connect(ViewerRequest request, ViewerEvents events,
                                             std::function<void(Connected)> done) {
  auto fail = [&done](int status, std::string message) -> std::function<void()> {
    Connected c;
    c.status = status;
    c.message = std::move(message);
    done(std::move(c));
    return {};
  };
  auto offer = media::parse_sdp_offer(request.offer, static_cast<size_t>(config_.max_sdp_bytes));
  if (!offer) return fail(media::sdp_refusal_status(offer.error()), offer.error().message);
  media::WhepFeed feed;
  feed.video_profile = request.tracks.video_profile;
  feed.video_level_idc = request.tracks.video_level_idc;
  auto choice = media::choose_whep(*offer, feed);
  if (!choice) return fail(media::sdp_refusal_status(choice.error()), choice.error().message);
  webrtc::TrackChoice tracks;
  tracks.video_pt = request.tracks.video && choice->video.present() ? choice->video.pt : -1;
  tracks.audio_pt = request.tracks.audio && choice->audio.present() ? choice->audio.pt : -1;
  tracks.video_ssrc = request.tracks.video_ssrc;
  tracks.audio_ssrc = request.tracks.audio_ssrc;
  if (tracks.video_pt < 0 && tracks.audio_pt < 0)
    return fail(422, "the viewer's offer has none of what this event sends (H.264 video, Opus audio)");

  webrtc::WebRtcPeer::Callbacks cb;
  cb.on_keyframe_wanted = [wanted = events.keyframe_wanted](media::TrackKind) { wanted(); };
  cb.on_state = [events](webrtc::PeerState state, const std::string& why) {
    if (state == webrtc::PeerState::connected) events.keyframe_wanted();  // its first picture
    if (state == webrtc::PeerState::failed)
      events.closed("the connection failed" + (why.empty() ? std::string() : ": " + why));
    if (state == webrtc::PeerState::closed) events.closed(why.empty() ? "the connection closed" : why);
  };
  cb.run_after = [rtc = rtc_](std::chrono::milliseconds delay, std::function<void()> fn) {
    auto timer = std::make_shared<boost::asio::steady_timer>(rtc, delay);
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code&) { fn(); });
  };
  const std::string name = "whep event=" + std::to_string(request.event_id) + " v=" + std::to_string(next_++);
  auto peer = std::make_unique<webrtc::WebRtcPeer>(name, ice_, webrtc::Direction::send, std::move(cb));
  webrtc::WebRtcPeer* raw = peer.get();
  auto link = std::make_shared<PeerLink>(std::move(peer));
  raw->answer(request.offer, tracks, [rtc = rtc_, link, done](core::Result<webrtc::Answer> a) {
    boost::asio::post(rtc, [link, done, a = std::move(a)]() mutable {
      Connected c;
      if (!a) {
        link->close();
        c.status = a.error().code == "webrtc_negotiation" ? 422 : 503;
        c.message = "the real-time connection could not be made: " + a.error().message;
        return done(std::move(c));
      }
      c.link = link;
      c.answer = std::move(a->sdp);
      c.video_pt = a->video_pt;
      c.audio_pt = a->audio_pt;
      done(std::move(c));
    });
  });
  return [link] { link->close(); };  // a stopped peer answers nothing more
}

}  // namespace sreda::realtime
