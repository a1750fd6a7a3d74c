// libFuzzer target: a WHIP/WHEP offer as the network gives it — server/media's SDP parser within its bounds,
// both choosers, and the answer completion on the same text (an answer with the input's own candidates and
// two public addresses). Nothing may crash, read past the input or break a bound; what is chosen must exist
// in the offer; every refusal maps to 400, 413 or 422; completing an answer twice adds nothing the second
// time.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/media/sdp_answer.h"
#include "server/media/sdp_lines.h"
#include "server/media/sdp_offer.h"

using namespace sreda::media;

namespace {

void check_refusal(const sreda::core::Error& e) {
  const int status = sdp_refusal_status(e);
  if (status != 400 && status != 413 && status != 422) __builtin_trap();
  if (e.code.empty() || e.message.empty()) __builtin_trap();
}

void check_track(const SdpOffer& offer, const SdpTrack& t, SdpKind kind) {
  if (!t.present()) return;
  if (static_cast<size_t>(t.mline) >= offer.media.size()) __builtin_trap();
  const auto& m = offer.media[t.mline];
  if (m.kind != kind || m.rejected || !m.format(t.pt) || t.mid != m.mid) __builtin_trap();
  if (t.rtx_pt >= 0 && !m.format(t.rtx_pt)) __builtin_trap();
}

void check_offer(const SdpOffer& offer) {
  if (offer.media.size() > 4 || offer.candidates > 64) __builtin_trap();
  for (const auto& m : offer.media) {
    if (m.formats.size() > 64 || m.port < 0 || m.port > 65535) __builtin_trap();
    for (const auto& f : m.formats)
      if (f.pt < 0 || f.pt > 127 || f.rtcp_fb.size() > 16) __builtin_trap();
  }
  if (auto whip = choose_whip(offer)) {
    if (!whip->video.present() && !whip->audio.present()) __builtin_trap();
    check_track(offer, whip->video, SdpKind::video);
    check_track(offer, whip->audio, SdpKind::audio);
    if (whip->video.present() && whip->video_profile.empty()) __builtin_trap();
  } else {
    check_refusal(whip.error());
  }
  if (auto whep = choose_whep(offer)) {
    check_track(offer, whep->video, SdpKind::video);
    check_track(offer, whep->audio, SdpKind::audio);
  } else {
    check_refusal(whep.error());
  }
}

// The input's own a=candidate lines, each with the index of the m-line it stands under.
std::vector<LocalCandidate> candidates_of(std::string_view text) {
  std::vector<LocalCandidate> out;
  int mline = -1;
  for (auto line : sdp::split_lines(text)) {
    if (line.substr(0, 2) == "m=") ++mline;
    if (line.substr(0, 12) == "a=candidate:" && out.size() < 300)
      out.push_back({mline, std::string(line.substr(2))});
  }
  return out;
}

void check_answer(std::string_view text) {
  const auto given = candidates_of(text);
  const std::vector<std::string> public_addresses{"203.0.113.7", "2001:db8::7"};
  auto first = complete_answer(text, given, public_addresses);
  if (!first) return;
  const std::string& sdp = first->sdp;
  for (size_t i = 0; i < sdp.size(); ++i)
    if (sdp[i] == '\n' && (i == 0 || sdp[i - 1] != '\r')) __builtin_trap();
  if (first->public_copies > first->candidates) __builtin_trap();
  auto again = complete_answer(sdp, given, public_addresses);
  if (!again) return;  // the first pass may have grown it past a bound
  if (again->sdp != sdp || again->public_copies != 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto offer = parse_sdp_offer(text, 16384)) {
    check_offer(*offer);
  } else {
    check_refusal(offer.error());
  }
  check_answer(text);
  return 0;
}
