#include "server/schedule/event.h"

#include <algorithm>

#include "server/core/clock.h"
#include "server/core/text.h"

namespace sreda::schedule {
namespace {

using nlohmann::json;

std::optional<std::string> check_text(const json& v, const char* field, size_t min_chars, size_t max_chars,
                                      bool multiline, std::string& out, std::vector<FieldError>& errors) {
  if (!v.is_string()) {
    errors.push_back({field, std::string(field) + " must be a string"});
    return std::nullopt;
  }
  std::string text = core::trim(v.get<std::string>());
  if (!core::valid_utf8(text)) {
    errors.push_back({field, std::string(field) + " is not valid UTF-8"});
    return std::nullopt;
  }
  if (core::has_control_chars(text, multiline)) {
    errors.push_back({field, std::string(field) + " contains control characters"});
    return std::nullopt;
  }
  size_t n = core::utf8_length(text);
  if (n < min_chars) {
    errors.push_back({field, std::string(field) + " must not be empty"});
    return std::nullopt;
  }
  if (n > max_chars) {
    errors.push_back({field, std::string(field) + " is too long: " + std::to_string(n) + " characters, at most " +
                                 std::to_string(max_chars)});
    return std::nullopt;
  }
  out = text;
  return out;
}

bool valid_language(const std::string& s) {
  // BCP 47-ish: "ru", "en", "tt", "en-GB", "sr-Latn".
  size_t i = 0;
  while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;
  if (i < 2 || i > 3) return false;
  while (i < s.size()) {
    if (s[i] != '-') return false;
    size_t b = ++i;
    while (i < s.size() && std::isalnum(static_cast<unsigned char>(s[i]))) ++i;
    if (i - b < 2 || i - b > 8) return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& categories() {
  static const std::vector<std::string> kCategories = {"concert", "master_class", "lecture", "museum_tour",
                                                       "dance",   "fine_art",     "sport",   "other"};
  return kCategories;
}

std::vector<FieldError> apply_event_fields(const json& body, bool require_all, Event& e) {
  std::vector<FieldError> errors;
  if (!body.is_object()) return {{"", "the request body must be a JSON object"}};
  static const char* kKnown[] = {"title", "description", "category", "language", "studio_id", "starts_at",
                                 "ends_at", "realtime"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return it.key() == k; }) ==
        std::end(kKnown))
      errors.push_back({it.key(), "unknown field '" + it.key() + "'"});
  }
  if (require_all) {
    for (const char* f : {"title", "category", "studio_id", "starts_at", "ends_at"})
      if (!body.contains(f)) errors.push_back({f, std::string(f) + " is required"});
  }
  if (body.contains("title")) check_text(body["title"], "title", 1, kMaxTitleChars, false, e.title, errors);
  if (body.contains("description"))
    check_text(body["description"], "description", 0, kMaxDescriptionChars, true, e.description, errors);
  if (body.contains("category")) {
    const auto& v = body["category"];
    if (!v.is_string() || std::find(categories().begin(), categories().end(), v.get<std::string>()) ==
                              categories().end()) {
      std::string list;
      for (const auto& c : categories()) list += (list.empty() ? "" : ", ") + c;
      errors.push_back({"category", "category must be one of: " + list});
    } else {
      e.category = v.get<std::string>();
    }
  }
  if (body.contains("language")) {
    const auto& v = body["language"];
    if (!v.is_string() || !valid_language(v.get<std::string>()))
      errors.push_back({"language", "language must be a language code such as \"ru\" or \"en\""});
    else
      e.language = v.get<std::string>();
  }
  if (body.contains("studio_id")) {
    const auto& v = body["studio_id"];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0)
      errors.push_back({"studio_id", "studio_id must be the id (a positive whole number) of a studio"});
    else
      e.studio_id = v.get<int64_t>();
  }
  if (body.contains("realtime")) {
    if (!body["realtime"].is_boolean())
      errors.push_back({"realtime", "realtime must be true or false"});
    else
      e.realtime = body["realtime"].get<bool>();
  }
  for (const char* f : {"starts_at", "ends_at"}) {
    if (!body.contains(f)) continue;
    const auto& v = body[f];
    std::optional<int64_t> t;
    if (v.is_string()) t = core::parse_rfc3339(v.get<std::string>());
    if (!t) {
      errors.push_back({f, std::string(f) + " must be an RFC 3339 time such as \"2026-12-01T19:00:00+03:00\""});
      continue;
    }
    (std::string(f) == "starts_at" ? e.starts_at : e.ends_at) = *t;
  }
  return errors;
}

std::vector<FieldError> check_event_times(const Event& e, int64_t now) {
  if (e.ends_at <= e.starts_at) return {{"ends_at", "ends_at must be after starts_at"}};
  if (e.ends_at - e.starts_at > kMaxEventSeconds) return {{"ends_at", "an event lasts at most 12 hours"}};
  if (e.ends_at <= now) return {{"ends_at", "ends_at is in the past"}};
  return {};
}

std::optional<FieldError> check_studio_name(const json& value, std::string& name) {
  std::vector<FieldError> errors;
  check_text(value, "name", 1, kMaxStudioNameChars, false, name, errors);
  if (!errors.empty()) return errors.front();
  return std::nullopt;
}

std::optional<FieldError> check_srt_passphrase(const json& value, std::string& passphrase) {
  if (value.is_null()) {
    passphrase.clear();
    return std::nullopt;
  }
  if (!value.is_string()) return FieldError{"srt_passphrase", "srt_passphrase must be a string or null"};
  std::string p = value.get<std::string>();
  if (p.empty()) {
    passphrase.clear();
    return std::nullopt;
  }
  if (p.size() < 10 || p.size() > 79)
    return FieldError{"srt_passphrase", "srt_passphrase must be 10 to 79 characters (or empty for none)"};
  for (char ch : p)
    if (ch < 0x21 || ch > 0x7e)
      return FieldError{"srt_passphrase", "srt_passphrase may use only latin letters, digits and punctuation"};
  passphrase = p;
  return std::nullopt;
}

json to_public_json(const Event& e) {
  json j{{"id", e.id},
         {"title", e.title},
         {"description", e.description},
         {"category", e.category},
         {"language", e.language},
         {"studio", {{"id", e.studio_id}, {"name", e.studio_name}}},
         {"starts_at", core::format_rfc3339(e.starts_at)},
         {"ends_at", core::format_rfc3339(e.ends_at)},
         {"state", to_string(e.state)},
         {"watch_url", "/watch/" + std::to_string(e.id)},
         {"ics_url", "/events/" + std::to_string(e.id) + ".ics"},
         {"realtime", e.realtime}};
  if (e.realtime) j["whep_url"] = "/whep/" + std::to_string(e.id);
  return j;
}

json to_curator_json(const Event& e) {
  json j = to_public_json(e);
  j["studio_id"] = e.studio_id;
  j["created_at"] = core::format_rfc3339(e.created_at);
  j["updated_at"] = core::format_rfc3339(e.updated_at);
  return j;
}

json to_curator_json(const Studio& s) {
  return json{{"id", s.id},
              {"name", s.name},
              {"stream_key", s.stream_key},
              {"srt_passphrase", s.srt_passphrase.empty() ? json(nullptr) : json(s.srt_passphrase)},
              {"created_at", core::format_rfc3339(s.created_at)},
              {"updated_at", core::format_rfc3339(s.updated_at)}};
}

}  // namespace sreda::schedule
