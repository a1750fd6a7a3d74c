#include "server/config/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>

#include "server/core/client_address.h"
#include "server/core/log.h"

namespace sreda::config {
namespace {

using nlohmann::json;

std::string type_name(const json& j) { return j.type_name(); }

// Assigns a JSON value to a field, or explains why it does not fit.
template <class T>
bool assign(T& field, const json& j, std::string& why) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return why = "expected true or false, got " + type_name(j), false;
    field = j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!j.is_number_integer()) return why = "expected a whole number, got " + type_name(j), false;
    auto v = j.get<int64_t>();
    if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        v > static_cast<int64_t>(std::numeric_limits<T>::max()))
      return why = "number out of range", false;
    field = static_cast<T>(v);
  } else {
    if (!j.is_string()) return why = "expected a string, got " + type_name(j), false;
    field = j.get<std::string>();
  }
  return true;
}

// Parses text (from env or CLI) as the field's type.
template <class T>
bool assign_text(T& field, const std::string& text, std::string& why) {
  if constexpr (std::is_same_v<T, bool>) {
    if (text == "true" || text == "1" || text == "yes") return field = true, true;
    if (text == "false" || text == "0" || text == "no") return field = false, true;
    return why = "expected true or false, got '" + text + "'", false;
  } else if constexpr (std::is_integral_v<T>) {
    try {
      size_t used = 0;
      long long v = std::stoll(text, &used);
      if (used != text.size()) throw std::invalid_argument("trailing");
      return assign(field, json(v), why);
    } catch (const std::exception&) {
      return why = "expected a whole number, got '" + text + "'", false;
    }
  } else {
    field = text;
    return true;
  }
}

void flatten(const json& j, const std::string& prefix, std::map<std::string, json>& out,
             std::vector<std::string>& errors, const std::string& origin) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object() && prefix.empty()) {
      if (it->empty()) out[path] = *it;  // an empty section still has to be a known one
      flatten(*it, path, out, errors, origin);
    } else if (prefix.empty()) {
      errors.push_back(origin + ": " + path + ": expected a section (an object), got " + type_name(*it));
    } else {
      out[path] = *it;
    }
  }
}

std::string env_name(const std::string& path) {
  std::string out = "SREDA_";
  for (char ch : path) out += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

// SREDA_ variables that are not config keys: the first curator's password (read by the app at the first
// start), and the test and bench harnesses' own settings, which reach sreda because they pass their
// environment through to it.
const char* const kNotConfigKeys[] = {
    "SREDA_ADMIN_PASSWORD", "SREDA_BIN",           "SREDA_BASE_BIN",        "SREDA_SOURCE_DIR",
    "SREDA_WHIP_CLIENT",    "SREDA_WHEP_CLIENT",   "SREDA_TEST_LONG",       "SREDA_DRIFT_MINUTES",
    "SREDA_DRIFT_CLOCKS",   "SREDA_WEB_SCREENSHOTS", "SREDA_FUZZ_SECONDS",  "SREDA_UPDATE_GOLDEN",
    "SREDA_PID",            "SREDA_PASS",          "SREDA_TOKEN",           "SREDA_EXPORT_S",
};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// An environment variable that looks like a config key but is none (SREDA_<a section>_…, or a name a
// letter or two from a key's) is an error naming it and the nearest key; other SREDA_ names are not ours
// to judge.
void check_env_names(const std::map<std::string, std::string>& env, std::vector<std::string>& errors) {
  std::vector<std::pair<std::string, std::string>> keys;  // env name, key path
  Config names_only;
  visit_fields(names_only, [&](const char* path, auto&) { keys.emplace_back(env_name(path), path); });
  for (const auto& [name, value] : env) {
    if (name.rfind("SREDA_", 0) != 0 || std::find(std::begin(kNotConfigKeys), std::end(kNotConfigKeys), name) !=
                                            std::end(kNotConfigKeys))
      continue;
    bool known = false, in_section = false;
    size_t best = std::string::npos;
    const std::pair<std::string, std::string>* nearest = nullptr;
    for (const auto& key : keys) {
      known |= key.first == name;
      const std::string section = env_name(key.second.substr(0, key.second.find('.'))) + "_";
      in_section |= name.rfind(section, 0) == 0;
      if (size_t d = edit_distance(name, key.first); d < best) best = d, nearest = &key;
    }
    if (known || (!in_section && best > 2)) continue;
    std::string e = name + ": not a config key";
    if (best <= std::max<size_t>(2, (name.size() - 6) / 3))
      e += "; did you mean " + nearest->first + " (" + nearest->second + ")?";
    errors.push_back(e);
  }
}

struct Flag {
  const char* name;
  const char* path;
};
const Flag kFlags[] = {
    {"--data-dir", "server.data_dir"},   {"--http-port", "server.http_port"},
    {"--rtmp-port", "server.rtmp_port"}, {"--srt-port", "server.srt_port"},
    {"--listen", "server.listen"},       {"--static-dir", "server.static_dir"},
    {"--public-url", "server.public_url"}, {"--log-level", "log.level"},
};

bool set_by_path(Config& c, const std::string& path, const std::string& text, std::string& why) {
  bool found = false, ok = true;
  visit_fields(c, [&](const char* p, auto& field) {
    if (path == p) {
      found = true;
      ok = assign_text(field, text, why);
    }
  });
  if (!found) why = "unknown key";
  return found && ok;
}

}  // namespace

json to_flat_json(const Config& c) {
  json out = json::object();
  visit_fields(const_cast<Config&>(c), [&](const char* path, auto& field) { out[path] = field; });
  return out;
}

LoadResult parse_config_text(const std::string& text, const std::string& origin) {
  LoadResult r;
  json j;
  try {
    j = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    r.errors.push_back(origin + ": not valid JSON: " + e.what());
    return r;
  }
  if (!j.is_object()) {
    r.errors.push_back(origin + ": expected an object at the top");
    return r;
  }
  std::map<std::string, json> flat;
  flatten(j, "", flat, r.errors, origin);
  visit_fields(r.config, [&](const char* path, auto& field) {
    auto it = flat.find(path);
    if (it == flat.end()) return;
    std::string why;
    if (!assign(field, it->second, why)) r.errors.push_back(origin + ": " + path + ": " + why);
    flat.erase(it);
  });
  for (const auto& [path, value] : flat) r.errors.push_back(origin + ": " + path + ": unknown key");
  return r;
}

void validate(const Config& c, std::vector<std::string>& errors) {
  auto port = [&](const char* path, int v) {
    if (v < 0 || v > 65535) errors.push_back(std::string(path) + ": port must be 0..65535, got " + std::to_string(v));
  };
  port("server.http_port", c.server.http_port);
  port("server.rtmp_port", c.server.rtmp_port);
  port("server.srt_port", c.server.srt_port);
  if (c.server.listen.empty()) errors.push_back("server.listen: must not be empty");
  if (c.server.data_dir.empty()) errors.push_back("server.data_dir: must not be empty");
  if (c.server.max_body_bytes < 1024) errors.push_back("server.max_body_bytes: must be at least 1024");
  if (c.server.header_timeout_s < 1) errors.push_back("server.header_timeout_s: must be at least 1");
  if (c.server.keepalive_timeout_s < 1) errors.push_back("server.keepalive_timeout_s: must be at least 1");
  if (c.server.shutdown_timeout_s < 1) errors.push_back("server.shutdown_timeout_s: must be at least 1");
  if (c.auth.session_ttl_hours < 1) errors.push_back("auth.session_ttl_hours: must be at least 1");
  if (c.auth.login_max_failures < 1) errors.push_back("auth.login_max_failures: must be at least 1");
  if (c.auth.login_window_s < 1) errors.push_back("auth.login_window_s: must be at least 1");
  if (c.store.queue_max < 16) errors.push_back("store.queue_max: must be at least 16");
  if (c.store.public_queue_max < 1) errors.push_back("store.public_queue_max: must be at least 1");
  if (c.share.card_cache < 1) errors.push_back("share.card_cache: must be at least 1");
  if (c.share.card_queue < 1) errors.push_back("share.card_queue: must be at least 1");
  if (c.share.cards_per_minute < 1) errors.push_back("share.cards_per_minute: must be at least 1");
  if (c.server.fd_reserve < 32) errors.push_back("server.fd_reserve: must be at least 32");
  if (c.server.max_connections < 1) errors.push_back("server.max_connections: must be at least 1");
  if (c.server.max_connections_per_address < 1) errors.push_back("server.max_connections_per_address: must be at least 1");
  if (c.server.shared_address_multiplier < 1) errors.push_back("server.shared_address_multiplier: must be at least 1");
  if (c.server.api_requests_per_s < 1) errors.push_back("server.api_requests_per_s: must be at least 1");
  if (c.server.api_burst < 1) errors.push_back("server.api_burst: must be at least 1");
  if (auto r = core::AddressSet::parse(c.server.trusted_proxies); !r) errors.push_back("server.trusted_proxies: " + r.error().message);
  if (auto r = core::AddressSet::parse(c.server.shared_addresses); !r) errors.push_back("server.shared_addresses: " + r.error().message);
  if (c.webrtc.port_min < 1024 || c.webrtc.port_max > 65535 || c.webrtc.port_max < c.webrtc.port_min)
    errors.push_back("webrtc.port_min/port_max: must be 1024..65535, port_min at most port_max");
  if (c.webrtc.turn_ttl_s < 60) errors.push_back("webrtc.turn_ttl_s: must be at least 60");
  if (c.webrtc.max_sdp_bytes < 1024 || c.webrtc.max_sdp_bytes > 262144)
    errors.push_back("webrtc.max_sdp_bytes: must be 1024..262144");
  if (c.webrtc.max_sdp_bytes > c.server.max_body_bytes)  // a larger body is refused before any route sees it
    errors.push_back("webrtc.max_sdp_bytes: must not be larger than server.max_body_bytes");
  if (c.webrtc.answer_timeout_ms < 500) errors.push_back("webrtc.answer_timeout_ms: must be at least 500");
  if (c.webrtc.gather_timeout_ms < 100 || c.webrtc.gather_timeout_ms >= c.webrtc.answer_timeout_ms)
    errors.push_back("webrtc.gather_timeout_ms: must be at least 100 and less than webrtc.answer_timeout_ms");
  if (c.webrtc.jitter_latency_ms < 0 || c.webrtc.jitter_latency_ms > 2000)
    errors.push_back("webrtc.jitter_latency_ms: must be 0..2000");
  if (c.webrtc.min_keyframe_request_ms < 100) errors.push_back("webrtc.min_keyframe_request_ms: must be at least 100");
  if (c.webrtc.media_timeout_s < 1) errors.push_back("webrtc.media_timeout_s: must be at least 1");
  if (c.webrtc.takeover_silence_ms < 0) errors.push_back("webrtc.takeover_silence_ms: must not be negative");
  if (c.webrtc.max_whep_viewers < 0) errors.push_back("webrtc.max_whep_viewers: must not be negative");
  if (c.webrtc.max_whep_per_address < 1) errors.push_back("webrtc.max_whep_per_address: must be at least 1");
  if (c.webrtc.whep_height < 144 || c.webrtc.whep_height > 2160) errors.push_back("webrtc.whep_height: must be 144..2160");
  if (c.webrtc.whep_kbps < 100) errors.push_back("webrtc.whep_kbps: must be at least 100");
  if (c.webrtc.whep_audio_kbps < 16 || c.webrtc.whep_audio_kbps > 256)
    errors.push_back("webrtc.whep_audio_kbps: must be 16..256");
  if (c.webrtc.whep_idle_stop_s < 0) errors.push_back("webrtc.whep_idle_stop_s: must not be negative");
  static const std::set<std::string> x264_presets{"ultrafast", "superfast", "veryfast", "faster", "fast",
                                                  "medium", "slow", "slower", "veryslow"};
  if (!x264_presets.count(c.webrtc.whep_preset))
    errors.push_back("webrtc.whep_preset: must be one of ultrafast, superfast, veryfast, faster, fast, medium, "
                     "slow, slower, veryslow");
  if (c.webrtc.overload_late_frames < 0 || c.webrtc.overload_late_frames > 1000)
    errors.push_back("webrtc.overload_late_frames: must be 0 (off) to 1000");
  if (c.reports.sample_s < 1 || c.reports.sample_s > 600) errors.push_back("reports.sample_s: must be 1..600");
  if (c.reports.archive_play_s < 1) errors.push_back("reports.archive_play_s: must be at least 1");
  if (!c.server.time_zone.empty() &&
      (c.server.time_zone.find("..") != std::string::npos || c.server.time_zone.front() == '/' ||
       !std::filesystem::is_regular_file("/usr/share/zoneinfo/" + c.server.time_zone)))
    errors.push_back("server.time_zone: \"" + c.server.time_zone +
                     "\" is not a time zone of /usr/share/zoneinfo (an IANA name such as \"Europe/Moscow\"; Debian: tzdata)");
  if (c.relays.max_per_event < 0 || c.relays.max_per_event > 64) errors.push_back("relays.max_per_event: must be 0..64");
  if (c.relays.queue_ms < 500 || c.relays.queue_ms > 60000) errors.push_back("relays.queue_ms: must be 500..60000");
  if (c.relays.retry_min_s < 1) errors.push_back("relays.retry_min_s: must be at least 1");
  if (c.relays.retry_max_s < c.relays.retry_min_s) errors.push_back("relays.retry_max_s: must be at least relays.retry_min_s");
  if (c.relays.connect_timeout_s < 1 || c.relays.connect_timeout_s > 120)
    errors.push_back("relays.connect_timeout_s: must be 1..120");
  if (c.studios.reconnect_grace_s < 0) errors.push_back("studios.reconnect_grace_s: must not be negative");
  if (c.ingest.srt_latency_ms < 20 || c.ingest.srt_latency_ms > 8000)
    errors.push_back("ingest.srt_latency_ms: must be 20..8000");
  if (c.ingest.max_publishers < 1) errors.push_back("ingest.max_publishers: must be at least 1");
  if (c.ingest.max_connections_per_address < 1)
    errors.push_back("ingest.max_connections_per_address: must be at least 1");
  if (c.ingest.auth_timeout_s < 1 || c.ingest.auth_timeout_s > 300)
    errors.push_back("ingest.auth_timeout_s: must be 1..300");
  if (c.ingest.max_command_bytes < 4096 || c.ingest.max_command_bytes > 1048576)
    errors.push_back("ingest.max_command_bytes: must be 4096..1048576");
  if (c.ingest.max_held_media_bytes < 1048576)
    errors.push_back("ingest.max_held_media_bytes: must be at least 1048576");
  if (c.ingest.srt_max_pending_handshakes < 1)
    errors.push_back("ingest.srt_max_pending_handshakes: must be at least 1");
  if (c.live.part_target_ms < 100 || c.live.part_target_ms > 2000)
    errors.push_back("live.part_target_ms: must be 100..2000");
  if (c.live.segment_target_ms < c.live.part_target_ms || c.live.segment_target_ms > 10000)
    errors.push_back("live.segment_target_ms: must be at least live.part_target_ms and at most 10000");
  if (c.live.max_held_requests < 1) errors.push_back("live.max_held_requests: must be at least 1");
  if (c.live.window_segments < 3 || c.live.window_segments > 100)
    errors.push_back("live.window_segments: must be 3..100");
  if (c.ws.max_connections_per_address < 1) errors.push_back("ws.max_connections_per_address: must be at least 1");
  if (c.ws.max_frame_bytes < 256 || c.ws.max_frame_bytes > 65536)
    errors.push_back("ws.max_frame_bytes: must be 256..65536");
  if (c.ws.comments_per_window < 1) errors.push_back("ws.comments_per_window: must be at least 1");
  if (c.ws.comment_window_s < 1) errors.push_back("ws.comment_window_s: must be at least 1");
  if (c.ws.mute_s < 0) errors.push_back("ws.mute_s: must not be negative");
  if (c.ws.ping_interval_s < 1 || c.ws.ping_interval_s > 3600) errors.push_back("ws.ping_interval_s: must be 1..3600");
  if (c.ws.backlog_frames < 16) errors.push_back("ws.backlog_frames: must be at least 16");
  if (c.ws.max_ratings_per_address < 1) errors.push_back("ws.max_ratings_per_address: must be at least 1");
  if (c.ws.comments_per_address_window < 1) errors.push_back("ws.comments_per_address_window: must be at least 1");
  if (c.archive.dir.empty()) errors.push_back("archive.dir: must not be empty");
  if (c.archive.max_loss_ms < 50 || c.archive.max_loss_ms > 60000)
    errors.push_back("archive.max_loss_ms: must be 50..60000");
  if (c.archive.max_bytes < 0) errors.push_back("archive.max_bytes: must not be negative");
  if (c.archive.keep_days < 0) errors.push_back("archive.keep_days: must not be negative");
  if (c.archive.export_workers < 1 || c.archive.export_workers > 16)
    errors.push_back("archive.export_workers: must be 1..16");
  if (c.archive.export_queue < 0 || c.archive.export_queue > 1000)
    errors.push_back("archive.export_queue: must be 0..1000");
  if (c.archive.export_timeout_s < 1) errors.push_back("archive.export_timeout_s: must be at least 1");
  if (c.archive.export_timeout_per_hour_s < 0)
    errors.push_back("archive.export_timeout_per_hour_s: must not be negative");
  core::LogLevel level;
  if (!core::parse_log_level(c.log.level, level))
    errors.push_back("log.level: expected debug, info, warn or error, got '" + c.log.level + "'");
}

std::string usage() {
  std::string u =
      "usage: sreda [--config FILE] [--data-dir DIR] [--http-port N] [--rtmp-port N] [--srt-port N]\n"
      "             [--listen ADDR] [--static-dir DIR] [--public-url URL] [--log-level LEVEL]\n"
      "Every config key can also be set as SREDA_<SECTION>_<KEY>, e.g. SREDA_SERVER_HTTP_PORT=8080.\n"
      "Order: defaults < config file < environment < flags. Port 0 picks a free port.\n";
  return u;
}

CliResult load(int argc, const char* const* argv, const std::map<std::string, std::string>& env) {
  CliResult r;
  // First pass: --config and --help.
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") r.help = true;
    if (a == "--config" && i + 1 < argc) r.config_path = argv[++i];
    else if (a.rfind("--config=", 0) == 0) r.config_path = a.substr(9);
  }
  if (r.help) return r;
  if (!r.config_path.empty()) {
    std::ifstream in(r.config_path);
    if (!in) {
      r.errors.push_back(r.config_path + ": cannot read the config file");
    } else {
      std::stringstream ss;
      ss << in.rdbuf();
      auto loaded = parse_config_text(ss.str(), r.config_path);
      r.config = loaded.config;
      r.errors.insert(r.errors.end(), loaded.errors.begin(), loaded.errors.end());
    }
  }
  visit_fields(r.config, [&](const char* path, auto& field) {
    auto it = env.find(env_name(path));
    if (it == env.end()) return;
    std::string why;
    if (!assign_text(field, it->second, why)) r.errors.push_back(it->first + " (" + path + "): " + why);
  });
  check_env_names(env, r.errors);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config") {
      ++i;
      continue;
    }
    if (a.rfind("--config=", 0) == 0) continue;
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const auto& f : kFlags)
      if (name == f.name) flag = &f;
    if (!flag) {
      r.errors.push_back(a + ": unknown option (see --help)");
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        r.errors.push_back(name + ": needs a value");
        continue;
      }
      value = argv[++i];
    }
    std::string why;
    if (!set_by_path(r.config, flag->path, value, why)) r.errors.push_back(name + " (" + flag->path + "): " + why);
  }
  validate(r.config, r.errors);
  return r;
}

}  // namespace sreda::config
