// The answer a WHIP/WHEP client gets, completed (no trickle ICE: RFC 9725 lets the server send every
// candidate in the 201): webrtcbin's answer SDP plus the candidates it gathered, each on the m-line that
// carries its transport (with BUNDLE: the group's tagged, first m-line), `a=end-of-candidates`, and for a
// server behind a 1:1 NAT a copy of each host candidate with each public address
// (webrtc.public_addresses). Pure functions on text; the answer comes from our own webrtcbin, the
// candidate strings from its on-ice-candidate signal, yet both stay bounded (the fuzz target feeds them
// hostile text). Any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/result.h"

namespace sreda::media {

// One gathered candidate, as webrtcbin's "on-ice-candidate" gives it.
struct LocalCandidate {
  int mline_index = 0;    // the m-line it was gathered for (0-based)
  std::string candidate;  // "candidate:1 1 UDP 2015363327 192.168.1.5 20004 typ host" ("a=" accepted)
};

struct CompletedAnswer {
  std::string sdp;           // CRLF line ends
  size_t candidates = 0;     // candidate lines in the result (old, new and public copies)
  size_t public_copies = 0;  // of those, copies with a public address
  size_t ignored = 0;        // given candidates dropped: duplicate, unparsable, m-line absent or rejected
};

// webrtc.public_addresses ("203.0.113.7, 2001:db8::7") → the addresses, trimmed, empty ones and
// repeats dropped, at most 8.
std::vector<std::string> split_public_addresses(std::string_view config_value);

// `answer_sdp` with `candidates` added (duplicates of candidates already present or given twice are left
// out), `a=end-of-candidates` on every m-line that carries a transport, and per public address a copy of
// each host candidate of the same address family: that address, the same port, component and transport,
// a foundation no other candidate uses (one per original foundation and address), a priority below the
// original's. Errors: answer_too_large (over 64 KiB or 2000 lines), answer_no_media (no m-line).
core::Result<CompletedAnswer> complete_answer(std::string_view answer_sdp,
                                              const std::vector<LocalCandidate>& candidates,
                                              const std::vector<std::string>& public_addresses);

}  // namespace sreda::media
