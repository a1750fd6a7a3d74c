#include "server/ingest/whip/whip_offer.h"

#include "server/media/sdp_offer.h"

namespace sreda::ingest::whip {

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
  for (const media::SdpTrack* t : {&choice->video, &choice->audio})
    if (t->present() && t->twcc_extmap_id > 0 && !out.tracks.twcc_extmap_id) out.tracks.twcc_extmap_id = t->twcc_extmap_id;
  return out;
}

}  // namespace sreda::ingest::whip
