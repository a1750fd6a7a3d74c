// One WebRTC peer connection of the server: a GstPipeline around one webrtcbin (bundle-policy max-bundle, the
// ICE agent set from webrtc.* config), answering a client's offer without trickle ICE (the answer carries
// every candidate and a=end-of-candidates). Two uses:
//  - receive (WHIP, a publisher): recvonly transceivers for the offered kinds; the incoming tracks leave
//    depayloaded as access units: H.264 in AVC form (length-prefixed NAL units, alignment=au, the SPS/PPS in
//    the format's codec_data; units are held until the first IDR) and Opus packets (one per unit). PTS are
//    running time in µs (after the jitter buffer, lip-synced by RTCP SR); dts == pts. request_keyframe()
//    makes rtpsession send a PLI (or FIR) to the publisher.
//  - send (WHEP, a viewer): sendonly; the caller pushes RTP packets it payloaded once per event, already
//    carrying the viewer's payload type (Answer says which the answer really uses) and the feed's SSRC,
//    on their own thread (push_rtp: no queue, no streaming thread per track).
//    A PLI/FIR from the viewer comes out as on_keyframe_wanted.
// Findings behind the choices: /work/notes/i24/spike.md (what webrtcbin 1.22 really does).
//
// Threads: construct, answer(), request_keyframe(), stats(), stop() and the destructor on the owner's thread
// (the rtc thread), never on a GStreamer streaming thread or inside a callback. push_rtp() from one
// thread per track (the feed's fan-out). Every callback (and answer's `done`) comes on a GStreamer or libnice thread,
// or on the owner's timer: keep it short and post to your own thread; none comes after stop() returned.
#pragma once

#include <gst/gst.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/config/config.h"
#include "server/core/result.h"
#include "server/media/access_unit.h"
#include "server/media/sdp_offer.h"

namespace sreda::webrtc {

// Empty when WebRTC can run here; otherwise one message per problem: missing elements
// (gst::webrtc_elements(), naming the Debian package), and ICE-agent or NiceAgent properties this
// GStreamer/libnice lacks (min-rtp-port, add-local-ip-address, upnp, keepalive-conncheck, …). Call once at
// start-up after gst_init (it makes and drops one webrtcbin).
std::vector<std::string> check_webrtc_support();

// ICE and jitter settings of every peer (from config::WebRtcConfig; lists are comma-separated there).
struct IceSettings {
  int port_min = 20000;
  int port_max = 20999;
  std::vector<std::string> local_addresses;   // empty = libnice's default (every address but loopback)
  std::vector<std::string> public_addresses;  // host candidates copied with these addresses (1:1 NAT)
  std::string stun_server;                    // "stun://host:port" or empty
  int gather_timeout_ms = 1500;               // the answer waits this long at most for candidates
  int jitter_latency_ms = 200;                // webrtcbin's latency (receive jitter buffer)
  static IceSettings from(const config::WebRtcConfig& c);
};

enum class Direction { receive, send };
enum class PeerState { connecting, connected, failed, closed };
const char* peer_state_name(PeerState s);

// What the caller's SDP parser chose from the offer, per kind (payload_type -1: the kind is absent/refused).
// Only the payload type is needed: webrtcbin takes the codec's fmtp from the offer for that number.
struct TrackChoice {
  int video_pt = -1;  // H.264 packetization-mode=1
  int audio_pt = -1;  // Opus
  int twcc_extmap_id =
      0;  // the offer's transport-wide-cc header extension id (receive: TWCC feedback), 0 none
  // send only: the SSRCs the pushed RTP carries (announced in the answer's a=ssrc)
  uint32_t video_ssrc = 0;
  uint32_t audio_ssrc = 0;
};

// From the SDP parser's choice (media::choose_whip / choose_whep): the tracks' payload types (an absent
// track: -1) and the transport-wide-cc extmap id (video's, else audio's). SSRCs stay 0: the WHEP feed sets
// them.
TrackChoice track_choice(const media::SdpTrack& video, const media::SdpTrack& audio);

struct Answer {
  std::string sdp;    // the whole answer: candidates on the bundled m-line, a=end-of-candidates
  int video_pt = -1;  // the payload types the answer uses (send: write these into the RTP you push)
  int audio_pt = -1;
  int candidates = 0;  // how many a=candidate lines it carries (public-address copies included)
};

// The format of one received track, before its first unit and again whenever it changes (a new SPS).
struct ReceivedFormat {
  media::TrackKind track = media::TrackKind::video;
  std::string codec;  // "h264" | "opus"
  std::string caps;   // GStreamer caps text: video/x-h264,stream-format=avc,alignment=au,codec_data=…
                      // or audio/x-opus,… (as opusparse gives it, like the SRT path)
  std::vector<uint8_t> codec_data;  // avcC (video); empty for Opus
  std::string profile, level;       // video
  int width = 0, height = 0;        // video
  int rate = 0, channels = 0;       // audio
};

struct PeerStats {
  uint64_t bytes_received = 0, packets_received = 0;
  uint64_t bytes_sent = 0, packets_sent = 0;
  int64_t packets_lost = 0;  // as reported by the remote (send) or seen here (receive)
  uint32_t pli_sent = 0, fir_sent = 0, nack_sent = 0;  // receive: our requests to the publisher
  uint32_t pli_received = 0, nack_received = 0;  // send: the viewer's requests (pli_received: every keyframe
                                                 // request, PLI or FIR, as on_keyframe_wanted saw them)
  double round_trip_ms = -1;                     // -1 unknown
};

class WebRtcPeer {
 public:
  struct Callbacks {
    std::function<void(PeerState, const std::string& reason)>
        on_state;                                              // reason in plain words for failed/closed
    std::function<void(const ReceivedFormat&)> on_format;      // receive
    std::function<void(media::AccessUnit)> on_unit;            // receive
    std::function<void(media::TrackKind)> on_keyframe_wanted;  // send: the viewer's PLI/FIR
    // The owner's timer (the rtc thread's): run `fn` after `delay` unless the peer is gone by then (the peer
    // guards that itself). Bounds the candidate gathering.
    std::function<void(std::chrono::milliseconds delay, std::function<void()> fn)> run_after;
  };

  // `name` goes into logs and the pipeline's name ("whip studio=3 s=ab12"). No I/O here.
  WebRtcPeer(std::string name, IceSettings ice, Direction direction, Callbacks callbacks);
  ~WebRtcPeer();  // stop()
  WebRtcPeer(const WebRtcPeer&) = delete;
  WebRtcPeer& operator=(const WebRtcPeer&) = delete;

  // Builds and starts the pipeline, applies the offer, answers it. `done` is called exactly once (any
  // thread): the Answer, or an error in plain words (code "webrtc_negotiation", "webrtc_no_candidates",
  // "webrtc_pipeline"). Call once per peer.
  void answer(const std::string& offer_sdp, const TrackChoice& tracks,
              std::function<void(core::Result<Answer>)> done);

  // Send: sends one RTP packet (transfer full) of the track now, on the calling thread: webrtcbin's send path
  // (rtpbin, SRTP, the non-blocking UDP send) runs in this call, with no queue and no thread per viewer in
  // between. Its payload type must be Answer's and its SSRC TrackChoice's; its PTS/DTS are replaced (they
  // belong to the feed's clock; webrtcbin's input clocksync would wait for them) by this pipeline's running
  // time. False (the packet dropped) until the connection is up (ICE and DTLS: before, webrtcbin would hold
  // the caller until DTLS had its keys), after stop(), or when webrtcbin refused it.
  bool push_rtp(media::TrackKind track, GstBuffer* rtp);
  // Send: the packets of one frame (transfer full) as push_rtp() would, in one push: the pad pushes and
  // locks of webrtcbin's send path run once per frame (libnice still sends packet by packet: one sendmsg each).
  bool push_rtp_list(media::TrackKind track, GstBufferList* rtp);
  // Send: whether push_rtp() would take a packet now (the connection is up and the peer not stopped). Any thread.
  bool sending() const;

  // Receive: ask the publisher for a keyframe (upstream force-key-unit → rtpsession → PLI/FIR). Rate-limit it
  // yourself (webrtc.min_keyframe_request_ms).
  void request_keyframe();

  // webrtcbin's get-stats, summed over the peer's RTP streams; `done` once, on a GStreamer thread (not at all
  // once stop() ran).
  void stats(std::function<void(PeerStats)> done);

  // Tears the pipeline down (joins its threads; tens of ms). Idempotent; after it no callback runs.
  void stop();

  struct Impl;  // internal (GStreamer signal handlers reach it)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sreda::webrtc
