// Studios and events in SQLite. Store thread only (every function takes the store's Db).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "server/schedule/event.h"
#include "server/store/db.h"

namespace sreda::schedule {

std::vector<Studio> list_studios(store::Db& db);
std::optional<Studio> find_studio(store::Db& db, int64_t id);
std::optional<Studio> find_studio_by_name(store::Db& db, const std::string& name);
std::optional<Studio> find_studio_by_key(store::Db& db, const std::string& stream_key);
// A new stream key: 192 random bits as 32 URL-safe characters, never starting with '-' or '_'.
std::string new_stream_key();
Studio create_studio(store::Db& db, const std::string& name, int64_t now);
void rename_studio(store::Db& db, int64_t id, const std::string& name, int64_t now);
void set_studio_passphrase(store::Db& db, int64_t id, const std::string& passphrase, int64_t now);
std::string rotate_studio_key(store::Db& db, int64_t id, int64_t now);
int64_t count_studio_events(store::Db& db, int64_t studio_id);
void delete_studio(store::Db& db, int64_t id);

std::optional<Event> find_event(store::Db& db, int64_t id);
// Events of the studio, not cancelled, overlapping [starts_at, ends_at), other than `except_id`.
std::optional<Event> find_overlap(store::Db& db, int64_t studio_id, int64_t starts_at, int64_t ends_at,
                                  int64_t except_id);
Event insert_event(store::Db& db, Event e, int64_t now);
void update_event(store::Db& db, const Event& e, int64_t now);
void set_event_state(store::Db& db, int64_t id, EventState state, int64_t now);
void delete_event(store::Db& db, int64_t id);

// The event a publishing studio goes live with: not cancelled or over, and now within
// [starts_at - 30 min, ends_at + 60 min]; one in intermission (a reconnect) first, then the soonest.
std::optional<Event> find_current_event(store::Db& db, int64_t studio_id, int64_t now);
// For studios.allow_unscheduled: an event titled after the studio, from now for up to 4 hours (shorter
// when the studio's next event starts sooner).
Event create_adhoc_event(store::Db& db, const Studio& studio, int64_t now);
// Events a crash or stop left live or in intermission.
std::vector<Event> find_unfinished_events(store::Db& db);

struct EventQuery {
  std::string when;      // "" (all), "live", "upcoming", "archive", "calendar"
  std::string category;  // "" = any
  std::string q;         // "" = any; matched case-insensitively in title and description
  int64_t studio_id = 0; // 0 = any
  int page = 1;
  int page_size = 20;
};
struct EventPage {
  std::vector<Event> events;
  int64_t total = 0;
};
EventPage query_events(store::Db& db, const EventQuery& q, int64_t now);

}  // namespace sreda::schedule
