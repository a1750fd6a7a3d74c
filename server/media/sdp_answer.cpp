#include "server/media/sdp_answer.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include "server/media/sdp_lines.h"

namespace sreda::media {
namespace {

using sdp::number;

constexpr size_t kMaxAnswerBytes = 64 * 1024;
constexpr size_t kMaxAnswerLines = 2000;
constexpr size_t kMaxCandidateBytes = 1024;
constexpr size_t kMaxGivenCandidates = 256;
constexpr size_t kMaxPublicAddresses = 8;

// "candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [extensions]"
// (RFC 8839 5.1), as the words of the part after "candidate:".
struct Candidate {
  std::vector<std::string_view> w;
  uint32_t priority = 0;
  bool ok = false;
  std::string_view foundation() const { return w[0]; }
  std::string_view address() const { return w[4]; }
  std::string_view type() const { return w[7]; }
};

Candidate parse_candidate(std::string_view line) {
  Candidate c;
  if (line.substr(0, 2) == "a=") line.remove_prefix(2);
  if (line.substr(0, 10) != "candidate:") return c;
  c.w = sdp::words(line.substr(10));
  unsigned component = 0, port = 0;
  c.ok = c.w.size() >= 8 && !c.w[0].empty() && c.w[0].size() <= 32 && number(c.w[1], &component) &&
         component >= 1 && component <= 256 && number(c.w[3], &c.priority) && !c.w[4].empty() &&
         number(c.w[5], &port) && port <= 65535 && c.w[6] == "typ";
  return c;
}

// What makes two candidates the same: all but the foundation and the priority.
std::string candidate_key(const Candidate& c) {
  std::string key(c.w[1]);
  for (size_t i = 2; i < c.w.size(); ++i) {
    if (i == 3) continue;
    key += ' ';
    if (i == 2) {
      for (char ch : c.w[2]) key += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    } else {
      key += c.w[i];
    }
  }
  return key;
}

enum class Family { none, v4, v6 };
Family family_of(std::string_view address) {
  if (address.find(':') != std::string_view::npos) return Family::v6;
  if (!address.empty() && std::all_of(address.begin(), address.end(),
                                      [](char ch) { return (ch >= '0' && ch <= '9') || ch == '.'; }))
    return Family::v4;
  return Family::none;  // an mDNS name or garbage: no public copy
}

struct Section {
  std::vector<std::string> lines;  // lines[0] is the m= line (the session section has none)
  std::string mid;
  bool rejected = false;           // port 0 and not bundle-only
  size_t target = 0;               // the section whose transport it uses (itself unless bundled)
  std::vector<std::string> added;  // candidate lines to add
};

bool is_candidate_line(std::string_view line) {
  return line.substr(0, 12) == "a=candidate:";
}

}  // namespace

std::vector<std::string> split_public_addresses(std::string_view config_value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= config_value.size() && out.size() < kMaxPublicAddresses) {
    size_t end = config_value.find(',', start);
    if (end == std::string_view::npos) end = config_value.size();
    std::string one(sdp::trim(config_value.substr(start, end - start)));
    if (!one.empty() && one.find(' ') == std::string::npos &&
        std::find(out.begin(), out.end(), one) == out.end())
      out.push_back(std::move(one));
    start = end + 1;
  }
  return out;
}

core::Result<CompletedAnswer> complete_answer(std::string_view answer_sdp,
                                              const std::vector<LocalCandidate>& candidates,
                                              const std::vector<std::string>& public_addresses) {
  if (answer_sdp.size() > kMaxAnswerBytes)
    return core::Error{"answer_too_large", "the SDP answer is larger than 64 KiB", ""};
  const auto lines = sdp::split_lines(answer_sdp);
  if (lines.size() > kMaxAnswerLines)
    return core::Error{"answer_too_large", "the SDP answer has more than 2000 lines", ""};

  // Sections: [0] the session, then one per m= line.
  std::vector<Section> sections(1);
  for (auto line : lines) {
    if (line.empty()) continue;
    if (line.substr(0, 2) == "m=") {
      sections.emplace_back();
      const auto w = sdp::words(line.substr(2));
      sections.back().rejected = w.size() >= 2 && w[1] == "0";
    }
    std::string_view value;
    if (sections.size() > 1 && sdp::attribute(line, "mid", &value)) sections.back().mid = sdp::trim(value);
    if (sections.size() > 1 && sdp::attribute(line, "bundle-only", &value)) sections.back().rejected = false;
    sections.back().lines.emplace_back(line);
  }
  if (sections.size() < 2) return core::Error{"answer_no_media", "the SDP answer has no m-line", ""};
  for (size_t i = 1; i < sections.size(); ++i) sections[i].target = i;

  // BUNDLE groups (RFC 9143): every member uses the transport of the group's first (tagged) m-line.
  for (const auto& line : sections[0].lines) {
    std::string_view value;
    if (!sdp::attribute(line, "group", &value)) continue;
    const auto w = sdp::words(value);
    if (w.empty() || w[0] != "BUNDLE") continue;
    size_t tag = 0;
    for (size_t k = 1; k < w.size(); ++k)
      for (size_t i = 1; i < sections.size(); ++i) {
        if (sections[i].mid.empty() || sections[i].mid != w[k]) continue;
        if (tag == 0 && !sections[i].rejected) tag = i;
        if (tag != 0) sections[i].target = tag;
      }
  }
  auto carries_transport = [&](size_t i) { return sections[i].target == i && !sections[i].rejected; };

  // What is there already: candidates per transport (for duplicates) and every foundation.
  std::set<std::pair<size_t, std::string>> seen;
  std::set<std::string, std::less<>> foundations;
  for (size_t i = 1; i < sections.size(); ++i)
    for (const auto& line : sections[i].lines) {
      if (!is_candidate_line(line)) continue;
      const auto c = parse_candidate(line);
      if (!c.ok) continue;
      seen.emplace(sections[i].target, candidate_key(c));
      foundations.emplace(c.foundation());
    }

  CompletedAnswer result;
  const size_t given = std::min(candidates.size(), kMaxGivenCandidates);
  result.ignored = candidates.size() - given;
  for (size_t n = 0; n < given; ++n) {
    const auto& lc = candidates[n];
    std::string_view text = sdp::trim(lc.candidate);
    if (text.substr(0, 2) == "a=") text.remove_prefix(2);
    const auto c = text.size() <= kMaxCandidateBytes ? parse_candidate(text) : Candidate{};
    const size_t index = static_cast<size_t>(lc.mline_index) + 1;
    if (!c.ok || lc.mline_index < 0 || index >= sections.size() ||
        text.find_first_of("\r\n") != std::string_view::npos) {
      ++result.ignored;
      continue;
    }
    const size_t target = sections[index].target;
    if (!carries_transport(target) || !seen.emplace(target, candidate_key(c)).second) {
      ++result.ignored;
      continue;
    }
    foundations.emplace(c.foundation());
    sections[target].added.push_back("a=" + std::string(text));
  }

  // Public copies of the host candidates (old and new), one new foundation per (foundation, address).
  std::map<std::pair<std::string, std::string>, std::string> public_foundation;
  uint64_t next_foundation = 1;
  for (size_t i = 1; i < sections.size(); ++i) {
    if (!carries_transport(i) || public_addresses.empty()) continue;
    std::vector<std::string> hosts;
    for (const auto& line : sections[i].lines)
      if (is_candidate_line(line)) hosts.push_back(line);
    hosts.insert(hosts.end(), sections[i].added.begin(), sections[i].added.end());
    for (const auto& line : hosts) {
      const auto c = parse_candidate(line);
      if (!c.ok || c.type() != "host") continue;
      for (size_t k = 0; k < public_addresses.size(); ++k) {
        const auto& address = public_addresses[k];
        if (family_of(address) == Family::none || family_of(address) != family_of(c.address()) ||
            address == c.address())
          continue;
        auto& foundation = public_foundation[{std::string(c.foundation()), address}];
        if (foundation.empty()) {
          while (foundations.count(std::to_string(next_foundation)) != 0) ++next_foundation;
          foundation = std::to_string(next_foundation);
          foundations.insert(foundation);
        }
        const uint32_t step = 256u * static_cast<uint32_t>(k + 1);
        const uint32_t priority = c.priority > step ? c.priority - step : c.priority / 2;
        std::string copy = "a=candidate:" + foundation + " " + std::string(c.w[1]) + " " +
                           std::string(c.w[2]) + " " + std::to_string(priority) + " " + address + " " +
                           std::string(c.w[5]);
        for (size_t j = 6; j < c.w.size(); ++j) copy += " " + std::string(c.w[j]);
        if (!seen.emplace(i, candidate_key(parse_candidate(copy))).second) continue;
        sections[i].added.push_back(std::move(copy));
        ++result.public_copies;
      }
    }
  }

  // Out: new candidates after the section's last candidate (or at its end), then end-of-candidates.
  for (size_t i = 0; i < sections.size(); ++i) {
    auto& s = sections[i];
    if (i > 0 && carries_transport(i)) {
      auto end = std::find(s.lines.begin(), s.lines.end(), "a=end-of-candidates");
      const bool had_end = end != s.lines.end();
      auto last = std::find_if(s.lines.rbegin(), s.lines.rend(),
                               [](const std::string& l) { return is_candidate_line(l); });
      auto at = last != s.lines.rend() ? last.base() : end;
      if (had_end && at > end) at = end;
      s.lines.insert(at, s.added.begin(), s.added.end());
      if (!had_end) s.lines.push_back("a=end-of-candidates");
    }
    for (const auto& line : s.lines) {
      result.sdp += line;
      result.sdp += "\r\n";
      if (is_candidate_line(line)) ++result.candidates;
    }
  }
  return result;
}

}  // namespace sreda::media
