#include "server/web/share_text.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "server/core/markup.h"

namespace sreda::web::share {
namespace {

const char* const kMonthsRu[] = {"января", "февраля", "марта",    "апреля",  "мая",    "июня",
                                 "июля",   "августа", "сентября", "октября", "ноября", "декабря"};
const char* const kMonthsEn[] = {"January", "February", "March",     "April",   "May",      "June",
                                 "July",    "August",   "September", "October", "November", "December"};
const char* const kMonthsTt[] = {"гыйнвар", "февраль", "март",     "апрель",  "май",    "июнь",
                                 "июль",    "август",  "сентябрь", "октябрь", "ноябрь", "декабрь"};

std::string locale_of(std::string_view lang) {
  if (lang == "en") return "en_GB";
  if (lang == "tt") return "tt_RU";
  return "ru_RU";
}

std::string meta(std::string_view attr, std::string_view name, std::string_view content) {
  return "  <meta " + std::string(attr) + "=\"" + std::string(name) + "\" content=\"" + html_escape(content) + "\">\n";
}

}  // namespace

std::string html_escape(std::string_view s) { return core::xml_escape(s); }

std::string cut(std::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // a continuation byte
    if (chars++ == max_chars) return std::string(s.substr(0, i)) + "…";
  }
  return std::string(s);
}

std::string pick_language(std::string_view asked, std::string_view event_language) {
  for (std::string_view l : {asked, event_language})
    if (l == "ru" || l == "en" || l == "tt") return std::string(l);
  return "ru";
}

std::string site_name(std::string_view lang) {
  if (lang == "en") return "Sreda: culture online";
  if (lang == "tt") return "Мәдәни мохит";
  return "Культурная среда";
}

std::string when_text(int64_t epoch_s, std::string_view lang) {
  const std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  localtime_r(&t, &tm);
  const char* const* months = lang == "en" ? kMonthsEn : lang == "tt" ? kMonthsTt : kMonthsRu;
  char clock[8];
  std::snprintf(clock, sizeof clock, "%02d:%02d", tm.tm_hour, tm.tm_min);
  std::string out = std::to_string(tm.tm_mday) + " " + months[tm.tm_mon] + " " + std::to_string(tm.tm_year + 1900) +
                    ", " + clock;
  if (tm.tm_zone && *tm.tm_zone) out += std::string(" (") + tm.tm_zone + ")";
  return out;
}

std::string card_fingerprint(const EventFacts& e) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  const char* tz = std::getenv("TZ");
  for (const std::string& part : {e.title, e.studio, e.category, std::to_string(e.starts_at), e.lang,
                                  std::string(tz ? tz : "")}) {
    for (unsigned char c : part) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::string head_tags(const EventFacts& e, std::string_view base, std::string_view card_url) {
  const std::string id = std::to_string(e.id);
  const std::string page = std::string(base) + "/watch/" + id;
  const std::string description = when_text(e.starts_at, e.lang) + (e.studio.empty() ? "" : " · " + e.studio);
  std::string out = "  <link rel=\"canonical\" href=\"" + html_escape(page) + "\">\n";
  out += "  <link rel=\"shortlink\" href=\"" + html_escape(std::string(base) + "/e/" + id) + "\">\n";
  out += meta("name", "description", description);
  out += meta("property", "og:type", "video.other");
  out += meta("property", "og:site_name", site_name(e.lang));
  out += meta("property", "og:locale", locale_of(e.lang));
  out += meta("property", "og:title", e.title);
  out += meta("property", "og:description", description);
  out += meta("property", "og:url", page);
  out += meta("property", "og:image", card_url);
  out += meta("property", "og:image:type", "image/png");
  out += meta("property", "og:image:width", "1200");
  out += meta("property", "og:image:height", "630");
  out += meta("property", "og:image:alt", e.title + ". " + description);
  out += meta("name", "twitter:card", "summary_large_image");
  out += meta("name", "twitter:title", e.title);
  out += meta("name", "twitter:description", description);
  out += meta("name", "twitter:image", card_url);
  return out;
}

std::string render_watch(std::string_view page, const EventFacts& e, std::string_view base, std::string_view card_url) {
  const size_t head_end = page.find("</head>");
  if (head_end == std::string_view::npos) return std::string(page);
  std::string out(page.substr(0, head_end));
  // The <title> says the event (the page's script says it again in the viewer's language).
  const size_t open = out.find("<title");
  const size_t open_end = open == std::string::npos ? open : out.find('>', open);
  const size_t close = open_end == std::string::npos ? open_end : out.find("</title>", open_end);
  if (close != std::string::npos)
    out.replace(open_end + 1, close - open_end - 1, html_escape(e.title + " — " + site_name(e.lang)));
  out += head_tags(e, base, card_url);
  out += page.substr(head_end);
  return out;
}

std::string not_found_page(std::string_view number) {
  const std::string n = html_escape(cut(number, 20));
  return "<!doctype html>\n<html lang=\"ru\">\n<head>\n  <meta charset=\"utf-8\">\n"
         "  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "  <title>Нет такого события — Культурная среда</title>\n  <link rel=\"stylesheet\" href=\"/style.css\">\n"
         "</head>\n<body>\n  <main id=\"main\">\n    <h1>Нет события с номером " + n + "</h1>\n"
         "    <p>Проверьте номер в ссылке или найдите событие в программе.</p>\n"
         "    <p lang=\"en\">There is no event number " + n + ". Check the number, or find the event in the programme.</p>\n"
         "    <p lang=\"tt\">" + n + " номерлы чара юк. Сылтамадагы номерны тикшерегез яки чараны программада табыгыз.</p>\n"
         "    <p><a href=\"/\">Вся программа</a> · <a href=\"/\" lang=\"en\">The programme</a> · "
         "<a href=\"/\" lang=\"tt\">Бөтен программа</a></p>\n  </main>\n</body>\n</html>\n";
}

}  // namespace sreda::web::share
