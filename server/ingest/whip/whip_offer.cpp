// Interim: a minimal chooser until server/media/sdp_offer.h (the sdp helper's bounded parser) is merged.
#include "server/ingest/whip/whip_offer.h"

#include <cctype>
#include <string>
#include <vector>

namespace sreda::ingest::whip {

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
int to_int(std::string_view s) {
  int v = 0;
  if (s.empty() || s.size() > 3) return -1;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}
}  // namespace

OfferCheck check_offer(std::string_view sdp) {
  OfferCheck out;
  auto refuse = [&](int status, const char* code, std::string message) {
    out.refusal = OfferRefusal{status, code, std::move(message)};
    return out;
  };
  if (sdp.substr(0, 4) != "v=0\r" && sdp.substr(0, 4) != "v=0\n") return refuse(400, "bad_sdp", "the offer is not SDP");
  struct Section {
    std::string kind;
    std::vector<int> formats;
    std::vector<std::pair<int, std::string>> rtpmap, fmtp;
    int twcc = 0;
    bool sends = true;
    bool simulcast = false;
  };
  std::vector<Section> sections;
  size_t pos = 0, lines = 0;
  while (pos < sdp.size()) {
    size_t end = sdp.find('\n', pos);
    if (end == std::string_view::npos) end = sdp.size();
    std::string line(sdp.substr(pos, end - pos));
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (++lines > 2000 || line.size() > 1024) return refuse(400, "bad_sdp", "the offer has too many or too long lines");
    if (line.rfind("m=", 0) == 0) {
      Section s;
      size_t sp = line.find(' ');
      s.kind = line.substr(2, sp == std::string::npos ? std::string::npos : sp - 2);
      // m=<kind> <port> <proto> <fmt> …
      size_t p = line.find(' ', sp + 1);
      p = line.find(' ', p == std::string::npos ? p : p + 1);
      while (p != std::string::npos && p < line.size()) {
        size_t q = line.find(' ', p + 1);
        int f = to_int(line.substr(p + 1, q == std::string::npos ? std::string::npos : q - p - 1));
        if (f >= 0) s.formats.push_back(f);
        p = q;
      }
      sections.push_back(std::move(s));
      continue;
    }
    if (sections.empty()) continue;
    Section& s = sections.back();
    if (line.rfind("a=rtpmap:", 0) == 0 || line.rfind("a=fmtp:", 0) == 0) {
      const bool map = line[2] == 'r';
      size_t colon = line.find(':'), sp = line.find(' ');
      if (sp == std::string::npos) continue;
      int pt = to_int(line.substr(colon + 1, sp - colon - 1));
      (map ? s.rtpmap : s.fmtp).push_back({pt, lower(line.substr(sp + 1))});
    } else if (line.rfind("a=extmap:", 0) == 0 && line.find("transport-wide-cc") != std::string::npos) {
      size_t sp = line.find(' ');
      std::string id = line.substr(9, sp == std::string::npos ? std::string::npos : sp - 9);
      if (size_t slash = id.find('/'); slash != std::string::npos) id.resize(slash);
      s.twcc = std::max(0, to_int(id));
    } else if (line == "a=recvonly" || line == "a=inactive") {
      s.sends = false;
    } else if (line.rfind("a=simulcast", 0) == 0 || line.rfind("a=rid:", 0) == 0) {
      s.simulcast = true;
    }
  }
  int videos = 0, audios = 0;
  bool h264_offered = false;
  for (const Section& s : sections) {
    if (s.kind != "video" && s.kind != "audio") continue;
    if (!s.sends) continue;
    if (s.simulcast) return refuse(422, "simulcast", "simulcast is not supported: turn off simulcast in the encoder");
    if (s.kind == "video" && ++videos > 1) return refuse(422, "tracks", "send one video track, not more");
    if (s.kind == "audio" && ++audios > 1) return refuse(422, "tracks", "send one audio track, not more");
    for (int f : s.formats) {
      std::string map, fmtp;
      for (const auto& [pt, text] : s.rtpmap)
        if (pt == f) map = text;
      for (const auto& [pt, text] : s.fmtp)
        if (pt == f) fmtp = text;
      if (s.kind == "video" && map.rfind("h264/90000", 0) == 0) {
        h264_offered = true;
        if (fmtp.find("packetization-mode=1") == std::string::npos) continue;
        if (out.tracks.video_pt < 0) out.tracks.video_pt = f;
      } else if (s.kind == "audio" && map.rfind("opus/48000", 0) == 0 && out.tracks.audio_pt < 0) {
        out.tracks.audio_pt = f;
      }
    }
    if (s.twcc && !out.tracks.twcc_extmap_id) out.tracks.twcc_extmap_id = s.twcc;
  }
  if (videos && out.tracks.video_pt < 0)
    return refuse(422, "codec", h264_offered ? "H.264 must use packetization-mode=1"
                                             : "this browser or encoder cannot send H.264: send H.264 video");
  if (audios && out.tracks.audio_pt < 0) return refuse(422, "codec", "send Opus audio");
  if (out.tracks.video_pt < 0 && out.tracks.audio_pt < 0)
    return refuse(422, "tracks", "the offer sends neither video nor audio");
  return out;
}

}  // namespace sreda::ingest::whip
