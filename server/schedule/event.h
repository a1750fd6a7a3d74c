// Studios and events as data, with the pure rules that validate them. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/schedule/event_state.h"

namespace sreda::schedule {

struct Studio {
  int64_t id = 0;
  std::string name;
  std::string stream_key;
  std::string srt_passphrase;  // empty: SRT without encryption
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct Event {
  int64_t id = 0;
  std::string title;
  std::string description;
  std::string category;
  std::string language = "ru";
  int64_t studio_id = 0;
  std::string studio_name;
  int64_t starts_at = 0;
  int64_t ends_at = 0;
  EventState state = EventState::scheduled;
  // Real time (WebRTC): the watch page offers WHEP playback (/whep/<id>) besides LL-HLS (a curator's choice,
  // e.g. master classes with questions).
  bool realtime = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct FieldError {
  std::string field;
  std::string message;
};

constexpr int64_t kMaxEventSeconds = 12 * 3600;
constexpr size_t kMaxTitleChars = 200;
constexpr size_t kMaxDescriptionChars = 5000;
constexpr size_t kMaxStudioNameChars = 100;

const std::vector<std::string>& categories();

// Applies the fields present in a JSON body onto `event` (POST: a fresh Event; PATCH: the stored one).
// Unknown fields, wrong types, bad times and bad text are reported per field; with `require_all`
// (POST) the required fields must be present. Does not check the studio exists or overlaps.
std::vector<FieldError> apply_event_fields(const nlohmann::json& body, bool require_all, Event& event);
// Rules on the whole event: end after start, at most 12 h, not over already.
std::vector<FieldError> check_event_times(const Event& event, int64_t now);

// Validates a studio name (1–100 characters of printable text), returning the trimmed name.
std::optional<FieldError> check_studio_name(const nlohmann::json& value, std::string& name);

// An SRT passphrase: empty (none) or 10–79 printable ASCII characters (libsrt's limits).
std::optional<FieldError> check_srt_passphrase(const nlohmann::json& value, std::string& passphrase);

// JSON shapes. The public one carries no stream key and no curator data.
nlohmann::json to_public_json(const Event& e);
nlohmann::json to_curator_json(const Event& e);
nlohmann::json to_curator_json(const Studio& s);

}  // namespace sreda::schedule
