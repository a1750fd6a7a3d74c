#include "server/ingest/whip/whip_session.h"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "server/core/clock.h"
#include "server/core/log.h"

namespace sreda::ingest::whip {

namespace {
constexpr int kTickMs = 250;
// A keyframe is asked for this long before it is due at first; then as long before as the publisher's keyframes
// came after their requests (a browser's encoder answers a PLI with its next frame, later under load).
constexpr int64_t kFirstLeadMs = 150;
constexpr int64_t kMinLeadMs = 20, kMaxLeadMs = 500;
// A keyframe this soon after a request answers it (a later one was the encoder's own).
constexpr int64_t kAnswerWindowMs = 1000;
}  // namespace

// The peer's media threads reach the hub through this (never through the session, which lives on rtc).
struct WhipSession::Feed {
  std::shared_ptr<hub::PublisherInput> input;
  std::unique_ptr<WhipMedia> media;
};

WhipSession::WhipSession(WhipServer& server, boost::asio::any_io_executor rtc, hub::EventHub& hub,
                         const config::Config& config, Params params, WhipReply reply)
    : server_(server),
      rtc_(rtc),
      hub_(hub),
      config_(config),
      p_(std::move(params)),
      reply_(std::move(reply)),
      log_("whip " + p_.remote + " studio=" + std::to_string(p_.studio.studio_id) + " s=" + p_.token.substr(0, 6)),
      deadline_(rtc),
      ticker_(rtc),
      keyframe_interval_ms_(std::max(config.webrtc.min_keyframe_request_ms, config.live.segment_target_ms / 2)),
      lead_ms_(kFirstLeadMs) {}

WhipSession::~WhipSession() {
  if (peer_) peer_->stop();
}

template <typename F>
void WhipSession::post_self(F f) {
  boost::asio::post(rtc_, [weak = weak_from_this(), f = std::move(f)]() mutable {
    if (auto self = weak.lock()) f(*self);
  });
}

void WhipSession::begin() {
  started_ms_ = core::steady_ms();
  deadline_.expires_after(std::chrono::milliseconds(config_.webrtc.answer_timeout_ms));
  deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || !self->reply_) return;
    self->server_.count_refused("answer_timeout");
    self->finish("no answer within webrtc.answer_timeout_ms",
                 WhipResult{503, "busy", "the server could not answer in time; try again", 5, "", ""});
  });
  std::weak_ptr<WhipSession> weak = weak_from_this();
  auto rtc = rtc_;
  hub_.request_publish(
      hub::Protocol::whip, p_.id, p_.studio, p_.remote,
      [weak, rtc](bool ok, std::string reason) {
        boost::asio::post(rtc, [weak, ok, reason] {
          // A session gone before the decision told the hub so itself (finish()).
          if (auto self = weak.lock()) self->decided(ok, reason);
        });
      },
      [weak, rtc](std::string reason) {
        boost::asio::post(rtc, [weak, reason] {
          if (auto self = weak.lock()) self->finish(reason);
        });
      },
      [weak, rtc] {
        boost::asio::post(rtc, [weak] {
          if (auto self = weak.lock()) self->want_keyframe("request");
        });
      });
}

void WhipSession::decided(bool ok, const std::string& reason) {
  decided_ = true;
  if (finished_) return;
  if (!ok) return finish("refused: " + reason, refusal_for(reason));
  accepted_ = true;
  feed_ = std::make_shared<Feed>();
  feed_->input = hub_.input(p_.id);
  if (!feed_->input) return finish("the hub dropped the session", refusal_for(""));
  feed_->media = std::make_unique<WhipMedia>(*feed_->input, p_.tracks.video_pt >= 0, p_.tracks.audio_pt >= 0,
                                             static_cast<size_t>(config_.ingest.max_held_media_bytes),
                                             [] { return core::steady_ms(); });
  webrtc::WebRtcPeer::Callbacks cb;
  std::weak_ptr<Feed> weak_feed = feed_;
  cb.on_format = [weak_feed](const webrtc::ReceivedFormat& f) {
    if (auto feed = weak_feed.lock())
      feed->media->on_format({f.track, f.codec, f.caps, f.codec_data, f.rate, f.channels});
  };
  cb.on_unit = [weak_feed](media::AccessUnit u) {
    auto feed = weak_feed.lock();
    if (!feed || feed->input->closed()) return;
    feed->input->count_bytes(u.data.size());
    feed->media->on_unit(std::move(u));
  };
  cb.on_state = [weak = weak_from_this(), rtc = rtc_](webrtc::PeerState state, const std::string& why) {
    boost::asio::post(rtc, [weak, state, why] {
      if (auto self = weak.lock()) self->on_peer_state(state, why);
    });
  };
  cb.run_after = [rtc = rtc_](std::chrono::milliseconds delay, std::function<void()> fn) {
    auto timer = std::make_shared<boost::asio::steady_timer>(rtc, delay);
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code&) { fn(); });
  };
  peer_ = std::make_unique<webrtc::WebRtcPeer>(log_.context(), webrtc::IceSettings::from(config_.webrtc),
                                               webrtc::Direction::receive, std::move(cb));
  peer_->answer(p_.offer_sdp, p_.tracks, [weak = weak_from_this(), rtc = rtc_](core::Result<webrtc::Answer> a) {
    boost::asio::post(rtc, [weak, a = std::move(a)]() mutable {
      if (auto self = weak.lock()) self->answered(std::move(a));
    });
  });
}

void WhipSession::answered(core::Result<webrtc::Answer> answer) {
  if (finished_ || !reply_) return;
  if (!answer) {
    server_.count_refused("negotiation");
    const bool offer = answer.error().code == "webrtc_negotiation";
    return finish("negotiation failed: " + answer.error().message,
                  WhipResult{offer ? 422 : 500, offer ? "bad_offer" : "webrtc_failed",
                             "the connection could not be negotiated: " + answer.error().message, 0, "", ""});
  }
  deadline_.cancel();
  answered_ms_ = core::steady_ms();
  log_.info("answered with " + std::to_string(answer->candidates) + " candidates in " +
            std::to_string(answered_ms_ - started_ms_) + " ms");
  reply(WhipResult{201, "", "", 0, answer->sdp, p_.token});
  tick();
}

void WhipSession::on_peer_state(webrtc::PeerState state, const std::string& reason) {
  if (finished_) return;
  switch (state) {
    case webrtc::PeerState::connected:
      log_.info("connected");
      want_keyframe("first");
      break;
    case webrtc::PeerState::failed:
      finish("the connection failed" + (reason.empty() ? std::string() : ": " + reason),
             WhipResult{500, "webrtc_failed", "the connection failed", 0, "", ""});
      break;
    case webrtc::PeerState::closed:
      finish(reason.empty() ? "the connection closed" : reason);
      break;
    case webrtc::PeerState::connecting:
      break;
  }
}

void WhipSession::want_keyframe(const char* cause) {
  if (finished_ || !peer_ || !answered_ms_) return;
  const int64_t now = core::steady_ms();
  if (last_request_ms_ && now - last_request_ms_ < config_.webrtc.min_keyframe_request_ms) {
    if (!pending_cause_) pending_cause_ = cause, pending_since_ms_ = now;  // coalesced into the next one allowed
    return;
  }
  pending_cause_ = nullptr;
  last_request_ms_ = now;
  peer_->request_keyframe();
  server_.metrics().add("sreda_whip_keyframe_requests_total", {{"cause", cause}});
}

void WhipSession::tick() {
  if (finished_) return;
  const int64_t now = core::steady_ms();
  const WhipMedia& media = *feed_->media;
  const int64_t last_unit = std::max(answered_ms_, media.last_unit_ms());
  if (now - last_unit > int64_t{config_.webrtc.media_timeout_s} * 1000) {
    // Connected (ICE, DTLS) but silent: a stuck encoder, or a browser tab frozen in the background.
    server_.metrics().add("sreda_whip_media_timeouts_total", {{"studio", std::to_string(p_.studio.studio_id)}});
    return finish("no media for " + std::to_string(config_.webrtc.media_timeout_s) + " s (webrtc.media_timeout_s)");
  }
  int64_t wait_ms = kTickMs;
  if (media.last_unit_ms() > 0) {
    // Browsers send a keyframe only when asked. They are asked in step with the segment clock: a keyframe due
    // every keyframe_interval_ms_ (half a segment: 1 s with 2 s segments, as an RTMP studio's 1 s GOP) after
    // the last one, asked for lead_ms_ early so that it comes on time. Each segment then starts with one (the
    // packager cuts at the first keyframe at 90 % of the target) and is about its target long, and an LL-HLS
    // player joining the stream finds an independent part at most a second before the live edge (hls.js starts
    // at one: with keyframes every 2–3.5 s plain hls.js played 2.2–5.3 s behind). An encoder whose own GOP is
    // that short or shorter is never asked.
    const int64_t last_key = media.last_keyframe_ms();
    learn_lead(last_key);
    const int64_t due = last_key + keyframe_interval_ms_ - lead_ms_;
    if (!last_key) want_keyframe("first");
    else if (now >= due) want_keyframe("segment");
    else if (pending_cause_) want_keyframe(pending_cause_);
    // The next tick when the next request is due (or the limiter lets a waiting one go), not a tick later.
    int64_t next = last_key && now < due ? due : now + kTickMs;
    if (pending_cause_ || (last_key && now >= due))
      next = std::min(next, last_request_ms_ + config_.webrtc.min_keyframe_request_ms);
    wait_ms = std::clamp<int64_t>(next - now, 5, kTickMs);
  }
  ticker_.expires_after(std::chrono::milliseconds(wait_ms));
  ticker_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (auto self = weak.lock(); self && !ec) self->tick();
  });
}

void WhipSession::learn_lead(int64_t last_key_ms) {
  if (!last_key_ms || last_key_ms == seen_key_ms_) return;
  seen_key_ms_ = last_key_ms;
  if (pending_cause_ && last_key_ms >= pending_since_ms_) pending_cause_ = nullptr;  // this keyframe answers it
  const int64_t late = last_key_ms - last_request_ms_;
  if (!last_request_ms_ || late < 0 || late > kAnswerWindowMs) return;  // the encoder's own keyframe
  // A moving average of how late the answers came; the request goes a bit earlier than that (tick jitter).
  lead_ms_ = std::clamp<int64_t>((3 * lead_ms_ + late + 10) / 4, kMinLeadMs, kMaxLeadMs);
}

void WhipSession::reply(WhipResult result) {
  if (!reply_) return;
  auto r = std::move(reply_);
  reply_ = nullptr;
  r(std::move(result));
}

void WhipSession::finish(const std::string& reason, std::optional<WhipResult> refusal) {
  if (finished_) return;
  finished_ = true;
  deadline_.cancel();
  ticker_.cancel();
  if (reply_) reply(refusal ? std::move(*refusal) : WhipResult{500, "webrtc_failed", reason, 0, "", ""});
  if (peer_) peer_->stop();  // joins its threads: no media after this
  // Undecided: the hub refuses it when it decides ("the publisher left"), or detaches it if it just took it.
  if (accepted_ || !decided_) hub_.publisher_gone(p_.id, reason);
  log_.info("closed: " + reason);
  server_.forget(p_.id);  // may destroy this: the last thing
}

}  // namespace sreda::ingest::whip
