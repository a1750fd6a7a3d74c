// The artist's view: a private link per studio (GET /api/studio-view/{id}?t=TOKEN) showing the performer
// their studio's current or next event, the publish settings, the stream's health in words and the
// rating. Handlers run on the store thread; the live part comes from the event hub (control thread).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "server/audience/report_store.h"
#include "server/audience/storage.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/core/random.h"
#include "server/media/facts.h"
#include "server/schedule/catalog.h"
#include "server/store/db.h"
#include "server/web/api.h"
#include "server/web/ingest_info.h"
#include "server/web/http_rules.h"
#include "server/web/site_routes.h"
#include "server/web/webrtc_routes.h"

namespace sreda::web {
namespace {

using nlohmann::json;

constexpr size_t kViewTokenBytes = 32;  // 256 bits, 43 URL-safe characters
constexpr int64_t kShowEndedForS = 1800;  // an event that ended this recently is still "the" event

// The same answer for a wrong token, an old token and a studio that does not exist: nothing is revealed.
HttpResponse link_not_valid() {
  auto r = HttpResponse::error(404, "link_not_valid", "this link is no longer valid");
  set_caching(r, Caching::none);
  return r;
}

std::optional<std::string> stored_view_token(store::Db& db, int64_t studio_id) {
  auto st = db.prepare("SELECT view_token FROM studios WHERE id = ?");
  st.bind(1, studio_id);
  if (!st.step() || st.is_null(0)) return std::nullopt;
  return st.text(0);
}

std::string new_view_token(store::Db& db, int64_t studio_id) {
  std::string token = core::random_token(kViewTokenBytes);
  db.prepare("UPDATE studios SET view_token = ? WHERE id = ?").bind(1, token).bind(2, studio_id).run();
  return token;
}

// Whether `token` is the studio's view token. Compares SHA-256 hashes in constant time, so neither the
// token's length nor its prefix leaks through timing.
bool view_token_matches(store::Db& db, int64_t studio_id, const std::string& token) {
  if (token.empty()) return false;
  auto stored = stored_view_token(db, studio_id);
  if (!stored) return false;
  return core::equal_secrets(core::sha256_hex(token), core::sha256_hex(*stored));
}

// The event the artist's page is about: the live one; else one that ended in the last half hour; else the
// next scheduled one.
std::optional<schedule::Event> view_event(store::Db& db, int64_t studio_id, int64_t now) {
  auto st = db.prepare(
      "SELECT id FROM events WHERE studio_id = ?1 AND ("
      "  state IN ('live', 'intermission')"
      "  OR (state IN ('ended', 'archived') AND updated_at >= ?2 - ?3)"
      "  OR (state = 'scheduled' AND ends_at > ?2)) "
      "ORDER BY CASE WHEN state IN ('live', 'intermission') THEN 0 WHEN state = 'scheduled' THEN 2 ELSE 1 END, "
      "CASE WHEN state = 'scheduled' THEN starts_at ELSE -updated_at END LIMIT 1");
  st.bind(1, studio_id).bind(2, now).bind(3, kShowEndedForS);
  if (!st.step()) return std::nullopt;
  return schedule::find_event(db, st.int64(0));
}

std::string mbit(double kbps) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", kbps / 1000.0);
  return buf;
}

// Where the concert also goes out, for the performer: the enabled relays' names and states (from
// relays_live_json: the runtime's state, else "waiting"/"stopped"), never their addresses.
json artist_relays(const json& relays) {
  json out = json::array();
  for (const auto& r : relays)
    if (r.value("enabled", false)) out.push_back({{"name", r.value("name", "")}, {"state", r.value("state", "waiting")}});
  return out;
}

}  // namespace

std::string studio_view_url(store::Db& db, int64_t studio_id) {
  auto token = stored_view_token(db, studio_id);
  if (!token) token = new_view_token(db, studio_id);
  return "/studio/" + std::to_string(studio_id) + "?t=" + *token;
}

json studio_json(store::Db& db, const schedule::Studio& studio, const relay::RelayControl* relays) {
  json out = schedule::to_curator_json(studio);
  out["view_url"] = studio_view_url(db, studio.id);
  add_pull_fields(db, relays, out);
  return out;
}

json describe_stream_health(const json& info, double usual_kbps) {
  auto say = [](const char* level, const char* code, std::string text) {
    return json{{"level", level}, {"code", code}, {"text", std::move(text)}};
  };
  const json& p = info.value("publisher", json());
  if (schedule::event_state(info.value("state", "")) != schedule::EventState::live || !p.is_object())
    return say("bad", "reconnecting", "Reconnecting… nothing is arriving from your studio. Check the encoder and the internet.");
  const json& media = p.value("media", json());
  if (!media.is_object()) return say("starting", "starting", "Your stream is starting…");
  if (media.value("video", json()).is_null()) return say("bad", "no_video", "No picture is arriving. Check the camera in the encoder.");
  if (media.value("audio", json()).is_null())
    return say("bad", "no_audio", "No sound is arriving. Check the microphone and the encoder's audio settings.");
  const int64_t uptime = p.value("uptime_s", int64_t{0});
  const double kbps = p.value("bitrate_kbps", 0.0);
  if (uptime >= 5) {  // the rates are measured over a few seconds: judge them once there are some
    const bool behind = p.value("behind_realtime_ms", int64_t{0}) > 2000;
    if (behind || (usual_kbps > 0 && kbps < 0.5 * usual_kbps)) {
      std::string text = "Your internet is too slow: " + mbit(kbps) + " Mbit/s arriving";
      if (usual_kbps > kbps) text += ", " + mbit(usual_kbps) + " expected";
      json h = say("bad", "too_slow", text + ".");
      h["arriving_mbit"] = std::round(kbps / 100) / 10;
      h["expected_mbit"] = usual_kbps > kbps ? json(std::round(usual_kbps / 100) / 10) : json(nullptr);
      return h;
    }
    const double declared = media["video"].value("frame_rate", 0.0);
    const double fps = p.value("frame_rate", 0.0);
    if (declared > 0 && fps < 0.7 * declared) {
      json h = say("warn", "stuttering", "Your picture is stuttering: " + std::to_string(static_cast<int>(std::lround(fps))) +
                             " frames a second arriving, " + std::to_string(static_cast<int>(std::lround(declared))) +
                             " expected.");
      h["fps"] = std::lround(fps);
      h["expected_fps"] = std::lround(declared);
      return h;
    }
  }
  std::string text = "Your picture and sound are arriving well.";
  const int64_t n = info.value("reconnects", int64_t{0});
  if (n > 0)
    text += n == 1 ? " The stream dropped once and came back." : " The stream dropped " + std::to_string(n) + " times and came back.";
  json h = say("good", "good", text);
  h["reconnects"] = n;
  return h;
}

json describe_stream_advice(const json& info) {
  json out = json::array();
  const json& p = info.value("publisher", json());
  if (!p.is_object()) return out;
  const json& media = p.value("media", json());
  if (!media.is_object() || !media.value("video", json()).is_object()) return out;
  const json& video = media["video"];
  const std::string codec = video.value("codec", "");
  const std::string profile = video.value("profile", "");
  media::MediaFacts facts;
  facts.has_video = true;
  facts.video_codec = codec;
  facts.video_profile = profile;
  if (!media::video_plays_as_is(facts)) {
    // The ladder re-encodes it (the same rule decides that there is no `source`): viewers watch, the server
    // works much harder.
    out.push_back({{"level", "warn"},
                   {"code", "unplayable_picture"},
                   {"format", codec + (profile.empty() ? "" : " " + profile)},
                   {"text", "Browsers cannot show this picture as it is (" + codec + (profile.empty() ? "" : " " + profile) +
                                "): the server converts it for viewers, which costs it much more work and a little "
                                "quality. In OBS: Settings → Advanced → Color Format NV12, and Settings → Output → "
                                "Encoder x264, Profile high."}});
  }
  const double interval = p.value("keyframe_interval_s", 0.0);
  if (interval > 4.5) {
    const long n = std::lround(interval);
    out.push_back({{"level", "warn"},
                   {"code", "rare_keyframes"},
                   {"seconds", n},
                   {"text", "A keyframe comes every " + std::to_string(n) +
                                " s: viewers wait that long to start watching and to change quality. In OBS: "
                                "Settings → Output → Keyframe Interval 2 s."}});
  }
  double fps = video.value("frame_rate", 0.0);
  if (fps <= 0 || fps > 240) fps = p.value("frame_rate", 0.0);  // undeclared, or a time base (1000)
  if (fps > 31) {
    const long n = std::lround(fps);
    out.push_back({{"level", "warn"},
                   {"code", "high_frame_rate"},
                   {"fps", n},
                   {"text", std::to_string(n) +
                                " frames a second double the server's work for every quality and need faster lines "
                                "for viewers; 30 is plenty for a concert. In OBS: Settings → Video → Common FPS "
                                "Values 30."}});
  }
  return out;
}

HttpResponse Api::rotate_view_token(Call& c) {
  store::Transaction tx(c.db);
  if (!schedule::find_studio(c.db, c.ids[0]))
    return HttpResponse::error(404, "not_found", "no studio with id " + std::to_string(c.ids[0]));
  new_view_token(c.db, c.ids[0]);
  tx.commit();
  core::Logger("studios").info(c.who->username + " rotated the view link of studio " + std::to_string(c.ids[0]));
  return HttpResponse::json(200, studio_json(c.db, *schedule::find_studio(c.db, c.ids[0]), relays_));
}

HttpResponse Api::studio_answer(Call& c) {
  const int64_t studio_id = c.ids[0];
  if (!view_token_matches(c.db, studio_id, c.request.query_value("t"))) return link_not_valid();
  auto cm = audience::find_comment(c.db, c.ids[1]);
  if (!cm) return HttpResponse::error(404, "not_found", "no comment with id " + std::to_string(c.ids[1]));
  auto event = schedule::find_event(c.db, cm->event_id);
  if (!event || event->studio_id != studio_id)
    return HttpResponse::error(403, "forbidden", "this comment belongs to another studio's event");
  return mark_answered(c, std::move(*cm), "studio " + std::to_string(studio_id), &audience::public_json);
}

HttpResponse Api::studio_view(Call& c) {
  const int64_t studio_id = c.ids[0];
  if (!view_token_matches(c.db, studio_id, c.request.query_value("t"))) return link_not_valid();
  auto studio = schedule::find_studio(c.db, studio_id);
  if (!studio) return link_not_valid();

  json publish = {{"stream_key", studio->stream_key}};
  if (ingest_) {
    json where = ingest_->info(c.request);
    publish["rtmp_server"] = where["rtmp_server"];
    std::string srt = where["srt_url_prefix"].get<std::string>() + studio->stream_key;
    if (!studio->srt_passphrase.empty()) srt += "&passphrase=" + studio->srt_passphrase + "&pbkeylen=16";
    publish["srt_url"] = srt;
  }
  if (config_.webrtc.enabled) {  // the Go live panel's peer connection: where to send the offer, ICE servers
    publish["whip_url"] = base_url(config_, c.request) + "/whip/" + std::to_string(studio->id);
    publish["ice_servers"] = ice_servers_json(ice_servers(config_.webrtc, c.now));
  }
  json body = {{"studio", {{"id", studio->id}, {"name", studio->name}}},
               {"now", core::format_rfc3339(c.now)},
               {"publish", publish},
               {"event", nullptr},
               {"rating", nullptr},
               {"figures", nullptr},
               {"live", nullptr},
               {"health", nullptr},
               {"advice", json::array()},
               {"relays", json::array()}};
  auto event = view_event(c.db, studio_id, c.now);
  if (event) {
    body["event"] = {{"id", event->id},
                     {"title", event->title},
                     {"state", event->state},
                     {"starts_at", core::format_rfc3339(event->starts_at)},
                     {"ends_at", core::format_rfc3339(event->ends_at)}};
    body["rating"] = audience::rating_json(audience::rating_summary(c.db, event->id));
    body["relays"] = artist_relays(relays_live_json(c.db, *event));
    // After the event: its headline figures for the artist (small audiences as "fewer than 5").
    if (event->state == schedule::EventState::ended || event->state == schedule::EventState::archived)
      body["figures"] = audience::headline_figures(c.db, event->id);
  }
  auto finish = [](HttpResponse r) {
    set_caching(r, Caching::none);
    r.headers.emplace_back("referrer-policy", "no-referrer");
    return r;
  };
  if (!event || !schedule::on_air(event->state) || !hub_) return finish(HttpResponse::json(200, body));
  hub_->live_info(event->id, [this, reply = c.reply, body, studio_id, finish](std::optional<json> info) mutable {
    if (info) {
      const json& p = info->value("publisher", json());
      double usual = 0;
      if (p.is_object() && schedule::event_state(info->value("state", "")) == schedule::EventState::live &&
          p.value("uptime_s", int64_t{0}) >= 5) {
        const double kbps = p.value("bitrate_kbps", 0.0);
        std::lock_guard lock(usual_mutex_);
        double& u = usual_kbps_[studio_id];
        u = std::max(u * 0.995, kbps);  // a peak that forgets slowly: what this studio usually sends
        usual = u;
      } else {
        std::lock_guard lock(usual_mutex_);
        usual = usual_kbps_[studio_id];
      }
      json live = {{"state", info->value("state", "")},
                   {"live_since", info->value("live_since", "")},
                   {"reconnects", info->value("reconnects", 0)},
                   {"bitrate_kbps", nullptr},
                   {"usual_kbps", usual > 0 ? json(std::round(usual)) : json(nullptr)},
                   {"frame_rate", nullptr},
                   {"audio", nullptr},
                   {"video", nullptr}};
      if (p.is_object()) {
        live["bitrate_kbps"] = std::round(p.value("bitrate_kbps", 0.0));
        live["frame_rate"] = std::round(p.value("frame_rate", 0.0) * 10) / 10;
        live["uptime_s"] = p.value("uptime_s", int64_t{0});
        const json& media = p.value("media", json());
        if (media.is_object()) {
          live["audio"] = !media.value("audio", json()).is_null();
          live["video"] = !media.value("video", json()).is_null();
        }
      }
      body["live"] = std::move(live);
      body["health"] = describe_stream_health(*info, usual);
      body["advice"] = describe_stream_advice(*info);
    }
    reply(finish(HttpResponse::json(200, body)));
  });
  return deferred();
}

}  // namespace sreda::web
