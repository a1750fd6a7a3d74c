#include "server/ingest/srt/stream_id.h"

#include <algorithm>
#include <vector>

namespace sreda::ingest::srt {
namespace {

core::Error bad(std::string message) {
  return core::Error{"bad_streamid", std::move(message), "streamid"};
}

bool is_key_char(char c) {
  return c > 0x20 && c < 0x7f;
}

// Checks a key; returns an empty string when fine, else what is wrong.
std::string check_key(std::string_view key, bool in_item_list) {
  if (key.empty()) return "empty stream key";
  if (key.size() > max_stream_key_length) return "stream key too long";
  for (char c : key) {
    if (!is_key_char(c)) return "stream key has a space or a non-printable character";
    if (in_item_list && c == ',') return "stream key has a ','";
  }
  return {};
}

core::Result<StreamId> parse_prefixed(std::string_view text) {
  struct Prefix {
    std::string_view text;
    StreamMode mode;
  };
  static constexpr Prefix prefixes[] = {{"publish:", StreamMode::publish},
                                        {"read:", StreamMode::request},
                                        {"play:", StreamMode::request},
                                        {"request:", StreamMode::request}};
  for (const auto& p : prefixes) {
    if (text.substr(0, p.text.size()) != p.text) continue;
    std::string_view key = text.substr(p.text.size());
    if (auto problem = check_key(key, false); !problem.empty()) return bad(problem);
    return StreamId{p.mode, std::string(key)};
  }
  return bad("streamid is neither \"publish:<key>\" nor \"#!::r=<key>,m=publish\"");
}

core::Result<StreamId> parse_access_control(std::string_view items) {
  bool have_key = false;
  bool have_mode = false;
  StreamId out;
  std::vector<std::string_view> seen;
  while (true) {
    size_t comma = items.find(',');
    std::string_view item = items.substr(0, comma);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) return bad("streamid item without key=value");
    std::string_view name = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) return bad("streamid item repeated");
    seen.push_back(name);
    if (name == "r") {
      if (auto problem = check_key(value, true); !problem.empty()) return bad(problem);
      out.key = std::string(value);
      have_key = true;
    } else if (name == "m") {
      if (value == "publish") {
        out.mode = StreamMode::publish;
      } else if (value == "request") {
        out.mode = StreamMode::request;
      } else if (value == "bidirectional") {
        out.mode = StreamMode::bidirectional;
      } else {
        return bad("unknown streamid mode");
      }
      have_mode = true;
    }
    if (comma == std::string_view::npos) break;
    items.remove_prefix(comma + 1);
  }
  if (!have_key) return bad("streamid has no r=<key>");
  if (!have_mode) out.mode = StreamMode::request;  // the SRT access-control default
  return out;
}

}  // namespace

core::Result<StreamId> parse_stream_id(std::string_view text) {
  if (text.empty()) return bad("empty streamid");
  if (text.size() > max_stream_id_length) return bad("streamid too long");
  if (text.find('\0') != std::string_view::npos) return bad("streamid has a NUL byte");
  constexpr std::string_view access_control = "#!::";
  if (text.substr(0, access_control.size()) == access_control) {
    return parse_access_control(text.substr(access_control.size()));
  }
  if (text.substr(0, 2) == "#!") return bad("unsupported streamid syntax");
  return parse_prefixed(text);
}

std::string mask_key(std::string_view key) {
  size_t shown = std::min<size_t>(4, key.size() / 2);
  return printable(key.substr(0, shown), shown) + "…";
}

std::string printable(std::string_view text, size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return out;
}

}  // namespace sreda::ingest::srt
