// The picture card: the poster of an event with no picture of its own (a lecture or a reading recorded
// as sound only) — its title, studio and start time in white over its category's colour, a 640x360 JPEG
// made once on the server:
//   videotestsrc pattern=solid-color num-buffers=1 → textoverlay (pango) → videoconvert → jpegenc → filesink
// (textoverlay is in Debian's gstreamer1.0-x; scripts/setup installs it).
//
// Threads: any (blocking, well under a second).
#pragma once

#include <cstdint>
#include <string>

namespace sreda::archive {

struct CardText {
  std::string title;
  std::string studio;
  std::string category;  // schedule's categories; picks the background colour
  int64_t starts_at = 0;  // Unix seconds, shown in UTC …
  std::string when;       // … unless this says the time (a shared link's card: the city's zone, the page's language)
  std::string footer;     // a last, smaller line (the site's name), or none
};

// The card's size and type: the archive's poster card (640x360 JPEG) by default; a shared link's preview
// (server/web/share_cards.h) is 1200x630 PNG with larger type.
struct CardLayout {
  int width = 640, height = 360;
  int title_pt = 30, text_pt = 17;
  bool png = false;
};

// 0xAARRGGBB of a category (an unknown one gets "other"'s).
uint32_t category_colour(const std::string& category);
// "3 December 2026, 19:00 UTC"
std::string card_time(int64_t epoch_s);

// Writes the card to `out_path` (via `<out_path>.tmp`). Returns an error, empty on success.
std::string make_picture_card(const CardText& text, const std::string& out_path, const CardLayout& layout = {});

}  // namespace sreda::archive
