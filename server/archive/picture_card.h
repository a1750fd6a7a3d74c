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
  int64_t starts_at = 0;  // Unix seconds, shown in UTC
};

// 0xAARRGGBB of a category (an unknown one gets "other"'s).
uint32_t category_colour(const std::string& category);
// "3 December 2026, 19:00 UTC"
std::string card_time(int64_t epoch_s);

// Writes the card to `out_path` (via `<out_path>.tmp`). Returns an error, empty on success.
std::string make_picture_card(const CardText& text, const std::string& out_path);

}  // namespace sreda::archive
