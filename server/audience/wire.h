// The audience wire protocol (sreda.v1, see PROTOCOL.md): parsing of viewer messages, text cleaning and the
// server's frames. Pure functions of network input; any thread; fuzzed (tests/fuzz/fuzz_audience_wire.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sreda::audience {

constexpr size_t kNickMaxChars = 40;
constexpr size_t kCommentMaxChars = 500;
constexpr size_t kViewerTokenMaxBytes = 200;
constexpr size_t kRenditionMaxBytes = 16;

enum class MessageType { join, comment, rate, ping, playback };

struct ClientMessage {
  MessageType type = MessageType::ping;
  int64_t event_id = 0;   // join
  std::string viewer_id;  // join (optional, older clients): 8–64 of [A-Za-z0-9_-]; not an identity
  std::string viewer_token;  // join (optional): the token the server issued (welcome's viewer_token)
  std::string nick;       // join: cleaned, 1–40 characters
  std::string text;       // comment: cleaned, 1–500 characters
  bool question = false;  // comment: sent as a question (optional boolean, default false)
  int stars = 0;          // rate: 1..5
  bool playing = false;   // playback: the player plays now
  bool archive = false;   // playback: mode "archive" (else "live")
  std::string rendition;  // playback (optional): the rung playing, 1–16 of [A-Za-z0-9_-]
};

// A refusal sent to the viewer as {"type":"error","code":…,"message":…}.
struct WireError {
  std::string code;
  std::string message;
};

// Parses one text frame. Either a message or the reason it is refused (code bad_message, too_long, empty,
// invalid_utf8).
struct Parsed {
  std::optional<ClientMessage> message;
  WireError error;
};
Parsed parse_client_message(std::string_view frame);

// Validated UTF-8; control characters (C0 except newline, DEL, C1) and bidi overrides removed; white space
// trimmed; 1..max_chars code points. `multiline` keeps newlines (comments), otherwise they become spaces.
struct Cleaned {
  std::string text;
  std::optional<WireError> error;
};
Cleaned clean_text(std::string_view in, size_t max_chars, bool multiline);

// True when the (case-folded) text contains a word of the list as a whole word.
bool contains_listed_word(std::string_view text, const std::vector<std::string>& folded_words);

// Whether a browser page from `origin` may open /ws. An absent Origin (not a browser) is allowed: the
// check stops cross-site pages, which always send one. `allowed` is the comma-separated ws.allowed_origins;
// empty allows only this server's own origin: http(s)://<host> or public_url.
bool origin_allowed(std::string_view origin, std::string_view host, std::string_view allowed,
                    std::string_view public_url);

struct RatingSummary {
  std::array<int64_t, 5> histogram{};  // [0] = one star
  int64_t count() const;
  double average() const;  // 0 when nobody rated
};

// Server → viewer frames.
std::string error_frame(const WireError& e);
std::string rating_frame(const RatingSummary& r);
std::string viewers_frame(int64_t count);
std::string state_frame(std::string_view state);
std::string removed_frame(int64_t comment_id);
std::string answered_frame(int64_t comment_id);

}  // namespace sreda::audience
