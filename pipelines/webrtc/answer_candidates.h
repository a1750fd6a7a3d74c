// TEMPORARY (until branch s34-sdp's server/media/sdp_answer.h is merged): the candidates webrtcbin gathered put
// into its answer text, plus a=end-of-candidates and public-address copies of host candidates.
#pragma once

#include <string>
#include <vector>

#include "server/core/result.h"

namespace sreda::webrtc {

struct CandidateLine {
  int mline = 0;
  std::string candidate;  // "candidate:1 1 UDP 2015363327 127.0.0.1 20004 typ host"
};

struct CompletedText {
  std::string sdp;
  int candidates = 0;
};

core::Result<CompletedText> complete_answer(const std::string& answer_sdp, const std::vector<CandidateLine>& candidates,
                                            const std::vector<std::string>& public_addresses);

}  // namespace sreda::webrtc
