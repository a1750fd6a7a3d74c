// WHIP ingest (RFC 9725): a browser or OBS 30+ publishes a studio over WebRTC. The /whip routes (server/web)
// reach this through the app's WhipEndpoint adapter; each accepted publish is one WhipSession: a webrtcbin
// (webrtc::WebRtcPeer) answering the offer with all its candidates, its H.264/Opus units fed to the hub like
// RTMP's (Protocol::whip, session ids with bit 61).
//
// A publish, in order: the key must be the studio's (401) → our SDP check picks the tracks (400/422; no port
// is opened for a refused offer) → the hub's publish rules (the same words as RTMP/SRT: 401 key rotated, 403 no
// event now, 409 already publishing, 503 stopping/busy, 500) → the answer within webrtc.answer_timeout_ms
// (else 503, torn down) → 201 with a session token (128-bit random; the Location's last part). DELETE with
// the token ends it ("the publisher stopped"); ICE failure or no media for webrtc.media_timeout_s ends it too
// (intermission: the hub's grace). Keyframes (PLI) are asked for until the first arrives, in step with the
// segment clock (every max(webrtc.min_keyframe_request_ms, live.segment_target_ms / 2) since the last keyframe,
// early by how late the publisher's keyframes come: WhipSession::tick), and on the hub's request_keyframe — all
// through one limiter (webrtc.min_keyframe_request_ms).
//
// Threads: publish()/end()/session_count() from any thread (they post to the rtc thread); every session lives
// on the rtc thread (its executor); media leaves on GStreamer threads straight into the hub's input.
// start()/stop() from the app's thread; stop() waits for the rtc thread to end every session. Handlers it posts
// capture the server, and a session's timers reach it through the session: destroy it only once the rtc executor
// has stopped running (the app's stop_rtc), so none of them can run after.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "server/config/config.h"
#include "server/core/metrics.h"
#include "server/hub/event_hub.h"
#include "server/hub/key_directory.h"

namespace sreda::ingest::whip {

// What a publish gets: 201 (answer_sdp, token) or a refusal (status, code, message in plain words;
// retry_after_s for 503).
struct WhipResult {
  int status = 201;
  std::string code;
  std::string message;
  int retry_after_s = 0;
  std::string answer_sdp;
  std::string token;
};
using WhipReply = std::function<void(WhipResult)>;

// The hub's refusal reason (its words, as RTMP and SRT hear them) → the HTTP status and code of a WHIP
// refusal: key rotated 401, already publishing 409, no event 403, stopping/busy 503, anything else 500.
WhipResult refusal_for(const std::string& hub_reason);

class WhipSession;

class WhipServer {
 public:
  WhipServer(boost::asio::any_io_executor rtc, hub::EventHub& hub, const hub::KeyDirectory& keys,
             const config::Config& config, core::Metrics& metrics);
  ~WhipServer();
  WhipServer(const WhipServer&) = delete;
  WhipServer& operator=(const WhipServer&) = delete;

  // False when WebRTC is off (webrtc.enabled, which main turns off when webrtcbin or libnice is missing): WHIP
  // then answers 503 in plain words; the rest of the server runs.
  bool start();
  // Ends every session (the hub hears each publisher go) and refuses new publishes. Waits for the rtc thread.
  void stop();

  void publish(int64_t studio_id, const std::string& key, std::string offer_sdp, std::string peer, WhipReply reply);
  // reply(true) when a session of that studio had that token (it ends), false otherwise.
  void end(int64_t studio_id, const std::string& token, std::function<void(bool found)> reply);
  size_t session_count() const { return session_count_.load(); }

  // Hub session ids of WHIP publishers carry bit 61 (RTMP none, SRT 63, pull 62).
  static uint64_t session_of(uint64_t n) { return n | (uint64_t{1} << 61); }

  // Internal (WhipSession): a session has ended; the server forgets it (rtc thread).
  void forget(uint64_t session_id);
  void count_refused(const std::string& reason) { hub_.count_refused(hub::Protocol::whip, reason); }
  core::Metrics& metrics() { return metrics_; }

 private:
  void publish_on_rtc(int64_t studio_id, const std::string& key, std::string offer_sdp, std::string peer,
                      WhipReply reply);

  boost::asio::any_io_executor rtc_;
  hub::EventHub& hub_;
  const hub::KeyDirectory& keys_;
  const config::Config& config_;
  core::Metrics& metrics_;
  std::string unavailable_;  // why WebRTC cannot run here (start()); empty when it can
  bool stopping_ = false;    // rtc thread
  uint64_t next_id_ = 1;     // rtc thread
  std::map<uint64_t, std::shared_ptr<WhipSession>> sessions_;  // rtc thread: hub session id → session
  std::atomic<size_t> session_count_{0};
};

}  // namespace sreda::ingest::whip
