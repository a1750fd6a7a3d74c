// The words of a shared event link: what a link preview in VK or a messenger shows (the watch page's
// Open Graph and Twitter card tags, rendered by the server because previewers run no JavaScript), the
// picture card's lines and the friendly page of an unknown short link. Everything from the database goes
// through html_escape. Pure but when_text (it reads the process's time zone, server.time_zone); any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sreda::web::share {

// &, <, >, " and ' as entities; control characters (not tab or newline) as spaces.
std::string html_escape(std::string_view s);
// At most `max_chars` code points (valid UTF-8 assumed), a cut marked with "…".
std::string cut(std::string_view s, size_t max_chars);

// The page's language: `asked` (?lang=) when it is ru, en or tt, else the event's own when it is one of
// them, else Russian.
std::string pick_language(std::string_view asked, std::string_view event_language);
// The site's name in a language ("Культурная среда").
std::string site_name(std::string_view lang);
// "5 декабря 2026, 19:00 (MSK)": a time in the city's zone (the process's, server.time_zone), in a language.
std::string when_text(int64_t epoch_s, std::string_view lang);

// One event as a link preview shows it.
struct EventFacts {
  int64_t id = 0;
  std::string title;
  std::string studio;
  std::string category;
  int64_t starts_at = 0;
  std::string lang;  // pick_language's
};

// The picture card's text is the same for two events with the same fingerprint (a changed title, studio,
// category, time, language or time zone gives another).
std::string card_fingerprint(const EventFacts& e);

// The <meta>/<link> tags for a watch page's <head>: og:title, og:description (time and studio), og:url
// (the canonical /watch/<id>), og:image (`card_url`, 1200x630) with its size and alt, og:type, og:site_name,
// og:locale, twitter:card summary_large_image, <link rel="canonical"> and <link rel="shortlink"> (/e/<id>).
// `base`: the public base URL ("https://culture.example.org", no trailing slash).
std::string head_tags(const EventFacts& e, std::string_view base, std::string_view card_url);
// watch.html with the event's tags before </head> and its title in <title> (the page unchanged when it has
// no </head>).
std::string render_watch(std::string_view page, const EventFacts& e, std::string_view base, std::string_view card_url);

// The page of a short link with no event (status 404), in Russian, English and Tatar at once.
std::string not_found_page(std::string_view number);

}  // namespace sreda::web::share
