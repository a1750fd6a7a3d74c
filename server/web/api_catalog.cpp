// Studios, events and the public programme: the Api's handlers on the store thread.
#include <algorithm>
#include <cmath>

#include "server/audience/report_store.h"
#include "server/audience/storage.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/schedule/catalog.h"
#include "server/store/db.h"
#include "server/web/api.h"
#include "server/web/http_rules.h"

namespace sreda::web {
namespace {

using nlohmann::json;
using schedule::EventState;
using schedule::FieldError;

HttpResponse no_studio(int64_t id) {
  return HttpResponse::error(404, "not_found", "no studio with id " + std::to_string(id));
}
HttpResponse no_event(int64_t id) { return HttpResponse::error(404, "not_found", "no event with id " + std::to_string(id)); }

HttpResponse invalid(const std::vector<FieldError>& errors) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& e : errors) pairs.emplace_back(e.field, e.message);
  return field_errors(422, "invalid", pairs);
}

HttpResponse overlap_error(const schedule::Event& other) {
  return HttpResponse::error(409, "overlap",
                             "the studio already has \"" + other.title + "\" from " +
                                 core::format_rfc3339(other.starts_at) + " to " + core::format_rfc3339(other.ends_at),
                             "starts_at");
}

std::optional<FieldError> unknown_fields(const json& body, std::initializer_list<const char*> known) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) return FieldError{it.key(), "unknown field '" + it.key() + "'"};
  }
  return std::nullopt;
}

}  // namespace

void Api::add_live_fields(nlohmann::json& event) const {
  if (!schedule::on_air(schedule::event_state(event.value("state", "")))) return;
  const int64_t id = event["id"].get<int64_t>();
  event["viewers"] = audience_ ? audience_->viewers(id) : 0;
  // The latest poster frame (refreshed every few seconds), once the live output has made one.
  auto output = live_outputs_ ? live_outputs_->find(id) : nullptr;
  event["poster"] = output && output->poster() ? json("/live/" + std::to_string(id) + "/poster.jpg") : json(nullptr);
}

bool Api::sound_only(const nlohmann::json& event) const {
  if (!schedule::on_air(schedule::event_state(event.value("state", "")))) return false;
  auto output = live_outputs_ ? live_outputs_->find(event["id"].get<int64_t>()) : nullptr;
  if (!output) return false;
  // Every rendition configured (its codecs known) and none with H.264: before that, no decision (no card).
  const auto names = output->rendition_names();
  return !names.empty() && std::all_of(names.begin(), names.end(), [&](const std::string& name) {
    auto p = output->rendition(name);
    const std::string codecs = p ? p->variant_info().codecs : "";
    return !codecs.empty() && codecs.find("avc1") == std::string::npos;
  });
}

// ---- studios ----

HttpResponse Api::list_studios(Call& c) {
  json out = json::array();
  for (const auto& s : schedule::list_studios(c.db)) out.push_back(studio_json(c.db, s, relays_));
  return HttpResponse::json(200, {{"studios", out}});
}

HttpResponse Api::get_studio(Call& c) {
  auto s = schedule::find_studio(c.db, c.ids[0]);
  if (!s) return no_studio(c.ids[0]);
  return HttpResponse::json(200, studio_json(c.db, *s, relays_));
}

HttpResponse Api::create_studio(Call& c) {
  if (auto u = unknown_fields(c.body, {"name", "srt_passphrase"})) return invalid({*u});
  if (!c.body.contains("name")) return invalid({{"name", "name is required"}});
  std::string name, passphrase;
  if (auto e = schedule::check_studio_name(c.body["name"], name)) return invalid({*e});
  if (c.body.contains("srt_passphrase"))
    if (auto e = schedule::check_srt_passphrase(c.body["srt_passphrase"], passphrase)) return invalid({*e});
  store::Transaction tx(c.db);
  if (schedule::find_studio_by_name(c.db, name))
    return HttpResponse::error(409, "exists", "a studio named \"" + name + "\" already exists", "name");
  auto s = schedule::create_studio(c.db, name, c.now);
  if (!passphrase.empty()) {
    schedule::set_studio_passphrase(c.db, s.id, passphrase, c.now);
    s.srt_passphrase = passphrase;
  }
  tx.commit();
  keys_.put(s.stream_key, {s.id, s.name, s.srt_passphrase});
  core::Logger("studios").info(c.who->username + " created studio " + std::to_string(s.id) + " \"" + name + "\"");
  return HttpResponse::json(201, studio_json(c.db, s, relays_));
}

HttpResponse Api::patch_studio(Call& c) {
  if (auto u = unknown_fields(c.body, {"name", "srt_passphrase", "pull_url"})) return invalid({*u});
  store::Transaction tx(c.db);
  auto s = schedule::find_studio(c.db, c.ids[0]);
  if (!s) return no_studio(c.ids[0]);
  std::optional<std::string> pull;  // the new pulled source ("": none), when it changes
  if (c.body.contains("pull_url"))
    if (auto r = check_pull_url(c.body["pull_url"], s->id, c.db, pull)) return *r;
  if (c.body.contains("name")) {
    std::string name;
    if (auto e = schedule::check_studio_name(c.body["name"], name)) return invalid({*e});
    auto same = schedule::find_studio_by_name(c.db, name);
    if (same && same->id != s->id)
      return HttpResponse::error(409, "exists", "a studio named \"" + name + "\" already exists", "name");
    schedule::rename_studio(c.db, s->id, name, c.now);
  }
  if (c.body.contains("srt_passphrase")) {
    std::string passphrase;
    if (auto e = schedule::check_srt_passphrase(c.body["srt_passphrase"], passphrase)) return invalid({*e});
    schedule::set_studio_passphrase(c.db, s->id, passphrase, c.now);
  }
  if (pull) set_pull_url(c, s->id, *pull);
  tx.commit();
  if (pull && relays_) relays_->pull_changed(s->id, *pull);
  auto updated = *schedule::find_studio(c.db, s->id);
  keys_.put(updated.stream_key, {updated.id, updated.name, updated.srt_passphrase});
  return HttpResponse::json(200, studio_json(c.db, updated, relays_));
}

HttpResponse Api::delete_studio(Call& c) {
  store::Transaction tx(c.db);
  auto s = schedule::find_studio(c.db, c.ids[0]);
  if (!s) return no_studio(c.ids[0]);
  if (int64_t n = schedule::count_studio_events(c.db, s->id))
    return HttpResponse::error(409, "in_use",
                               "the studio has " + std::to_string(n) + " event(s); delete or move them first");
  schedule::delete_studio(c.db, s->id);
  tx.commit();
  keys_.remove_studio(s->id);
  if (relays_) relays_->pull_changed(s->id, "");  // a pulled studio's puller stops
  core::Logger("studios").info(c.who->username + " deleted studio " + std::to_string(s->id));
  return HttpResponse::json(200, {{"deleted", s->id}});
}

HttpResponse Api::rotate_key(Call& c) {
  store::Transaction tx(c.db);
  auto s = schedule::find_studio(c.db, c.ids[0]);
  if (!s) return no_studio(c.ids[0]);
  auto key = schedule::rotate_studio_key(c.db, s->id, c.now);
  tx.commit();
  keys_.put(key, {s->id, s->name, s->srt_passphrase});  // the old key stops working for the next publish
  core::Logger("studios").info(c.who->username + " rotated the stream key of studio " + std::to_string(s->id));
  return HttpResponse::json(200, studio_json(c.db, *schedule::find_studio(c.db, s->id), relays_));
}

// ---- events ----

HttpResponse Api::list_events(Call& c) {
  schedule::EventQuery q;
  q.when = c.request.query_value("when");
  if (!q.when.empty() && q.when != "live" && q.when != "upcoming" && q.when != "archive")
    return HttpResponse::error(400, "bad_query", "when must be live, upcoming or archive", "when");
  q.page_size = 500;
  if (auto sid = c.request.query_value("studio_id"); !sid.empty()) {
    try {
      q.studio_id = std::stoll(sid);
    } catch (const std::exception&) {
      return HttpResponse::error(400, "bad_query", "studio_id must be a number", "studio_id");
    }
  }
  auto page = schedule::query_events(c.db, q, c.now);
  json out = json::array();
  for (const auto& e : page.events) out.push_back(schedule::to_curator_json(e));
  return HttpResponse::json(200, {{"events", out}, {"total", page.total}});
}

HttpResponse Api::get_event(Call& c) {
  auto e = schedule::find_event(c.db, c.ids[0]);
  if (!e) return no_event(c.ids[0]);
  return HttpResponse::json(200, schedule::to_curator_json(*e));
}

HttpResponse Api::create_event(Call& c) {
  schedule::Event e;
  auto errors = schedule::apply_event_fields(c.body, true, e);
  if (!errors.empty()) return invalid(errors);
  errors = schedule::check_event_times(e, c.now);
  if (!errors.empty()) return invalid(errors);
  store::Transaction tx(c.db);
  auto studio = schedule::find_studio(c.db, e.studio_id);
  if (!studio) return invalid({{"studio_id", "no studio with id " + std::to_string(e.studio_id)}});
  if (auto other = schedule::find_overlap(c.db, e.studio_id, e.starts_at, e.ends_at, 0)) return overlap_error(*other);
  e = schedule::insert_event(c.db, e, c.now);
  tx.commit();
  core::Logger("events").info(c.who->username + " scheduled event " + std::to_string(e.id));
  return HttpResponse::json(201, schedule::to_curator_json(*schedule::find_event(c.db, e.id)));
}

HttpResponse Api::patch_event(Call& c) {
  store::Transaction tx(c.db);
  auto found = schedule::find_event(c.db, c.ids[0]);
  if (!found) return no_event(c.ids[0]);
  schedule::Event e = *found;
  auto errors = schedule::apply_event_fields(c.body, false, e);
  if (!errors.empty()) return invalid(errors);
  const bool times_changed =
      e.starts_at != found->starts_at || e.ends_at != found->ends_at || e.studio_id != found->studio_id;
  const auto state = found->state;
  if (state == EventState::cancelled || state == EventState::ended || state == EventState::archived)
    return HttpResponse::error(409, "wrong_state",
                               "a " + std::string(schedule::to_string(state)) + " event cannot be edited");
  if (times_changed && state != EventState::scheduled)
    return HttpResponse::error(
        409, "wrong_state",
        "the time and studio of a " + std::string(schedule::to_string(state)) + " event cannot be changed",
        "starts_at");
  if (times_changed) {
    errors = schedule::check_event_times(e, c.now);
    if (!errors.empty()) return invalid(errors);
    if (!schedule::find_studio(c.db, e.studio_id))
      return invalid({{"studio_id", "no studio with id " + std::to_string(e.studio_id)}});
    if (auto other = schedule::find_overlap(c.db, e.studio_id, e.starts_at, e.ends_at, e.id))
      return overlap_error(*other);
  }
  schedule::update_event(c.db, e, c.now);
  tx.commit();
  return HttpResponse::json(200, schedule::to_curator_json(*schedule::find_event(c.db, e.id)));
}

HttpResponse Api::cancel_event(Call& c) {
  store::Transaction tx(c.db);
  auto e = schedule::find_event(c.db, c.ids[0]);
  if (!e) return no_event(c.ids[0]);
  const auto state = e->state;
  if (state == EventState::cancelled) return HttpResponse::json(200, schedule::to_curator_json(*e));  // idempotent
  if (!schedule::can_change(state, EventState::cancelled))
    return HttpResponse::error(409, "wrong_state",
                               "a " + std::string(schedule::to_string(state)) + " event cannot be cancelled");
  schedule::set_event_state(c.db, e->id, EventState::cancelled, c.now);
  tx.commit();
  core::Logger("events").info(c.who->username + " cancelled event " + std::to_string(e->id));
  return HttpResponse::json(200, schedule::to_curator_json(*schedule::find_event(c.db, e->id)));
}

HttpResponse Api::delete_event(Call& c) {
  store::Transaction tx(c.db);
  auto e = schedule::find_event(c.db, c.ids[0]);
  if (!e) return no_event(c.ids[0]);
  if (schedule::on_air(e->state))
    return HttpResponse::error(409, "wrong_state", "a live event cannot be deleted; end it first");
  // Delete means deleted: the recording goes with the event (files, exports, poster: every URL to it).
  if (archive_ && archive_->recording_stats(e->id))
    return HttpResponse::error(409, "wrong_state", "the event's recording is still being written; try again in a moment");
  if (archive_) archive_->remove(c.db, e->id, "event deleted by " + c.who->username);
  audience::keep_report(c.db, e->id, c.now);  // its figures stay in the season reports
  schedule::delete_event(c.db, e->id);
  tx.commit();
  core::Logger("events").info(c.who->username + " deleted event " + std::to_string(e->id));
  return HttpResponse::json(200, {{"deleted", e->id}});
}

HttpResponse Api::end_event(Call& c) {
  auto e = schedule::find_event(c.db, c.ids[0]);
  if (!e) return no_event(c.ids[0]);
  if (!schedule::on_air(e->state))
    return HttpResponse::error(409, "wrong_state",
                               "the event is " + std::string(schedule::to_string(e->state)) + ", not live");
  if (!hub_) return HttpResponse::error(503, "unavailable", "live events are not handled by this server");
  core::Logger("events").info(c.who->username + " ends event " + std::to_string(e->id));
  hub_->end_event(e->id, [reply = c.reply, id = e->id](bool was_live) {
    if (!was_live) return reply(HttpResponse::error(409, "wrong_state", "the event is not live"));
    reply(HttpResponse::json(200, {{"id", id}, {"state", schedule::to_string(EventState::ended)}}));
  });
  return deferred();
}

HttpResponse Api::live_event(Call& c) {
  auto e = schedule::find_event(c.db, c.ids[0]);
  if (!e) return no_event(c.ids[0]);
  json base = {{"event_id", e->id}, {"state", e->state}, {"publisher", nullptr}};
  json recording = nullptr;  // the archive's view of the live event: is it being recorded, and well?
  if (archive_) {
    if (auto r = archive_->recording_stats(e->id))
      recording = {{"state", archive::to_string(r->state)}, {"duration_s", r->duration_s}, {"bytes", r->bytes},
                   {"error", r->last_error.empty() ? json(nullptr) : json(r->last_error)}};
  }
  base["recording"] = recording;
  // Audience refusals on this server by cause (rate limits, slow mode, bans, the rating cap…), for people.
  json refusals = nullptr;
  if (audience_) {
    const auto& tally = audience_->refusals();
    refusals = {{"window_s", tally.window_ms() / 1000}, {"counts", tally.counts(core::now_ms())}};
  }
  base["audience_refusals"] = refusals;
  // And the server's own (HTTP port, studios' ports) by cause: floods a curator should know about.
  json server_refusals = nullptr;
  if (server_refusals_) {
    json http = json::object(), ingest = json::object();
    for (const auto& r : server_refusals_->counts(core::now_ms())) {
      auto label = [&](const char* name) {
        auto it = r.labels.find(name);
        return it == r.labels.end() ? std::string("other") : it->second;
      };
      if (r.family == "sreda_http_refused_total") http[label("cause")] = r.count;
      else ingest[label("protocol")][label("reason")] = r.count;
    }
    server_refusals = {{"window_s", server_refusals_->window_ms() / 1000}, {"http", http}, {"ingest", ingest}};
  }
  base["server_refusals"] = server_refusals;
  json relays = relays_live_json(c.db, *e);  // each relay's state in words, bytes sent, reconnects
  base["relays"] = relays;
  if (!hub_) return HttpResponse::json(200, base);
  auto output = live_outputs_ ? live_outputs_->find(e->id) : nullptr;
  hub_->live_info(e->id, [reply = c.reply, base, output, recording, refusals, server_refusals,
                          relays](std::optional<json> info) {
    json body = info ? *info : base;
    if (info) body["relays"] = relays;
    if (info) body["recording"] = recording;
    if (info) body["audience_refusals"] = refusals;
    if (info) body["advice"] = describe_stream_advice(*info);
    if (info) body["server_refusals"] = server_refusals;
    if (output) {
      // Each rendition's health: the source (passed through) and every ladder rung.
      json renditions = json::array();
      for (const auto& h : output->health()) {
        json r = {{"name", h.name},           {"encoded", h.encoded},
                  {"width", h.width},         {"height", h.height},
                  {"active", h.active},       {"fps", std::round(h.fps * 10) / 10},
                  {"kbps", std::round(h.kbps)}, {"bandwidth", h.bandwidth},
                  {"average_bandwidth", h.average_bandwidth}};
        if (h.encoded) {
          r["target_kbps"] = h.target_kbps;
          r["queue_depth"] = h.queue_depth;
          r["frames"] = h.frames;
          r["dropped_frames"] = h.dropped_frames;
        }
        renditions.push_back(std::move(r));
      }
      body["renditions"] = std::move(renditions);
      if (auto choice = output->ladder_choice()) {
        json left = json::array();
        for (const auto& l : choice->left_out) left.push_back({{"rung", l.rung}, {"reason", l.reason}});
        body["ladder"] = {{"name", choice->ladder}, {"source_kbps", choice->source_kbps}, {"rungs", choice->rungs},
                          {"left_out", left}};
      }
    }
    reply(HttpResponse::json(200, body));
  });
  return deferred();
}

// ---- public ----

HttpResponse Api::public_events(Call& c) {
  schedule::EventQuery q;
  q.when = c.request.query_value("when");
  if (q.when.empty()) q.when = "upcoming";
  if (q.when != "live" && q.when != "upcoming" && q.when != "archive")
    return HttpResponse::error(400, "bad_query", "when must be live, upcoming or archive", "when");
  q.category = c.request.query_value("category");
  const auto& cats = schedule::categories();
  if (!q.category.empty() && std::find(cats.begin(), cats.end(), q.category) == cats.end())
    return HttpResponse::error(400, "bad_query", "unknown category '" + q.category + "'", "category");
  q.q = c.request.query_value("q");
  if (q.q.size() > 200) return HttpResponse::error(400, "bad_query", "search text too long", "q");
  if (auto p = c.request.query_value("page"); !p.empty()) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(p, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != p.size() || v < 1 || v > 100000)
      return HttpResponse::error(400, "bad_query", "page must be a whole number from 1", "page");
    q.page = static_cast<int>(v);
  }
  auto page = schedule::query_events(c.db, q, c.now);
  json out = json::array();
  for (const auto& e : page.events) {
    out.push_back(schedule::to_public_json(e));
    out.back()["rating"] = audience::rating_json(audience::rating_summary(c.db, e.id));
    if (e.state == EventState::archived) add_recording_fields(c.db, archive_, out.back());
    add_live_fields(out.back());
    if (sound_only(out.back())) add_picture_card(c.db, archive_, out.back());
  }
  auto r = HttpResponse::json(200, {{"events", out},
                                    {"when", q.when},
                                    {"page", q.page},
                                    {"page_size", q.page_size},
                                    {"total", page.total}});
  set_caching(r, Caching::short_lived, 5);
  allow_any_origin(r);
  return r;
}

HttpResponse Api::public_event(Call& c) {
  auto e = schedule::find_event(c.db, c.ids[0]);
  if (!e) return no_event(c.ids[0]);
  json out = schedule::to_public_json(*e);
  out["rating"] = audience::rating_json(audience::rating_summary(c.db, e->id));
  if (e->state == EventState::archived) add_recording_fields(c.db, archive_, out);
  add_live_fields(out);
  if (sound_only(out)) add_picture_card(c.db, archive_, out);
  add_wish_field(c.db, out);
  auto r = HttpResponse::json(200, out);
  set_caching(r, Caching::short_lived, 5);
  allow_any_origin(r);
  return r;
}

}  // namespace sreda::web
