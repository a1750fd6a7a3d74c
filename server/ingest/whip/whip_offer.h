// A WHIP offer checked before the hub is asked (no port is opened for a refused publisher), with our own
// bounded parser (server/media/sdp_offer.h): the tracks we take from it (H.264 packetization-mode=1 video and
// Opus audio, their payload types, the transport-cc extension), or a refusal with its HTTP status (413/400/422)
// and a message in plain words. Pure; any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "pipelines/webrtc/webrtc_peer.h"

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

OfferCheck check_offer(std::string_view sdp, size_t max_bytes);

}  // namespace sreda::ingest::whip
