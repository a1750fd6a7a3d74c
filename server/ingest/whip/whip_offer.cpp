#include "server/ingest/whip/whip_offer.h"

#include "server/media/sdp_offer.h"

namespace sreda::ingest::whip {

namespace {
constexpr std::string_view kTwccUri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
}  // namespace

OfferCheck check_offer(std::string_view sdp, size_t max_bytes) {
  OfferCheck out;
  auto refuse = [&](const core::Error& e) {
    out.refusal = OfferRefusal{media::sdp_refusal_status(e), e.code, e.message};
    return out;
  };
  auto offer = media::parse_sdp_offer(sdp, max_bytes);
  if (!offer) return refuse(offer.error());
  auto choice = media::choose_whip(*offer);
  if (!choice) return refuse(choice.error());
  out.tracks.video_pt = choice->video.pt;
  out.tracks.audio_pt = choice->audio.pt;
  // The transport-wide-cc extension of the chosen (bundled) tracks: TWCC feedback lets the sender ramp up.
  for (const media::SdpTrack* t : {&choice->video, &choice->audio}) {
    if (!t->present() || out.tracks.twcc_extmap_id) continue;
    for (const auto& ext : offer->media[static_cast<size_t>(t->mline)].extmaps)
      if (ext.uri == kTwccUri) out.tracks.twcc_extmap_id = ext.id;
  }
  return out;
}

}  // namespace sreda::ingest::whip
