#include "server/store/migrations.h"

#include <algorithm>
#include <string>
#include <vector>

namespace sreda::store {
namespace {

// Never edit a released step: add a new one. Times are Unix seconds (UTC); ids are integers.
const std::vector<const char*> kSteps = {
    // 1: curators, sessions, studios, events.
    R"sql(
CREATE TABLE curators (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'curator')),
  created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  curator_id INTEGER NOT NULL REFERENCES curators(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expires_at);
CREATE TABLE studios (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,  -- case-folded name (Cyrillic too), so "Заря" and "заря" are one studio
  stream_key TEXT NOT NULL UNIQUE,
  srt_passphrase TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL,
  language TEXT NOT NULL,
  studio_id INTEGER NOT NULL REFERENCES studios(id),
  starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'scheduled'
    CHECK (state IN ('scheduled', 'live', 'intermission', 'ended', 'archived', 'cancelled')),
  search_text TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX events_studio_time ON events(studio_id, starts_at);
CREATE INDEX events_state_time ON events(state, starts_at);
)sql",
    // 2: the audience channel: comments stamped with media time, ratings, bans, word lists, slow mode,
    // and who moderated what. Comment ids are assigned by the web thread (max(id)+1 at start).
    R"sql(
CREATE TABLE comments (
  id INTEGER PRIMARY KEY,
  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  viewer_id TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  nick TEXT NOT NULL,
  text TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  media_ms INTEGER,
  status TEXT NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'hidden', 'held'))
);
CREATE INDEX comments_event_media ON comments(event_id, media_ms);
CREATE INDEX comments_event_id ON comments(event_id, id);
CREATE TABLE ratings (
  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  viewer_id TEXT NOT NULL,
  stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (event_id, viewer_id)
);
CREATE TABLE audience_bans (
  id INTEGER PRIMARY KEY,
  event_id INTEGER REFERENCES events(id) ON DELETE CASCADE,  -- NULL: every event
  kind TEXT NOT NULL CHECK (kind IN ('viewer', 'address')),
  value TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX audience_bans_unique ON audience_bans(IFNULL(event_id, 0), kind, value);
CREATE TABLE audience_settings (
  event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
  slow_mode_s INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE audience_words (
  language TEXT NOT NULL,
  word TEXT NOT NULL,
  PRIMARY KEY (language, word)
);
CREATE TABLE moderation_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  curator TEXT NOT NULL,
  action TEXT NOT NULL,
  event_id INTEGER,
  target TEXT NOT NULL DEFAULT ''
);
)sql",
    // 3: recordings (the archive). events.state already allows 'archived' (step 1's CHECK).
    R"sql(
CREATE TABLE recordings (
  event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
  renditions TEXT NOT NULL DEFAULT '[]',  -- JSON array of rendition names
  duration_ms INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  poster TEXT,                            -- URL of a still picture, null when there is none
  repaired INTEGER NOT NULL DEFAULT 0,    -- closed by the start-up recovery after a crash
  error TEXT NOT NULL DEFAULT '',         -- why the recording stopped early (disk full…)
  trim_start_ms INTEGER,                  -- public VOD starts at the segment holding this time
  trim_end_ms INTEGER,                    -- …and ends with the segment holding this one
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX recordings_created ON recordings(created_at);
)sql",
    // 4: the artist's view link: a random token per studio, separate from the stream key (it lets the
    // performer read their studio's page, never publish). NULL until first asked for (GET /api/studios/{id}).
    R"sql(
ALTER TABLE studios ADD COLUMN view_token TEXT;
CREATE UNIQUE INDEX studios_view_token ON studios(view_token);
)sql",
    // 5: questions: a viewer may send a comment as a question; the artist (view link) or a curator marks it
    // answered (answered_at in Unix milliseconds, NULL while open; answered_by: a curator's name or
    // "studio <id>").
    R"sql(
ALTER TABLE comments ADD COLUMN question INTEGER NOT NULL DEFAULT 0 CHECK (question IN (0, 1));
ALTER TABLE comments ADD COLUMN answered_at INTEGER;
ALTER TABLE comments ADD COLUMN answered_by TEXT;
)sql",
    // 6: event ids are never reused (AUTOINCREMENT), so a new event never takes a deleted event's id and
    // with it that event's recording folder, links or audience. SQLite cannot add AUTOINCREMENT to a
    // table: it is rebuilt (foreign keys are off while migrating: migrate()). Ids deleted before this
    // step are remembered as far as the moderation log still names them.
    R"sql(
CREATE TABLE events_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL,
  language TEXT NOT NULL,
  studio_id INTEGER NOT NULL REFERENCES studios(id),
  starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'scheduled'
    CHECK (state IN ('scheduled', 'live', 'intermission', 'ended', 'archived', 'cancelled')),
  search_text TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO events_new (id, title, description, category, language, studio_id, starts_at, ends_at, state,
                        search_text, created_at, updated_at)
  SELECT id, title, description, category, language, studio_id, starts_at, ends_at, state, search_text,
         created_at, updated_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_studio_time ON events(studio_id, starts_at);
CREATE INDEX events_state_time ON events(state, starts_at);
INSERT INTO sqlite_sequence (name, seq) SELECT 'events', 0
  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT IFNULL(MAX(event_id), 0) FROM moderation_log))
  WHERE name = 'events';
)sql",
    // 7: viewer identity the server issues: a rating remembers the address group it came from and whether
    // it counts in the public rating (ws.max_ratings_per_address); a viewer ban also holds the address
    // group the viewer was last seen at (banned with it, so a fresh viewer id does not evade it).
    R"sql(
ALTER TABLE ratings ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE ratings ADD COLUMN counted INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1));
ALTER TABLE audience_bans ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX comments_viewer ON comments(viewer_id);
CREATE INDEX ratings_viewer ON ratings(viewer_id);
)sql",
    // 8: relays. A push target belongs to one event, or to a studio as a default for its events (one id
    // space; url holds the stream key: shown masked). A studio may take its source from a partner's stream
    // (pull_url, a secret too; NULL: it publishes itself).
    R"sql(
CREATE TABLE relays (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id INTEGER REFERENCES events(id) ON DELETE CASCADE,
  studio_id INTEGER REFERENCES studios(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  rendition TEXT NOT NULL DEFAULT 'source',
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK ((event_id IS NULL) <> (studio_id IS NULL))
);
CREATE INDEX relays_event ON relays(event_id);
CREATE INDEX relays_studio ON relays(studio_id);
ALTER TABLE studios ADD COLUMN pull_url TEXT;
)sql",
    // 9: curators' reports, aggregated as they are collected (never a row per request). An event's report
    // row is kept when the event is deleted (no foreign key; event ids are never reused, step 6), with the
    // title, category and studio copied in, and its comment and rating figures copied at deletion
    // (NULL while the event exists: read from comments and ratings), so season totals keep it.
    // report_samples: one row per reports.sample_s while the event is on air (its timeline);
    // report_watched: milliseconds watched per rendition, live or archive; report_viewers: the anonymous
    // viewer ids that played (unique viewers), bounded by the audience, not by requests.
    R"sql(
CREATE TABLE event_reports (
  event_id INTEGER PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '',
  studio_id INTEGER NOT NULL DEFAULT 0,
  studio_name TEXT NOT NULL DEFAULT '',
  held_at INTEGER NOT NULL,           -- the first sample on air (else the scheduled start), Unix s
  peak_viewers INTEGER NOT NULL DEFAULT 0,
  peak_at INTEGER,                    -- Unix ms of the first sample with the peak
  peak_estimate INTEGER NOT NULL DEFAULT 0,
  archive_starts INTEGER NOT NULL DEFAULT 0,
  archive_plays INTEGER NOT NULL DEFAULT 0,
  deleted_at INTEGER,                 -- the event was deleted (its figures below were copied then)
  comments INTEGER, questions INTEGER, answered INTEGER,
  rating_count INTEGER, rating_sum INTEGER
);
CREATE INDEX event_reports_held ON event_reports(held_at);
CREATE TABLE report_samples (
  event_id INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  state TEXT NOT NULL,
  viewers INTEGER NOT NULL,
  renditions TEXT NOT NULL DEFAULT '{}',
  players_estimate INTEGER,
  comments INTEGER NOT NULL DEFAULT 0,
  questions INTEGER NOT NULL DEFAULT 0,
  bitrate_kbps INTEGER NOT NULL DEFAULT 0,
  reconnects INTEGER NOT NULL DEFAULT 0,
  dropped INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX report_samples_event ON report_samples(event_id, at_ms);
CREATE TABLE report_watched (
  event_id INTEGER NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('live', 'archive')),
  rendition TEXT NOT NULL,
  ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id, mode, rendition)
) WITHOUT ROWID;
CREATE TABLE report_viewers (
  event_id INTEGER NOT NULL,
  viewer_id TEXT NOT NULL,
  PRIMARY KEY (event_id, viewer_id)
) WITHOUT ROWID;
)sql",
    // 10: residents' wishes for what to show next, and their votes. A wish keeps its counted votes as an
    // aggregate (votes); each vote row exists only to make one vote per viewer id and to cap one address group
    // (core::limit_key, as ratings keep it: step 7): counted = 0 beyond ws.max_ratings_per_address. status as
    // comments': held by the word lists, hidden by a curator; only visible wishes are listed. A curator's public
    // reply, and the event that answers the wish (NULL when none, or when that event is deleted).
    R"sql(
CREATE TABLE wishes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  text TEXT NOT NULL,
  category TEXT NOT NULL,
  viewer_id TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'hidden', 'held')),
  votes INTEGER NOT NULL DEFAULT 0,
  reply TEXT NOT NULL DEFAULT '',
  event_id INTEGER REFERENCES events(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX wishes_top ON wishes(status, votes, id);
CREATE INDEX wishes_address ON wishes(address, created_at);
CREATE INDEX wishes_event ON wishes(event_id);
CREATE TABLE wish_votes (
  wish_id INTEGER NOT NULL REFERENCES wishes(id) ON DELETE CASCADE,
  viewer_id TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  counted INTEGER NOT NULL DEFAULT 1 CHECK (counted IN (0, 1)),
  at INTEGER NOT NULL,
  PRIMARY KEY (wish_id, viewer_id)
) WITHOUT ROWID;
CREATE INDEX wish_votes_address ON wish_votes(wish_id, address, counted);
)sql",
    // 11: real time per event (WebRTC, issue 24): a curator's flag; the watch page of a realtime event offers
    // WHEP playback (POST /whep/<event id>), with LL-HLS as the fallback and for everyone else.
    R"sql(
ALTER TABLE events ADD COLUMN realtime INTEGER NOT NULL DEFAULT 0 CHECK (realtime IN (0, 1));
)sql",
};

int user_version(Db& db) {
  auto st = db.prepare("PRAGMA user_version");
  st.step();
  return static_cast<int>(st.int64(0));
}

}  // namespace

int latest_schema_version() { return static_cast<int>(kSteps.size()); }

core::Result<int> migrate(Db& db, int up_to) {
  const int found = user_version(db);
  if (found > latest_schema_version()) {
    return core::Error{"schema_too_new",
                       "the database has schema version " + std::to_string(found) + " but this sreda knows only up to " +
                           std::to_string(latest_schema_version()) +
                           ": it was written by a newer sreda; run that version or restore a backup",
                       ""};
  }
  const int last = up_to < 0 ? latest_schema_version() : std::min(up_to, latest_schema_version());
  if (found >= last) return found;
  // A step may rebuild a table (SQLite's way to change a column): with foreign keys on, dropping the old
  // table would delete every row that refers to it. They are off while migrating (a pragma that only
  // takes effect outside a transaction), and each step checks them before it commits.
  (void)db.exec("PRAGMA foreign_keys=OFF");
  core::Result<int> result = found;
  for (int v = found; v < last; ++v) {
    const std::string to = std::to_string(v + 1);
    auto fail = [&](const std::string& why) {
      (void)db.exec("ROLLBACK");
      return core::Error{"migration_failed", "schema migration to version " + to + " failed: " + why, ""};
    };
    if (auto r = db.exec(std::string("BEGIN IMMEDIATE;\n") + kSteps[v] + "\nPRAGMA user_version = " + to + ";"); !r) {
      result = fail(r.error().message);
      break;
    }
    auto check = db.prepare("PRAGMA foreign_key_check");
    if (check.step()) {
      result = fail("a row of " + check.text(0) + " refers to a missing " + check.text(2));
      break;
    }
    if (auto r = db.exec("COMMIT"); !r) {
      result = fail(r.error().message);
      break;
    }
  }
  (void)db.exec("PRAGMA foreign_keys=ON");
  return result;
}

}  // namespace sreda::store
