// Text checks for user input. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace sreda::core {

bool valid_utf8(std::string_view s);
// Number of code points (assumes valid UTF-8).
size_t utf8_length(std::string_view s);
// True when the text holds C0/C1 control characters or DEL; newline and tab allowed when multiline.
bool has_control_chars(std::string_view s, bool multiline);
// Trims ASCII white space at both ends.
std::string trim(std::string_view s);
// Text from the network made safe for one log line: C0 controls, DEL and C1 controls become \n, \r, \t
// or \xHH (C1 as \u00HH), invalid UTF-8 bytes \xHH; the rest (backslash included) is kept as is. With
// `max_bytes`, the input is cut there first (on a code point boundary) and "…" marks the cut.
std::string escape_for_log(std::string_view s, size_t max_bytes = std::string_view::npos);
// Lower-cases ASCII, Latin-1 letters and Cyrillic (incl. Ё), for case-insensitive search.
std::string fold_case(std::string_view s);

}  // namespace sreda::core
