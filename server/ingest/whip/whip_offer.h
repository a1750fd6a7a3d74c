// A WHIP offer checked before the hub is asked (no port is opened for a refused publisher): the tracks we take
// from it (H.264 packetization-mode=1 video and Opus audio, their payload types, the transport-cc extension),
// or a refusal with its HTTP status (400 unreadable SDP, 422 what we cannot take: no H.264, simulcast, more
// than one audio or video track…) and a message in plain words. Pure; any thread.
#pragma once

#include <string_view>

#include "pipelines/webrtc/webrtc_peer.h"
#include "server/core/result.h"

namespace sreda::ingest::whip {

struct OfferRefusal {
  int status = 422;
  std::string code;
  std::string message;
};

struct OfferCheck {
  webrtc::TrackChoice tracks;  // pt -1: the kind is absent
  std::optional<OfferRefusal> refusal;
};

OfferCheck check_offer(std::string_view sdp);

}  // namespace sreda::ingest::whip
