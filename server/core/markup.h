// Text for HTML or XML: a page's attributes and text, Pango markup. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace sreda::core {

// &, <, >, " and ' as entities (&#39;); control characters but tab and newline as spaces.
inline std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') ? ' ' : c;
    }
  }
  return out;
}

}  // namespace sreda::core
