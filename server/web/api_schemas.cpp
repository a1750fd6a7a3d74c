// The shapes the API's table names (JSON Schema 2020-12) and the OpenAPI 3.1 document built from the table.
// A response shape is strict (unevaluatedProperties: false): a field added to an answer must be added here,
// or tests/integration/test_openapi.py fails.
#include "server/web/api_schemas.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

namespace sreda::web {
namespace {

using nlohmann::json;

// components: schemas, parameters, responses, securitySchemes.
const char* const kComponents = R"json({
"securitySchemes": {
  "curatorToken": {"type": "http", "scheme": "bearer",
    "description": "The token of POST /api/login, as Authorization: Bearer <token>."},
  "viewLink": {"type": "apiKey", "in": "query", "name": "t",
    "description": "The studio's artist's view token: the t of its view_url, /studio/<id>?t=<token>."}
},
"parameters": {
  "When": {"name": "when", "in": "query", "description": "Which part of the programme (upcoming when not given).",
    "schema": {"enum": ["live", "upcoming", "archive"], "default": "upcoming"}},
  "CuratorWhen": {"name": "when", "in": "query", "description": "Which part of the programme (every event when not given).",
    "schema": {"enum": ["live", "upcoming", "archive"]}},
  "StudioId": {"name": "studio_id", "in": "query", "description": "Only this studio's events.",
    "schema": {"type": "integer"}},
  "Category": {"name": "category", "in": "query", "schema": {"$ref": "#/components/schemas/Category"}},
  "Q": {"name": "q", "in": "query", "description": "Words to look for in the title and description.",
    "schema": {"type": "string", "maxLength": 200}},
  "Page": {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
  "FromMs": {"name": "from_ms", "in": "query", "description": "From this media time (ms into the recording).",
    "schema": {"type": "integer", "minimum": 0}},
  "ToMs": {"name": "to_ms", "in": "query", "description": "Until this media time (ms).",
    "schema": {"type": "integer", "minimum": 0}},
  "ReplayLimit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200}},
  "CommentLimit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 1000}},
  "LogEventId": {"name": "event_id", "in": "query", "description": "Only what was done in this event.",
    "schema": {"type": "integer", "minimum": 1}},
  "LogLimit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 500}},
  "Rendition": {"name": "rendition", "in": "query",
    "description": "Which rendition: source when it has video, else the video rendition with the highest bitrate, else the audio.",
    "schema": {"type": "string"}},
  "ReportFrom": {"name": "from", "in": "query",
    "description": "The first day (server.time_zone), YYYY-MM-DD; default: 365 days before to.",
    "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}},
  "ReportTo": {"name": "to", "in": "query", "description": "The last day, included (YYYY-MM-DD); default: now.",
    "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}},
  "ReportGroup": {"name": "group", "in": "query", "description": "How events are grouped (months in server.time_zone).",
    "schema": {"enum": ["category", "studio", "month"], "default": "category"}},
  "Part": {"name": "part", "in": "query",
    "description": "Which part, from 1: a studio that came back with other settings splits the recording into parts.",
    "schema": {"type": "integer", "minimum": 1, "default": 1}}
},
"responses": {
  "ReportCsv": {
    "description": "CSV (RFC 4180, a header row first), as an attachment",
    "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
    "content": {"text/csv": {"schema": {"type": "string", "contentMediaType": "text/csv"}}}
  },
  "RecordingFile": {
    "description": "The MP4 (video) or M4A (sound only), as an attachment named event-<id>-<rendition>[-part<N>-of-<M>].mp4",
    "headers": {
      "X-Recording-Part": {"description": "N of M", "schema": {"type": "string", "pattern": "^[0-9]+ of [0-9]+$"}},
      "X-Recording-Covers-S": {"description": "The seconds of the recording this part covers: <from>-<to> of <total>",
        "schema": {"type": "string"}},
      "Content-Disposition": {"schema": {"type": "string"}}
    },
    "content": {
      "video/mp4": {"schema": {"type": "string", "contentMediaType": "video/mp4"}},
      "audio/mp4": {"schema": {"type": "string", "contentMediaType": "audio/mp4"}}
    }
  }
},
"schemas": {
  "Time": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{3})?Z$"},
  "Id": {"type": "integer", "minimum": 1},
  "Error": {"type": "object", "required": ["error"], "additionalProperties": false,
    "description": "Every error: a code for programs, a message for people, the bad field (every one in fields).",
    "properties": {"error": {"type": "object", "required": ["code", "message"], "additionalProperties": false,
      "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "object", "required": ["field", "message"],
          "additionalProperties": false, "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
        "retry_after_s": {"type": "integer", "minimum": 0}}}}},
  "Ok": {"type": "object", "required": ["ok"], "additionalProperties": false, "properties": {"ok": {"const": true}}},
  "Deleted": {"type": "object", "required": ["deleted"], "additionalProperties": false,
    "properties": {"deleted": {"$ref": "#/components/schemas/Id"}}},
  "OpenApiDocument": {"type": "object", "required": ["openapi", "info", "paths", "components"],
    "properties": {"openapi": {"const": "3.1.0"}, "info": {"type": "object"}, "paths": {"type": "object"},
      "components": {"type": "object"}}},
  "Ingest": {"type": "object", "additionalProperties": false,
    "required": ["host", "rtmp_port", "srt_port", "rtmp_server", "srt_url_prefix", "whip_url_prefix"],
    "properties": {"host": {"type": "string"}, "rtmp_port": {"type": "integer"}, "srt_port": {"type": "integer"},
      "rtmp_server": {"type": "string", "pattern": "^rtmp://.+/live$"},
      "srt_url_prefix": {"type": "string", "pattern": "^srt://.+\\?streamid=publish:$"},
      "whip_url_prefix": {"type": ["string", "null"], "pattern": "^https?://.+/whip/$",
        "description": "WHIP (RFC 9725): POST an SDP offer to this + the studio id, with Authorization: Bearer <stream key>; null when WebRTC is off"}}},

  "LoginRequest": {"type": "object", "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
  "Login": {"type": "object", "required": ["token", "expires_at", "curator"], "additionalProperties": false,
    "properties": {"token": {"type": "string", "minLength": 1}, "expires_at": {"$ref": "#/components/schemas/Time"},
      "curator": {"$ref": "#/components/schemas/Curator"}}},
  "Role": {"enum": ["curator", "admin"]},
  "Curator": {"type": "object", "required": ["id", "username", "role", "created_at"], "additionalProperties": false,
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "username": {"type": "string"},
      "role": {"$ref": "#/components/schemas/Role"}, "created_at": {"$ref": "#/components/schemas/Time"}}},
  "CuratorList": {"type": "object", "required": ["curators"], "additionalProperties": false,
    "properties": {"curators": {"type": "array", "items": {"$ref": "#/components/schemas/Curator"}}}},
  "CuratorNew": {"type": "object", "required": ["username", "password"], "additionalProperties": false,
    "properties": {"username": {"type": "string"}, "password": {"type": "string"},
      "role": {"$ref": "#/components/schemas/Role", "default": "curator"}}},

  "Studio": {"type": "object", "additionalProperties": false,
    "required": ["id", "name", "stream_key", "srt_passphrase", "created_at", "updated_at", "view_url"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
      "stream_key": {"type": "string", "minLength": 1}, "srt_passphrase": {"type": ["string", "null"]},
      "created_at": {"$ref": "#/components/schemas/Time"}, "updated_at": {"$ref": "#/components/schemas/Time"},
      "view_url": {"type": "string", "pattern": "^/studio/[0-9]+\\?t=[A-Za-z0-9_-]+$"},
      "pull_url": {"type": ["string", "null"], "description": "the partner's stream this studio pulls, its secrets masked; null: the studio publishes"},
      "pull": {"$ref": "#/components/schemas/PullStatus"}}},
  "PullStatus": {"type": "object", "additionalProperties": false,
    "required": ["url", "state", "last_error", "bytes_received", "reconnects", "variant"],
    "description": "while the studio's source is pulled",
    "properties": {"url": {"type": "string", "description": "the pulled URL, its secrets masked"},
      "state": {"enum": ["waiting", "connecting", "receiving", "reconnecting"]},
      "last_error": {"type": ["string", "null"]}, "bytes_received": {"type": "integer", "minimum": 0},
      "reconnects": {"type": "integer", "minimum": 0},
      "variant": {"type": ["string", "null"], "description": "HLS: which variant is pulled"}}},
  "StudioList": {"type": "object", "required": ["studios"], "additionalProperties": false,
    "properties": {"studios": {"type": "array", "items": {"$ref": "#/components/schemas/Studio"}}}},
  "StudioPatch": {"type": "object", "additionalProperties": false,
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
      "srt_passphrase": {"type": "string", "description": "10 to 79 characters; empty for none"},
      "pull_url": {"type": ["string", "null"],
        "description": "srt:// (caller or mode=listener), rtmp(s):// or an HLS playlist URL the studio's source is pulled from while its event is scheduled; null or empty: the studio publishes itself"}}},
  "StudioNew": {"type": "object", "additionalProperties": false, "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
      "srt_passphrase": {"type": "string", "description": "10 to 79 characters; empty for none"}}},

  "Relay": {"type": "object", "additionalProperties": false,
    "required": ["id", "name", "url", "rendition", "enabled", "studio_default"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string", "minLength": 1, "maxLength": 80},
      "url": {"type": "string", "description": "the target's address with its stream key, passphrase and other secrets masked"},
      "rendition": {"type": "string", "description": "source or a ladder rung's name"},
      "enabled": {"type": "boolean"},
      "studio_default": {"type": "boolean", "description": "true: a default of the event's studio (edited under /api/studios/{id}/relays)"}}},
  "RelayList": {"type": "object", "required": ["relays", "max_per_event", "renditions"], "additionalProperties": false,
    "properties": {"relays": {"type": "array", "items": {"$ref": "#/components/schemas/Relay"}},
      "renditions": {"type": "array", "items": {"type": "string"}, "description": "what a relay may send: source, then the rungs of the studio's ladder"},
      "max_per_event": {"type": "integer", "minimum": 0, "description": "relays.max_per_event"}}},
  "RelayPatch": {"type": "object", "additionalProperties": false,
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 80},
      "url": {"type": "string", "description": "rtmp://host/app/key, rtmps://host/app/key or srt://host:port?streamid=…&passphrase=…; the masked form as given back: unchanged"},
      "rendition": {"type": "string", "default": "source", "description": "source or a rung of the studio's ladder"},
      "enabled": {"type": "boolean", "default": true}}},
  "RelayNew": {"allOf": [{"$ref": "#/components/schemas/RelayPatch"}], "required": ["name", "url"]},
  "RelayTestRequest": {"type": "object", "required": ["url"], "additionalProperties": false,
    "properties": {"url": {"type": "string"}}},
  "RelayTest": {"type": "object", "required": ["ok", "what"], "additionalProperties": false,
    "properties": {"ok": {"type": "boolean"}, "what": {"type": "string", "description": "what happened, in words (connected, refused: …, no answer within 10 s)"}}},
  "RelayLive": {"type": "object", "additionalProperties": false,
    "required": ["id", "name", "url", "rendition", "enabled", "studio_default", "state", "last_error", "bytes_sent",
      "uptime_s", "reconnects", "dropped_units"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"}, "url": {"type": "string"},
      "rendition": {"type": "string"}, "enabled": {"type": "boolean"}, "studio_default": {"type": "boolean"},
      "state": {"enum": ["waiting", "sending", "reconnecting", "stopped"]},
      "last_error": {"type": ["string", "null"], "description": "why the last try failed; while sending, why the target is not keeping up (no secrets)"},
      "bytes_sent": {"type": "integer", "minimum": 0}, "uptime_s": {"type": "integer", "minimum": 0},
      "reconnects": {"type": "integer", "minimum": 0},
      "dropped_units": {"type": "integer", "minimum": 0, "description": "media dropped to the relay's own queue limit (a slow target)"}}},

  "Category": {"enum": ["concert", "master_class", "lecture", "museum_tour", "dance", "fine_art", "sport", "other"]},
  "EventState": {"enum": ["scheduled", "live", "intermission", "ended", "archived", "cancelled"]},
  "StudioRef": {"type": "object", "required": ["id", "name"], "additionalProperties": false,
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"}}},
  "EventBase": {"type": "object",
    "required": ["id", "title", "description", "category", "language", "studio", "starts_at", "ends_at", "state",
      "watch_url", "ics_url", "realtime"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "title": {"type": "string"},
      "description": {"type": "string"}, "category": {"$ref": "#/components/schemas/Category"},
      "language": {"type": "string"}, "studio": {"$ref": "#/components/schemas/StudioRef"},
      "starts_at": {"$ref": "#/components/schemas/Time"}, "ends_at": {"$ref": "#/components/schemas/Time"},
      "state": {"$ref": "#/components/schemas/EventState"},
      "watch_url": {"type": "string", "pattern": "^/watch/[0-9]+$"},
      "ics_url": {"type": "string", "pattern": "^/events/[0-9]+\\.ics$"},
      "realtime": {"type": "boolean", "description": "real time (WebRTC): the watch page offers WHEP playback"},
      "whep_url": {"type": "string", "pattern": "^/whep/[0-9]+$",
        "description": "only when realtime: POST an SDP offer here (WHEP) to watch in under a second"}}},
  "Event": {"allOf": [{"$ref": "#/components/schemas/EventBase"}], "description": "An event as curators see it.",
    "required": ["studio_id", "created_at", "updated_at"], "unevaluatedProperties": false,
    "properties": {"studio_id": {"$ref": "#/components/schemas/Id"}, "created_at": {"$ref": "#/components/schemas/Time"},
      "updated_at": {"$ref": "#/components/schemas/Time"}}},
  "EventList": {"type": "object", "required": ["events", "total"], "additionalProperties": false,
    "properties": {"events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
      "total": {"type": "integer", "minimum": 0}}},
  "EventPatch": {"type": "object", "additionalProperties": false,
    "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 200},
      "description": {"type": "string", "maxLength": 5000}, "category": {"$ref": "#/components/schemas/Category"},
      "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]+)*$", "default": "ru"},
      "studio_id": {"$ref": "#/components/schemas/Id"},
      "starts_at": {"type": "string", "description": "RFC 3339 with any offset"},
      "ends_at": {"type": "string", "description": "RFC 3339; after starts_at, at most 12 h later, not past"},
      "realtime": {"type": "boolean", "default": false,
        "description": "real time for this event (WebRTC, under a second): viewers may watch over WHEP"}}},
  "EventNew": {"allOf": [{"$ref": "#/components/schemas/EventPatch"}],
    "required": ["title", "category", "studio_id", "starts_at", "ends_at"]},
  "Ended": {"type": "object", "required": ["id", "state"], "additionalProperties": false,
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "state": {"const": "ended"}}},

  "Rating": {"type": "object", "required": ["average", "count", "histogram"], "additionalProperties": false,
    "properties": {"average": {"type": "number", "minimum": 0, "maximum": 5, "description": "0 when nobody rated"},
      "count": {"type": "integer", "minimum": 0},
      "histogram": {"type": "array", "minItems": 5, "maxItems": 5, "description": "[0]: one star",
        "items": {"type": "integer", "minimum": 0}}}},
  "ReportSample": {"type": "object", "additionalProperties": false,
    "required": ["at", "state", "viewers", "renditions", "players_estimate", "comments", "questions", "bitrate_kbps",
      "reconnect", "reconnects", "dropped"],
    "properties": {"at": {"$ref": "#/components/schemas/Time"}, "state": {"enum": ["live", "intermission"]},
      "viewers": {"type": "integer", "minimum": 0, "description": "watch pages playing live"},
      "renditions": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
        "description": "the viewers by rendition"},
      "players_estimate": {"type": ["integer", "null"], "minimum": 0,
        "description": "an estimate: distinct client addresses that fetched the live playlists in this sample"},
      "comments": {"type": "integer", "minimum": 0}, "questions": {"type": "integer", "minimum": 0},
      "bitrate_kbps": {"type": "integer", "minimum": 0}, "reconnect": {"type": "boolean"},
      "reconnects": {"type": "integer", "minimum": 0}, "dropped": {"type": "integer", "minimum": 0}}},
  "Minutes": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0},
    "description": "minutes watched by rendition"},
  "EventReport": {"type": "object", "additionalProperties": false,
    "required": ["event_id", "title", "category", "studio_id", "state", "held_at", "peak_viewers", "peak_at",
      "unique_viewers", "minutes_live", "minutes_archive", "archive_starts", "archive_plays", "comments", "questions",
      "answered", "rating", "renditions", "renditions_archive", "players_estimate", "timeline", "collecting"],
    "properties": {"event_id": {"$ref": "#/components/schemas/Id"}, "title": {"type": "string"},
      "collecting": {"type": "boolean", "description": "false: this server runs with reports.enabled = false, so viewers, minutes and the timeline are not being collected"},
      "category": {"type": "string"}, "studio_id": {"type": "integer"}, "state": {"type": "string"},
      "held_at": {"$ref": "#/components/schemas/Time"},
      "peak_viewers": {"type": "integer", "minimum": 0},
      "peak_at": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}]},
      "unique_viewers": {"type": "integer", "minimum": 0},
      "minutes_live": {"type": "number", "minimum": 0}, "minutes_archive": {"type": "number", "minimum": 0},
      "archive_starts": {"type": "integer", "minimum": 0},
      "archive_plays": {"type": "integer", "minimum": 0, "description": "archive viewings longer than reports.archive_play_s"},
      "comments": {"type": "integer", "minimum": 0}, "questions": {"type": "integer", "minimum": 0},
      "answered": {"type": "integer", "minimum": 0},
      "rating": {"$ref": "#/components/schemas/Rating"},
      "renditions": {"$ref": "#/components/schemas/Minutes"},
      "renditions_archive": {"$ref": "#/components/schemas/Minutes"},
      "players_estimate": {"type": "object", "required": ["peak", "note"], "additionalProperties": false,
        "properties": {"peak": {"type": "integer", "minimum": 0}, "note": {"type": "string"}}},
      "timeline": {"type": "array", "items": {"$ref": "#/components/schemas/ReportSample"}}}},
  "SeasonGroup": {"type": "object", "additionalProperties": false,
    "required": ["key", "label", "events", "viewers_unique", "viewers_total", "minutes_live", "minutes_archive",
      "archive_plays", "rating", "top_events"],
    "properties": {"key": {"type": "string"}, "label": {"type": "string"},
      "events": {"type": "integer", "minimum": 0, "description": "events held (on air) in the range"},
      "viewers_unique": {"type": "integer", "minimum": 0, "description": "distinct anonymous viewer ids"},
      "viewers_total": {"type": "integer", "minimum": 0, "description": "the events' unique viewers added up"},
      "minutes_live": {"type": "number", "minimum": 0}, "minutes_archive": {"type": "number", "minimum": 0},
      "archive_plays": {"type": "integer", "minimum": 0},
      "rating": {"type": "object", "required": ["average", "count"], "additionalProperties": false,
        "properties": {"average": {"type": "number", "minimum": 0, "maximum": 5}, "count": {"type": "integer", "minimum": 0}}},
      "top_events": {"type": "array", "maxItems": 5, "items": {"type": "object", "additionalProperties": false,
        "required": ["event_id", "title", "unique_viewers", "peak_viewers", "minutes_live"],
        "properties": {"event_id": {"$ref": "#/components/schemas/Id"}, "title": {"type": "string"},
          "unique_viewers": {"type": "integer", "minimum": 0}, "peak_viewers": {"type": "integer", "minimum": 0},
          "minutes_live": {"type": "number", "minimum": 0}}}}}},
  "SeasonReport": {"type": "object", "additionalProperties": false,
    "required": ["from", "to", "group", "time_zone", "groups", "totals", "collecting"],
    "properties": {"from": {"$ref": "#/components/schemas/Time"}, "to": {"$ref": "#/components/schemas/Time"},
      "collecting": {"type": "boolean", "description": "false: this server runs with reports.enabled = false"},
      "group": {"enum": ["category", "studio", "month"]}, "time_zone": {"type": "string"},
      "groups": {"type": "array", "items": {"$ref": "#/components/schemas/SeasonGroup"}},
      "totals": {"$ref": "#/components/schemas/SeasonGroup"}}},
  "PublicEvent": {"allOf": [{"$ref": "#/components/schemas/EventBase"}], "required": ["rating"],
    "unevaluatedProperties": false,
    "properties": {"rating": {"$ref": "#/components/schemas/Rating"},
      "viewers": {"type": "integer", "minimum": 0, "description": "live and intermission: on the watch page now"},
      "poster": {"type": ["string", "null"],
        "description": "archived: a frame of the recording or its picture card; live: /live/<id>/poster.jpg (null until the first frame)"},
      "duration_s": {"type": "number", "minimum": 0, "description": "archived: of the public (trimmed) recording"},
      "recording": {"type": "object", "required": ["duration_s", "poster", "master"], "additionalProperties": false,
        "properties": {"duration_s": {"type": "number", "minimum": 0}, "poster": {"type": ["string", "null"]},
          "master": {"type": "string", "pattern": "^/archive/[0-9]+/master\\.m3u8$"}}},
      "wish": {"$ref": "#/components/schemas/EventWish"}}},
  "PublicEventPage": {"type": "object", "required": ["events", "when", "page", "page_size", "total"],
    "additionalProperties": false,
    "properties": {"events": {"type": "array", "maxItems": 20, "items": {"$ref": "#/components/schemas/PublicEvent"}},
      "when": {"enum": ["live", "upcoming", "archive"]}, "page": {"type": "integer", "minimum": 1},
      "page_size": {"const": 20}, "total": {"type": "integer", "minimum": 0}}},

  "CommentBase": {"type": "object", "required": ["id", "nick", "text", "at", "media_ms", "question", "answered"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "nick": {"type": "string"}, "text": {"type": "string"},
      "at": {"$ref": "#/components/schemas/Time"}, "media_ms": {"type": ["integer", "null"]},
      "question": {"type": "boolean"}, "answered": {"type": "boolean"}}},
  "PublicComment": {"allOf": [{"$ref": "#/components/schemas/CommentBase"}], "unevaluatedProperties": false},
  "CuratorComment": {"allOf": [{"$ref": "#/components/schemas/CommentBase"}], "unevaluatedProperties": false,
    "required": ["event_id", "status", "viewer_id", "address", "answered_at", "answered_by"],
    "properties": {"event_id": {"$ref": "#/components/schemas/Id"}, "status": {"enum": ["visible", "hidden", "held"]},
      "viewer_id": {"type": "string"}, "address": {"type": "string"},
      "answered_at": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}]},
      "answered_by": {"type": ["string", "null"]}}},
  "PublicCommentPage": {"type": "object", "required": ["event_id", "comments", "more"], "additionalProperties": false,
    "properties": {"event_id": {"$ref": "#/components/schemas/Id"},
      "comments": {"type": "array", "items": {"$ref": "#/components/schemas/PublicComment"}},
      "more": {"type": "boolean"},
      "next_from_ms": {"type": "integer", "description": "when more: the next page's from_ms"}}},
  "CuratorCommentList": {"type": "object", "required": ["event_id", "comments"], "additionalProperties": false,
    "properties": {"event_id": {"$ref": "#/components/schemas/Id"},
      "comments": {"type": "array", "items": {"$ref": "#/components/schemas/CuratorComment"}}}},
  "SlowModeRequest": {"type": "object", "required": ["seconds"],
    "properties": {"seconds": {"type": "integer", "minimum": 0, "maximum": 3600, "description": "0: off"}}},
  "SlowMode": {"type": "object", "required": ["event_id", "slow_mode_s"], "additionalProperties": false,
    "properties": {"event_id": {"$ref": "#/components/schemas/Id"},
      "slow_mode_s": {"type": "integer", "minimum": 0, "maximum": 3600}}},
  "Ban": {"type": "object", "required": ["id", "event_id", "created_by", "created_at"], "additionalProperties": false,
    "description": "A ban of a viewer id (with the address it was last seen at) or of an address; from one event or (event_id null) every event.",
    "oneOf": [{"required": ["viewer_id", "address"]}, {"required": ["address"], "not": {"required": ["viewer_id"]}}],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "event_id": {"type": ["integer", "null"]},
      "viewer_id": {"type": "string"}, "address": {"type": ["string", "null"]}, "created_by": {"type": "string"},
      "created_at": {"$ref": "#/components/schemas/Time"}}},
  "BanList": {"type": "object", "required": ["bans"], "additionalProperties": false,
    "properties": {"bans": {"type": "array", "items": {"$ref": "#/components/schemas/Ban"}}}},
  "BanNew": {"type": "object", "additionalProperties": false,
    "oneOf": [{"required": ["viewer_id"]}, {"required": ["address"]}],
    "properties": {"event_id": {"type": ["integer", "null"], "description": "null or absent: every event"},
      "viewer_id": {"type": "string", "minLength": 1, "maxLength": 64},
      "address": {"type": "string", "minLength": 1, "maxLength": 64}}},
  "WordLists": {"type": "object", "required": ["words"], "additionalProperties": false,
    "properties": {"words": {"type": "object", "description": "language → its words",
      "additionalProperties": {"type": "array", "items": {"type": "string"}}}}},
  "WordListRequest": {"type": "object", "required": ["language", "words"],
    "properties": {"language": {"type": "string", "minLength": 1, "maxLength": 16},
      "words": {"type": "array", "maxItems": 5000, "items": {"type": "string", "minLength": 1}}}},
  "WordList": {"type": "object", "required": ["language", "words"], "additionalProperties": false,
    "properties": {"language": {"type": "string"}, "words": {"type": "array", "items": {"type": "string"}}}},
  "ModerationLog": {"type": "object", "required": ["log"], "additionalProperties": false,
    "properties": {"log": {"type": "array", "maxItems": 500, "items": {"type": "object", "additionalProperties": false,
      "required": ["at", "curator", "action", "event_id", "target"],
      "properties": {"at": {"$ref": "#/components/schemas/Time"}, "curator": {"type": "string"},
        "action": {"type": "string"}, "event_id": {"type": ["integer", "null"]}, "target": {"type": "string"}}}}}},

  "Trim": {"type": "object", "required": ["start_ms", "end_ms"], "additionalProperties": false,
    "properties": {"start_ms": {"type": ["integer", "null"], "minimum": 0},
      "end_ms": {"type": ["integer", "null"], "minimum": 0}}},
  "TrimRequest": {"type": "object", "additionalProperties": false,
    "properties": {"start_ms": {"type": ["integer", "null"], "minimum": 0},
      "end_ms": {"type": ["integer", "null"], "minimum": 0}}},
  "Recording": {"type": "object", "additionalProperties": false,
    "required": ["event_id", "state", "renditions", "duration_s", "public_duration_s", "bytes", "repaired", "error",
      "trim", "poster", "master"],
    "properties": {"event_id": {"$ref": "#/components/schemas/Id"}, "state": {"enum": ["recording", "failed", "archived"]},
      "renditions": {"type": "array", "items": {"type": "object", "additionalProperties": false,
        "required": ["name", "segments", "duration_s", "bytes", "playlist"],
        "properties": {"name": {"type": "string"}, "segments": {"type": "integer", "minimum": 0},
          "duration_s": {"type": "number", "minimum": 0}, "bytes": {"type": "integer", "minimum": 0},
          "playlist": {"type": "string", "pattern": "^/archive/[0-9]+/[^/]+/index\\.m3u8$"}}}},
      "duration_s": {"type": "number", "minimum": 0}, "public_duration_s": {"type": "number", "minimum": 0},
      "bytes": {"type": "integer", "minimum": 0}, "repaired": {"type": "boolean"},
      "error": {"type": ["string", "null"]}, "trim": {"$ref": "#/components/schemas/Trim"},
      "poster": {"type": ["string", "null"]}, "master": {"type": "string", "pattern": "^/archive/[0-9]+/master\\.m3u8$"}}},

  "Advice": {"type": "object", "required": ["level", "code", "text"], "additionalProperties": false,
    "properties": {"level": {"enum": ["warn", "bad"]},
      "code": {"enum": ["unplayable_picture", "rare_keyframes", "high_frame_rate"]}, "text": {"type": "string"},
      "format": {"type": "string"}, "seconds": {"type": "integer"}, "fps": {"type": "integer"}}},
  "Health": {"type": "object", "required": ["level", "code", "text"], "additionalProperties": false,
    "properties": {"level": {"enum": ["good", "starting", "warn", "bad"]},
      "code": {"enum": ["good", "starting", "reconnecting", "no_video", "no_audio", "too_slow", "stuttering"]},
      "text": {"type": "string"}, "arriving_mbit": {"type": "number"}, "expected_mbit": {"type": ["number", "null"]},
      "fps": {"type": "integer"}, "expected_fps": {"type": "integer"}, "reconnects": {"type": "integer", "minimum": 0}}},
  "Media": {"type": "object", "required": ["video", "audio"], "additionalProperties": false,
    "properties": {
      "video": {"type": ["object", "null"], "additionalProperties": false,
        "required": ["codec", "profile", "level", "width", "height", "frame_rate"],
        "properties": {"codec": {"type": "string"}, "profile": {"type": "string"}, "level": {"type": "string"},
          "width": {"type": "integer"}, "height": {"type": "integer"}, "frame_rate": {"type": "number"}}},
      "audio": {"type": ["object", "null"], "additionalProperties": false,
        "required": ["codec", "sample_rate", "channels"],
        "properties": {"codec": {"type": "string"}, "sample_rate": {"type": "integer"}, "channels": {"type": "integer"}}}}},
  "Publisher": {"type": "object", "additionalProperties": false,
    "required": ["protocol", "remote_address", "uptime_s", "media", "bitrate_kbps", "frame_rate", "bytes_in",
      "video_frames", "audio_frames", "dropped", "late_frames", "behind_realtime_ms", "keyframe_interval_s",
      "timestamp_jumps"],
    "properties": {"protocol": {"enum": ["rtmp", "srt", "pull"]}, "remote_address": {"type": "string"},
      "uptime_s": {"type": "integer", "minimum": 0},
      "media": {"anyOf": [{"$ref": "#/components/schemas/Media"}, {"type": "null"}],
        "description": "null until the stream's codecs are known"},
      "bitrate_kbps": {"type": "number", "minimum": 0}, "frame_rate": {"type": "number", "minimum": 0},
      "bytes_in": {"type": "integer", "minimum": 0}, "video_frames": {"type": "integer", "minimum": 0},
      "audio_frames": {"type": "integer", "minimum": 0}, "dropped": {"type": "integer", "minimum": 0},
      "late_frames": {"type": "integer", "minimum": 0}, "behind_realtime_ms": {"type": "integer", "minimum": 0},
      "keyframe_interval_s": {"type": "number", "minimum": 0}, "timestamp_jumps": {"type": "integer", "minimum": 0}}},
  "RenditionHealth": {"type": "object", "additionalProperties": false,
    "required": ["name", "encoded", "width", "height", "active", "fps", "kbps", "bandwidth", "average_bandwidth"],
    "properties": {"name": {"type": "string"}, "encoded": {"type": "boolean", "description": "false: the source, passed through"},
      "width": {"type": "integer"}, "height": {"type": "integer"},
      "active": {"type": "boolean", "description": "false once dropped under overload"},
      "fps": {"type": "number"}, "kbps": {"type": "number"}, "bandwidth": {"type": "integer"},
      "average_bandwidth": {"type": "integer"}, "target_kbps": {"type": "integer"},
      "queue_depth": {"type": "integer"}, "frames": {"type": "integer"}, "dropped_frames": {"type": "integer"}}},
  "Counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
  "LiveInfo": {"type": "object", "additionalProperties": false,
    "required": ["event_id", "state", "publisher", "recording", "audience_refusals", "server_refusals", "relays"],
    "description": "studio, live_since, reconnects, media_time_ms and advice while the hub holds the event (live, intermission)",
    "properties": {"event_id": {"$ref": "#/components/schemas/Id"}, "state": {"$ref": "#/components/schemas/EventState"},
      "studio": {"$ref": "#/components/schemas/StudioRef"}, "live_since": {"$ref": "#/components/schemas/Time"},
      "reconnects": {"type": "integer", "minimum": 0}, "media_time_ms": {"type": "integer"},
      "publisher": {"anyOf": [{"$ref": "#/components/schemas/Publisher"}, {"type": "null"}]},
      "recording": {"type": ["object", "null"], "additionalProperties": false,
        "required": ["state", "duration_s", "bytes", "error"],
        "properties": {"state": {"enum": ["recording", "ended", "failed"]}, "duration_s": {"type": "number"},
          "bytes": {"type": "integer"}, "error": {"type": ["string", "null"]}}},
      "audience_refusals": {"type": ["object", "null"], "additionalProperties": false, "required": ["window_s", "counts"],
        "properties": {"window_s": {"type": "integer"}, "counts": {"$ref": "#/components/schemas/Counts"}}},
      "server_refusals": {"type": ["object", "null"], "additionalProperties": false,
        "required": ["window_s", "http", "ingest"],
        "properties": {"window_s": {"type": "integer"}, "http": {"$ref": "#/components/schemas/Counts"},
          "ingest": {"type": "object", "description": "protocol → reason → count",
            "additionalProperties": {"$ref": "#/components/schemas/Counts"}}}},
      "advice": {"type": "array", "items": {"$ref": "#/components/schemas/Advice"}},
      "relays": {"type": "array", "items": {"$ref": "#/components/schemas/RelayLive"},
        "description": "the event's relays and its studio's defaults, each with its state in words"},
      "renditions": {"type": "array", "items": {"$ref": "#/components/schemas/RenditionHealth"}},
      "ladder": {"type": "object", "additionalProperties": false, "required": ["name", "source_kbps", "rungs", "left_out"],
        "description": "the rungs chosen for this studio when its ladder started",
        "properties": {"name": {"type": "string"}, "source_kbps": {"type": "integer", "minimum": 0,
            "description": "the studio's video bitrate over its first keyframe interval; 0: not measured"},
          "rungs": {"type": "array", "items": {"type": "string"}},
          "left_out": {"type": "array", "items": {"type": "object", "additionalProperties": false,
            "required": ["rung", "reason"], "properties": {"rung": {"type": "string"}, "reason": {"type": "string"}}}}}}}},
  "StudioView": {"type": "object", "additionalProperties": false,
    "required": ["studio", "now", "publish", "event", "rating", "figures", "live", "health", "advice", "relays"],
    "properties": {"studio": {"$ref": "#/components/schemas/StudioRef"}, "now": {"$ref": "#/components/schemas/Time"},
      "publish": {"type": "object", "required": ["stream_key"], "additionalProperties": false,
        "properties": {"stream_key": {"type": "string"}, "rtmp_server": {"type": "string"}, "srt_url": {"type": "string"},
          "whip_url": {"type": "string", "pattern": "^https?://.+/whip/[0-9]+$",
            "description": "WHIP: POST the Go live panel's offer here (Bearer: the stream key); absent when WebRTC is off"},
          "ice_servers": {"type": "array", "description": "RTCPeerConnection's iceServers (TURN with fresh credentials)",
            "items": {"type": "object", "required": ["urls"], "additionalProperties": false,
              "properties": {"urls": {"type": "string"}, "username": {"type": "string"}, "credential": {"type": "string"}}}}}},
      "event": {"type": ["object", "null"], "additionalProperties": false,
        "required": ["id", "title", "state", "starts_at", "ends_at"],
        "properties": {"id": {"$ref": "#/components/schemas/Id"}, "title": {"type": "string"},
          "state": {"$ref": "#/components/schemas/EventState"}, "starts_at": {"$ref": "#/components/schemas/Time"},
          "ends_at": {"$ref": "#/components/schemas/Time"}}},
      "rating": {"anyOf": [{"$ref": "#/components/schemas/Rating"}, {"type": "null"}]},
      "figures": {"type": ["object", "null"], "additionalProperties": false,
        "description": "after the event (ended, archived): its headline figures; viewer counts below 5 are null (few_viewers)",
        "required": ["peak_viewers", "unique_viewers", "few_viewers", "minutes_watched", "questions", "answered"],
        "properties": {"peak_viewers": {"type": ["integer", "null"], "minimum": 5},
          "unique_viewers": {"type": ["integer", "null"], "minimum": 5}, "few_viewers": {"type": "boolean"},
          "minutes_watched": {"type": "number", "minimum": 0}, "questions": {"type": "integer", "minimum": 0},
          "answered": {"type": "integer", "minimum": 0}}},
      "live": {"type": ["object", "null"], "additionalProperties": false,
        "required": ["state", "live_since", "reconnects", "bitrate_kbps", "usual_kbps", "frame_rate", "audio", "video"],
        "properties": {"state": {"type": "string"}, "live_since": {"type": "string"},
          "reconnects": {"type": "integer", "minimum": 0}, "bitrate_kbps": {"type": ["number", "null"]},
          "usual_kbps": {"type": ["number", "null"]}, "frame_rate": {"type": ["number", "null"]},
          "audio": {"type": ["boolean", "null"]}, "video": {"type": ["boolean", "null"]},
          "uptime_s": {"type": "integer", "minimum": 0}}},
      "health": {"anyOf": [{"$ref": "#/components/schemas/Health"}, {"type": "null"}]},
      "advice": {"type": "array", "items": {"$ref": "#/components/schemas/Advice"}},
      "relays": {"type": "array", "description": "where the event also goes out: its enabled relays' names and states, never their addresses",
        "items": {"type": "object", "additionalProperties": false, "required": ["name", "state"],
          "properties": {"name": {"type": "string"}, "state": {"enum": ["waiting", "sending", "reconnecting", "stopped"]}}}}}}
}
})json";

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request: the body is not a JSON object, or a query parameter is wrong";
    case 401: return "Unauthorized: no bearer token, or its session has expired";
    case 403: return "Forbidden: not allowed to this curator (or this studio's link)";
    case 404: return "Not Found: no such object (the artist's view: the link is no longer valid)";
    case 409: return "Conflict: the object's state or another object forbids it";
    case 422: return "Unprocessable: every bad field is named in error.fields";
    case 429: return "Too Many Requests: over server.api_requests_per_s, failed logins, or (a relay's test) a test "
                     "already running for this curator or relay or 4 at once; see Retry-After";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable: the server is busy (see Retry-After) or the part it needs is not running";
    default: return "Error";
  }
}

// The error statuses a route may answer: its own doc.errors and what every route of its kind may (the
// dispatcher's refusals).
std::set<int> error_statuses(const ApiDocRoute& r) {
  std::set<int> out(r.doc->errors.begin(), r.doc->errors.end());
  out.insert({429, 500, 503});  // the per-address rate, a failing handler, the store's queue full
  if (r.access == ApiAccess::curator || r.access == ApiAccess::admin) out.insert(401);
  if (r.access == ApiAccess::admin) out.insert(403);
  if (r.doc->request) out.insert({400, 422});
  if (std::string_view(r.pattern).find('{') != std::string_view::npos) out.insert(404);
  return out;
}

json schema_ref(const json& components, const char* name) {
  if (!components["schemas"].contains(name)) throw std::logic_error(std::string("api_schemas: no schema ") + name);
  return {{"$ref", std::string("#/components/schemas/") + name}};
}

json operation(const json& components, const ApiDocRoute& r) {
  const ApiDoc& d = *r.doc;
  std::string op_id = r.method;
  std::transform(op_id.begin(), op_id.end(), op_id.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* p = r.pattern + 4; *p; ++p)  // after "/api"
    if (std::isalnum(static_cast<unsigned char>(*p))) op_id += *p;
    else if (op_id.back() != '_') op_id += '_';
  while (op_id.back() == '_') op_id.pop_back();
  json op = {{"operationId", op_id}, {"summary", d.summary}, {"x-sreda-access", to_string(r.access)}};
  if (r.access == ApiAccess::curator || r.access == ApiAccess::admin)
    op["security"] = json::array({{{"curatorToken", json::array()}}});
  else if (r.access == ApiAccess::view_link)
    op["security"] = json::array({{{"viewLink", json::array()}}});
  json params = json::array();
  for (std::string_view rest = r.pattern; rest.find('{') != std::string_view::npos;) {
    const size_t open = rest.find('{'), close = rest.find('}', open);
    params.push_back({{"name", std::string(rest.substr(open + 1, close - open - 1))},
                      {"in", "path"},
                      {"required", true},
                      {"schema", {{"type", "integer"}, {"minimum", 0}}}});
    rest.remove_prefix(close + 1);
  }
  for (const char* q : d.query) {
    if (!components["parameters"].contains(q)) throw std::logic_error(std::string("api_schemas: no parameter ") + q);
    params.push_back({{"$ref", std::string("#/components/parameters/") + q}});
  }
  if (!params.empty()) op["parameters"] = params;
  if (d.request)
    op["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", schema_ref(components, d.request)}}}}}};
  json responses = json::object();
  if (d.response && components["responses"].contains(d.response))
    responses[std::to_string(d.status)] = {{"$ref", std::string("#/components/responses/") + d.response}};
  else if (d.response)
    responses[std::to_string(d.status)] = {
        {"description", reason(d.status)},
        {"content", {{"application/json", {{"schema", schema_ref(components, d.response)}}}}}};
  else
    throw std::logic_error(std::string("api_schemas: no response for ") + r.method + " " + r.pattern);
  for (int status : error_statuses(r))  // components.responses.Error<status>, made by openapi_document
    responses[std::to_string(status)] = {{"$ref", "#/components/responses/Error" + std::to_string(status)}};
  op["responses"] = responses;
  return op;
}

}  // namespace

const char* to_string(ApiAccess access) {
  switch (access) {
    case ApiAccess::anyone: return "anyone";
    case ApiAccess::view_link: return "view_link";
    case ApiAccess::curator: return "curator";
    case ApiAccess::admin: return "admin";
  }
  return "anyone";
}

json openapi_document(const std::vector<ApiDocRoute>& routes) {
  json components = json::parse(kComponents);
  const json wishes = json::parse(wish_components());  // a local: items() must not outlive its json
  for (const auto& [section, entries] : wishes.items())
    for (const auto& [name, shape] : entries.items()) components[section][name] = shape;
  json paths = json::object();
  for (const auto& r : routes) {
    for (int status : error_statuses(r))
      components["responses"]["Error" + std::to_string(status)] = {
          {"description", reason(status)},
          {"content", {{"application/json", {{"schema", schema_ref(components, "Error")}}}}}};
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
    json& item = paths[r.pattern];
    if (item.contains(method)) throw std::logic_error(std::string("api_schemas: two rows for ") + r.method + " " + r.pattern);
    item[method] = operation(components, r);
  }
  return {{"openapi", "3.1.0"},
          {"jsonSchemaDialect", "https://json-schema.org/draft/2020-12/schema"},
          {"info",
           {{"title", "sreda API"},
            {"version", "1"},
            {"summary", "Curators' studios, events, recordings and moderation; the public programme; the artist's view."},
            {"description",
             "Every route answers JSON (the MP4 export a file); errors are {\"error\": {\"code\", \"message\", "
             "\"field\", \"fields\"}}. Times are RFC 3339. GET routes answer HEAD too. x-sreda-access says who may "
             "call each route: anyone, view_link (the studio's artist's view token as ?t=), curator (any curator's "
             "bearer token) or admin."}}},
          {"paths", paths},
          {"components", components}};
}

}  // namespace sreda::web
