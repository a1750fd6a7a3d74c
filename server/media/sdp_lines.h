// SDP text as lines (RFC 8866 5: "<type>=<value>", CRLF or a lone LF), for sdp_offer and sdp_answer. Pure
// helpers on string views into the caller's text; nothing here allocates per line but the vector. Any thread.
#pragma once

#include <charconv>
#include <string_view>
#include <vector>

namespace sreda::media::sdp {

// The lines of `text` without their CR/LF; a last line without a newline counts, a trailing empty one not.
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

// The whole of `s` as a decimal number (no sign, no spaces), or false.
template <class T>
bool number(std::string_view s, T* out) {
  if (s.empty() || s.front() == '-' || s.front() == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The space-separated words of `s` (runs of spaces count as one separator).
inline std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// "a=name:value" → value when `line` is that attribute (exact name), else false.
inline bool attribute(std::string_view line, std::string_view name, std::string_view* value) {
  if (line.size() < 2 + name.size() || line.substr(0, 2) != "a=" || line.substr(2, name.size()) != name)
    return false;
  std::string_view rest = line.substr(2 + name.size());
  if (rest.empty()) {
    *value = {};
    return true;
  }
  if (rest.front() != ':') return false;
  *value = rest.substr(1);
  return true;
}

}  // namespace sreda::media::sdp
