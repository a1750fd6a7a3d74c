// libFuzzer target: the audience wire parser on arbitrary frames. Whatever parses must hold the protocol's
// promises: cleaned text is valid UTF-8 without control characters, within its length; a refusal has a code.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/audience/wire.h"
#include "server/core/text.h"

using namespace sreda::audience;

namespace {
void check_text(const std::string& t, size_t max, bool multiline) {
  if (t.empty() || !sreda::core::valid_utf8(t) || sreda::core::utf8_length(t) > max ||
      sreda::core::has_control_chars(t, multiline))
    __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  Parsed p = parse_client_message(frame);
  if (!p.message) {
    if (p.error.code.empty() || p.error.message.empty()) __builtin_trap();
  } else {
    const ClientMessage& m = *p.message;
    if (m.type == MessageType::join) {
      check_text(m.nick, kNickMaxChars, false);
      // viewer_id is optional (the identity is the server's token or cookie); when given it is 8 to 64 chars.
      if (m.event_id < 1 || (!m.viewer_id.empty() && (m.viewer_id.size() < 8 || m.viewer_id.size() > 64)))
        __builtin_trap();
    }
    if (m.type == MessageType::comment) check_text(m.text, kCommentMaxChars, true);
    if (m.type == MessageType::rate && (m.stars < 1 || m.stars > 5)) __builtin_trap();
  }
  // The raw bytes as text of either kind: cleaned or refused, never anything else.
  for (bool multiline : {false, true}) {
    Cleaned c = clean_text(frame, kCommentMaxChars, multiline);
    if (!c.error) check_text(c.text, kCommentMaxChars, multiline);
  }
  contains_listed_word(frame, {"дурак", "a"});
  origin_allowed(frame, "localhost:8080", "", "");
  return 0;
}
