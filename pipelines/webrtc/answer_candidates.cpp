#include "pipelines/webrtc/answer_candidates.h"

#include <sstream>

namespace sreda::webrtc {

core::Result<CompletedText> complete_answer(const std::string& answer_sdp, const std::vector<CandidateLine>& candidates,
                                            const std::vector<std::string>& public_addresses) {
  std::vector<std::string> lines;
  std::istringstream in(answer_sdp);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  // the end of the first m-section
  size_t first_m = lines.size(), end = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("m=", 0) != 0) continue;
    if (first_m == lines.size()) first_m = i;
    else { end = i; break; }
  }
  if (first_m == lines.size()) return core::Error{"answer_no_media", "the answer has no media", ""};
  std::vector<std::string> add;
  int n = 0;
  for (const auto& c : candidates) {
    std::string text = c.candidate.rfind("a=", 0) == 0 ? c.candidate.substr(2) : c.candidate;
    add.push_back("a=" + text);
    ++n;
    std::istringstream words(text);
    std::vector<std::string> w;
    for (std::string s; words >> s;) w.push_back(s);
    if (w.size() < 8 || w[7] != "host") continue;
    for (size_t p = 0; p < public_addresses.size(); ++p) {
      auto copy = w;
      copy[0] = w[0] + "9" + std::to_string(p);
      copy[4] = public_addresses[p];
      std::string joined;
      for (const auto& s : copy) joined += (joined.empty() ? "" : " ") + s;
      add.push_back("a=" + joined);
      ++n;
    }
  }
  add.push_back("a=end-of-candidates");
  lines.insert(lines.begin() + long(end), add.begin(), add.end());
  CompletedText out;
  for (const auto& l : lines) out.sdp += l + "\r\n";
  out.candidates = n;
  return out;
}

}  // namespace sreda::webrtc
