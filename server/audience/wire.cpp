#include "server/audience/wire.h"

#include <algorithm>
#include <cmath>

#include "nlohmann/json.hpp"
#include "server/core/text.h"

namespace sreda::audience {
namespace {

using nlohmann::json;

Parsed refuse(std::string code, std::string message) { return Parsed{std::nullopt, {std::move(code), std::move(message)}}; }

bool valid_viewer_id(const std::string& id) {
  if (id.size() < 8 || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

bool word_byte(unsigned char c) { return c >= 0x80 || std::isalnum(c); }

}  // namespace

Cleaned clean_text(std::string_view in, size_t max_chars, bool multiline) {
  if (!core::valid_utf8(in)) return {"", WireError{"invalid_utf8", "the text is not valid UTF-8"}};
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == '\n' || c == '\t' || c == '\r') {
      if (c == '\n' && multiline) out += '\n';
      else if (c != '\r') out += ' ';
      continue;
    }
    if (c < 0x20 || c == 0x7f) continue;
    if (c == 0xc2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) < 0xa0) {  // C1: U+0080..U+009F
      ++i;
      continue;
    }
    if (c == 0xe2 && i + 2 < in.size()) {  // bidi embeddings, overrides and isolates
      auto b1 = static_cast<unsigned char>(in[i + 1]), b2 = static_cast<unsigned char>(in[i + 2]);
      if ((b1 == 0x80 && b2 >= 0xaa && b2 <= 0xae) || (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9)) {
        i += 2;
        continue;
      }
    }
    out += static_cast<char>(c);
  }
  std::string trimmed = core::trim(out);
  // Collapse blank-line runs: at most one empty line between paragraphs.
  std::string text;
  int newlines = 0;
  for (char c : trimmed) {
    newlines = c == '\n' ? newlines + 1 : 0;
    if (newlines <= 2) text += c;
  }
  if (text.empty()) return {"", WireError{"empty", "the text is empty"}};
  if (core::utf8_length(text) > max_chars)
    return {"", WireError{"too_long", "at most " + std::to_string(max_chars) + " characters"}};
  return {std::move(text), std::nullopt};
}

Parsed parse_client_message(std::string_view frame) {
  json j = json::parse(frame.begin(), frame.end(), nullptr, false);
  if (j.is_discarded()) return refuse("bad_message", "the message is not valid JSON");
  if (!j.is_object()) return refuse("bad_message", "the message must be a JSON object");
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return refuse("bad_message", "the message has no \"type\"");
  const std::string& t = type->get_ref<const std::string&>();
  ClientMessage m;
  if (t == "ping") {
    m.type = MessageType::ping;
  } else if (t == "join") {
    m.type = MessageType::join;
    auto id = j.find("event_id");
    if (id == j.end() || !id->is_number_integer() || id->get<int64_t>() < 1)
      return refuse("bad_message", "join needs a numeric event_id");
    m.event_id = id->get<int64_t>();
    // The identity is the server's viewer_token (or cookie); a plain viewer_id (older clients) is checked,
    // and the join is then that of a new viewer.
    auto viewer = j.find("viewer_id");
    if (viewer != j.end() && (!viewer->is_string() || !valid_viewer_id(viewer->get<std::string>())))
      return refuse("bad_message", "viewer_id must be 8 to 64 letters, digits, '-' or '_'");
    if (viewer != j.end()) m.viewer_id = viewer->get<std::string>();
    auto token = j.find("viewer_token");
    if (token != j.end() && !token->is_null()) {
      if (!token->is_string() || token->get<std::string>().size() > kViewerTokenMaxBytes)
        return refuse("bad_message", "viewer_token must be the text the server gave");
      m.viewer_token = token->get<std::string>();
    }
    auto nick = j.find("nick");
    if (nick == j.end() || !nick->is_string()) return refuse("bad_message", "join needs a nick");
    auto cleaned = clean_text(nick->get<std::string>(), kNickMaxChars, false);
    if (cleaned.error) return Parsed{std::nullopt, {cleaned.error->code, "nick: " + cleaned.error->message}};
    m.nick = std::move(cleaned.text);
  } else if (t == "comment") {
    m.type = MessageType::comment;
    auto text = j.find("text");
    if (text == j.end() || !text->is_string()) return refuse("bad_message", "comment needs a text");
    auto cleaned = clean_text(text->get<std::string>(), kCommentMaxChars, true);
    if (cleaned.error) return Parsed{std::nullopt, *cleaned.error};
    m.text = std::move(cleaned.text);
    auto question = j.find("question");
    if (question != j.end() && !question->is_null()) {
      if (!question->is_boolean()) return refuse("bad_message", "comment: question must be true or false");
      m.question = question->get<bool>();
    }
  } else if (t == "rate") {
    m.type = MessageType::rate;
    auto stars = j.find("stars");
    if (stars == j.end() || !stars->is_number_integer() || stars->get<int64_t>() < 1 || stars->get<int64_t>() > 5)
      return refuse("bad_message", "rate needs stars from 1 to 5");
    m.stars = static_cast<int>(stars->get<int64_t>());
  } else if (t == "playback") {
    m.type = MessageType::playback;
    auto playing = j.find("playing");
    if (playing == j.end() || !playing->is_boolean()) return refuse("bad_message", "playback needs playing: true or false");
    m.playing = playing->get<bool>();
    auto mode = j.find("mode");
    if (mode != j.end() && !mode->is_null()) {
      if (!mode->is_string() || (*mode != "live" && *mode != "archive"))
        return refuse("bad_message", "playback: mode must be \"live\" or \"archive\"");
      m.archive = *mode == "archive";
    }
    auto rendition = j.find("rendition");
    if (rendition != j.end() && !rendition->is_null()) {
      // A rendition's name: a ladder rung ("480p", "audio", "source"); what the page could not tell is null.
      if (!rendition->is_string()) return refuse("bad_message", "playback: rendition must be a name");
      const auto& name = rendition->get_ref<const std::string&>();
      if (name.empty() || name.size() > kRenditionMaxBytes ||
          !std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
          }))
        return refuse("bad_message", "playback: rendition must be 1 to 16 letters, digits, '-' or '_'");
      m.rendition = name;
    }
  } else {
    return refuse("bad_message", "unknown message type");
  }
  return Parsed{std::move(m), {}};
}

bool contains_listed_word(std::string_view text, const std::vector<std::string>& folded_words) {
  if (folded_words.empty()) return false;
  const std::string folded = core::fold_case(text);
  for (const auto& w : folded_words) {
    if (w.empty()) continue;
    for (size_t at = folded.find(w); at != std::string::npos; at = folded.find(w, at + 1)) {
      // A whole word: no letter or digit right before or after (any non-ASCII byte counts as a letter, so
      // a Cyrillic word inside a longer one does not match). Multi-byte letters are never split: the word
      // is valid UTF-8 and so starts and ends on code point boundaries.
      const bool start_ok = at == 0 || !word_byte(static_cast<unsigned char>(folded[at - 1]));
      const size_t end = at + w.size();
      const bool end_ok = end == folded.size() || !word_byte(static_cast<unsigned char>(folded[end]));
      if (start_ok && end_ok) return true;
    }
  }
  return false;
}

bool origin_allowed(std::string_view origin, std::string_view host, std::string_view allowed,
                    std::string_view public_url) {
  if (origin.empty()) return true;
  const std::string o = lower_ascii(origin);
  if (allowed.empty()) {
    const std::string h = lower_ascii(host);
    if (!h.empty() && (o == "http://" + h || o == "https://" + h)) return true;
    if (public_url.empty()) return false;
    // The origin of public_url: scheme://host[:port], without a path.
    std::string p = lower_ascii(public_url);
    auto scheme = p.find("://");
    if (scheme != std::string::npos) {
      auto slash = p.find('/', scheme + 3);
      if (slash != std::string::npos) p.resize(slash);
    }
    return o == p;
  }
  size_t start = 0;
  while (start <= allowed.size()) {
    size_t comma = allowed.find(',', start);
    std::string_view item = allowed.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::string entry = core::trim(item);
    if (entry == "*" || (!entry.empty() && lower_ascii(entry) == o)) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

int64_t RatingSummary::count() const {
  int64_t n = 0;
  for (auto v : histogram) n += v;
  return n;
}

double RatingSummary::average() const {
  int64_t n = 0, sum = 0;
  for (int i = 0; i < 5; ++i) {
    n += histogram[i];
    sum += histogram[i] * (i + 1);
  }
  return n ? std::round(static_cast<double>(sum) * 100.0 / static_cast<double>(n)) / 100.0 : 0.0;
}

std::string error_frame(const WireError& e) {
  return json{{"type", "error"}, {"code", e.code}, {"message", e.message}}.dump();
}
std::string rating_frame(const RatingSummary& r) {
  return json{{"type", "rating"}, {"average", r.average()}, {"count", r.count()}, {"histogram", r.histogram}}.dump();
}
std::string viewers_frame(int64_t count) { return json{{"type", "viewers"}, {"count", count}}.dump(); }
std::string state_frame(std::string_view state) { return json{{"type", "state"}, {"state", state}}.dump(); }
std::string removed_frame(int64_t comment_id) { return json{{"type", "comment_removed"}, {"id", comment_id}}.dump(); }
std::string answered_frame(int64_t comment_id) { return json{{"type", "comment_answered"}, {"id", comment_id}}.dump(); }

}  // namespace sreda::audience
