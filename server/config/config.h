// sreda's configuration. One source of defaults: the initialisers below (STYLE.md 9).
// config/sreda.jsonc documents every key; a unit test proves it equals these defaults.
// Loaded once at start-up on the main thread; read-only afterwards (any thread).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace sreda::config {

struct ServerConfig {
  std::string listen = "0.0.0.0";  // address every listener binds
  int http_port = 8080;            // 0 = pick a free port
  int rtmp_port = 1935;
  int srt_port = 8890;
  std::string public_url;          // e.g. "https://culture.example.org"; empty = from the Host header
  std::string data_dir = "var";    // SQLite database, archive, admin-password
  std::string static_dir = "player-web/public";
  int64_t max_body_bytes = 65536;  // larger request bodies get 413
  int header_timeout_s = 20;       // a request whose header is not complete by then is closed (slowloris)
  int keepalive_timeout_s = 30;    // an idle keep-alive HTTP connection is closed after this
  int shutdown_timeout_s = 5;
  // Descriptors and connections on the HTTP port (the live front refuses new ones beyond these; README "on
  // the internet").
  int fd_reserve = 256;            // descriptors kept free for recordings, the store and studios' sockets
  int max_connections = 50000;     // HTTP connections in total
  int max_connections_per_address = 256;  // HTTP connections per client address (IPv6: per /64)
  std::string trusted_proxies;     // comma-separated CIDRs whose X-Forwarded-For / Forwarded name the client
  std::string shared_addresses;    // comma-separated CIDRs many people share (a school's NAT): larger limits
  int shared_address_multiplier = 16;  // a shared address's per-address limits are this many times larger
  int api_requests_per_s = 20;     // /api/… requests per client address and second (then 429 + Retry-After)
  int api_burst = 60;
  // The city's time zone (an IANA name, e.g. "Europe/Moscow"): season reports count days and months in it.
  // Empty: the machine's own (TZ, /etc/localtime).
  std::string time_zone;              // … with bursts up to this many
};

struct AuthConfig {
  int session_ttl_hours = 12;
  int login_max_failures = 5;    // per client address within login_window_s, then 429
  int login_window_s = 300;
};

struct StoreConfig {
  int queue_max = 10000;         // jobs waiting for the store thread; more get 503
  int public_queue_max = 500;    // public reads (listings, a page's event) wait in their own lane, at most this many
};

struct StudiosConfig {
  bool allow_unscheduled = false;  // a publish with no scheduled event creates an ad-hoc one
  int reconnect_grace_s = 60;
};

struct IngestConfig {
  int srt_latency_ms = 200;        // SRT receive latency: more survives a worse line, adds delay
  int max_publishers = 64;         // connections at once per protocol; when full, the oldest not publishing yields
  int max_connections_per_address = 8;  // RTMP and SRT connections at once from one address (a studio's NAT)
  int auth_timeout_s = 10;         // an RTMP connection not publishing this long after connecting is closed
  int max_command_bytes = 65536;   // largest RTMP command/data message; before publish, every message
  int64_t max_held_media_bytes = 16777216;  // per publisher, media held before both tracks are configured
  int srt_max_pending_handshakes = 16;      // SRT handshakes in progress at once (key matched, not completed)
};

struct LiveConfig {
  // LL-HLS parts at most this long, equal per segment (players hold back 3): 210 gives 0.2 s parts (5 frames
  // at 25 fps, 6 at 30; PART-TARGET 0.205/0.206 with millisecond timestamps).
  int part_target_ms = 210;
  int segment_target_ms = 2000;  // segments start on a keyframe at or after this
  int window_segments = 10;      // segments kept in memory per rendition
  int max_held_requests = 20000; // LL-HLS blocking requests waiting for a part at once; more get 503
};

struct LadderConfig {
  bool enabled = true;                  // encode live events into the ladder (HEVC/Opus/MP3 need it)
  std::string dir = "config/ladders";   // ladder presets, one <name>.jsonc each
  std::string default_ladder = "default";
  std::string studios;                  // per-studio choice: "<studio id>=<ladder>,…"
};

// The audience channel (/ws): comments, ratings, viewer counts.
struct WsConfig {
  std::string allowed_origins;         // comma-separated origins allowed to open /ws; empty = this server's own
  int max_connections_per_address = 100;  // a care home or school shares one address
  int max_frame_bytes = 4096;          // larger messages are closed with 1009
  int comments_per_window = 3;         // per connection and per viewer id …
  int comment_window_s = 5;            // … within this window, then a mute
  int mute_s = 30;
  int ping_interval_s = 30;            // idle connections are pinged; no pong within as long again: closed
  int backlog_frames = 512;            // frames a slow client may fall behind before it is dropped
  int max_ratings_per_address = 20;    // ratings from one address (IPv6: /64) counted in an event's public rating
  int comments_per_address_window = 10;  // comments from one address per comment window (and per slow-mode interval)
};

struct ArchiveConfig {
  std::string dir = "archive";   // the recordings; relative paths are under server.data_dir
  int max_loss_ms = 1000;        // a crash loses at most this much of the part being written (fsync period)
  int64_t max_bytes = 0;         // retention: oldest recordings deleted beyond this total; 0 = no limit
  int keep_days = 0;             // retention: recordings older than this deleted; 0 = keep forever
  std::string renditions;        // comma-separated rendition names to record; empty = every rendition
  int export_workers = 2;        // MP4 exports run at once (one slow export never blocks the others)
  int export_queue = 8;          // exports waiting beyond those; more are refused ("busy")
  int export_timeout_s = 60;     // an export ends with an error after this …
  int export_timeout_per_hour_s = 360;  // … plus this per hour of exported media
};

// Relays: an event's media pushed to other servers (platforms, a partner city), and studios whose source is
// pulled from a partner (server/relay).
struct RelaysConfig {
  // Comma-separated host names, addresses and CIDR blocks a relay or a pull may reach; empty = public
  // addresses only (a curator's URL cannot make the server reach internal hosts).
  std::string allowed_hosts;
  int max_per_event = 8;          // push targets per event (its own and its studio's defaults)
  int queue_ms = 4000;            // media a target may fall behind; beyond it, video skips to the next keyframe (counted)
  int retry_min_s = 1;            // a relay or pull that fails tries again after this, doubling …
  int retry_max_s = 30;           // … up to this
  int connect_timeout_s = 10;     // a target that does not answer within this is a failed try
  // A PEM file of CA certificates trusted besides the system's, for rtmps:// and https:// (a partner city's
  // private CA); certificates are always verified. Empty = the system's CAs only.
  std::string ca_file;
};

struct ReportsConfig {
  // Curators' reports collected at all: false stops the watch pages' playback tallies, the samples and the players
  // estimate (the reports then say `collecting: false`); comments and ratings are kept as always.
  bool enabled = true;
  int sample_s = 10;          // curators' reports: one timeline sample per event on air this often
  int archive_play_s = 60;    // archive watching that counts as a play
};

// Shared links (server/web/share_pages.h): the picture each event's link preview shows, made on the server.
struct ShareConfig {
  int card_cache = 256;         // preview pictures kept in memory, least recently asked dropped first
  int card_queue = 8;           // pictures waiting to be made (one is made at a time); more: 503 busy
  int cards_per_minute = 30;    // pictures made per minute at most (each costs ~0.1 CPU-s); more: 503 busy
};

// WebRTC (README "Real time and going live from a browser"): WHIP ingest (a browser or OBS 30+ publishing) and
// WHEP playback (viewers in under a second), both on UDP through libnice (pipelines/webrtc).
struct WebRtcConfig {
  bool enabled = true;
  int port_min = 20000;              // UDP ports for WebRTC media (open them in the firewall) …
  int port_max = 20999;              // … up to this one
  // Comma-separated local addresses to gather candidates on; empty = every address but loopback (libnice's
  // default). Tests and a one-machine trial: "127.0.0.1".
  std::string local_addresses;
  // Comma-separated public addresses announced besides the local ones (the server behind a 1:1 NAT).
  std::string public_addresses;
  std::string stun_server;           // the server's own STUN server, "stun://host:port"; empty = none
  // Comma-separated ICE server URLs handed to browsers and WHIP/WHEP clients (Link: rel="ice-server"), e.g.
  // "stun:stun.example.org:3478,turn:turn.example.org:3478?transport=udp".
  std::string ice_servers;
  std::string turn_secret;           // coturn's static-auth-secret: turn: URLs get time-limited credentials
  int turn_ttl_s = 86400;            // how long such credentials last
  int max_sdp_bytes = 16384;         // a larger offer gets 413
  int answer_timeout_ms = 5000;      // an offer not answered within this: 503
  int gather_timeout_ms = 1500;      // the answer waits this long at most for the server's candidates
  int jitter_latency_ms = 200;       // WHIP: the receive jitter buffer
  int min_keyframe_request_ms = 1000;  // keyframe requests (PLI) to a publisher or the WHEP encoder: at most one this often
  int media_timeout_s = 10;          // a WHIP publisher that sends no media this long is dropped
  int takeover_silence_ms = 3000;    // a new WHIP publish takes over from one silent this long (a browser that dropped)
  int max_whep_viewers = 50;         // real-time viewers on this server at once; beyond: 503 and LL-HLS
  int max_whep_per_address = 4;      // … from one address
  int whep_height = 720;             // the WHEP encode for RTMP/SRT studios (no B-frames): at most this tall
  int whep_kbps = 1500;              // … its video bitrate
  int whep_audio_kbps = 64;          // Opus for WHEP when the studio sends AAC
  int whep_idle_stop_s = 15;         // an event's WHEP feed stops this long after its last viewer left
  std::string whep_preset = "veryfast";  // x264's speed preset for the WHEP encode (slower: better, more CPU)
  // The overload rule: this many late frames of one encode (a ladder rung, a WHEP encode with viewers) within
  // 5 s and new WHEP viewers get 503 until no frame has been late for 10 s; 0 = off.
  int overload_late_frames = 10;
};

struct LogConfig {
  std::string level = "info";    // debug | info | warn | error
};

struct Config {
  ServerConfig server;
  AuthConfig auth;
  StoreConfig store;
  StudiosConfig studios;
  IngestConfig ingest;
  LiveConfig live;
  LadderConfig ladder;
  WsConfig ws;
  ArchiveConfig archive;
  RelaysConfig relays;
  ReportsConfig reports;
  ShareConfig share;
  WebRtcConfig webrtc;
  LogConfig log;
};

// Calls v(path, field) for every key. The one list of keys: loading, env, CLI, dump and tests use it.
template <class Visitor>
void visit_fields(Config& c, Visitor&& v) {
  v("server.listen", c.server.listen);
  v("server.http_port", c.server.http_port);
  v("server.rtmp_port", c.server.rtmp_port);
  v("server.srt_port", c.server.srt_port);
  v("server.public_url", c.server.public_url);
  v("server.data_dir", c.server.data_dir);
  v("server.static_dir", c.server.static_dir);
  v("server.max_body_bytes", c.server.max_body_bytes);
  v("server.header_timeout_s", c.server.header_timeout_s);
  v("server.keepalive_timeout_s", c.server.keepalive_timeout_s);
  v("server.shutdown_timeout_s", c.server.shutdown_timeout_s);
  v("server.fd_reserve", c.server.fd_reserve);
  v("server.max_connections", c.server.max_connections);
  v("server.max_connections_per_address", c.server.max_connections_per_address);
  v("server.trusted_proxies", c.server.trusted_proxies);
  v("server.shared_addresses", c.server.shared_addresses);
  v("server.shared_address_multiplier", c.server.shared_address_multiplier);
  v("server.api_requests_per_s", c.server.api_requests_per_s);
  v("server.api_burst", c.server.api_burst);
  v("server.time_zone", c.server.time_zone);
  v("auth.session_ttl_hours", c.auth.session_ttl_hours);
  v("auth.login_max_failures", c.auth.login_max_failures);
  v("auth.login_window_s", c.auth.login_window_s);
  v("store.queue_max", c.store.queue_max);
  v("store.public_queue_max", c.store.public_queue_max);
  v("studios.allow_unscheduled", c.studios.allow_unscheduled);
  v("studios.reconnect_grace_s", c.studios.reconnect_grace_s);
  v("ingest.srt_latency_ms", c.ingest.srt_latency_ms);
  v("ingest.max_publishers", c.ingest.max_publishers);
  v("ingest.max_connections_per_address", c.ingest.max_connections_per_address);
  v("ingest.auth_timeout_s", c.ingest.auth_timeout_s);
  v("ingest.max_command_bytes", c.ingest.max_command_bytes);
  v("ingest.max_held_media_bytes", c.ingest.max_held_media_bytes);
  v("ingest.srt_max_pending_handshakes", c.ingest.srt_max_pending_handshakes);
  v("live.part_target_ms", c.live.part_target_ms);
  v("live.segment_target_ms", c.live.segment_target_ms);
  v("live.window_segments", c.live.window_segments);
  v("live.max_held_requests", c.live.max_held_requests);
  v("ladder.enabled", c.ladder.enabled);
  v("ladder.dir", c.ladder.dir);
  v("ladder.default", c.ladder.default_ladder);
  v("ladder.studios", c.ladder.studios);
  v("ws.allowed_origins", c.ws.allowed_origins);
  v("ws.max_connections_per_address", c.ws.max_connections_per_address);
  v("ws.max_frame_bytes", c.ws.max_frame_bytes);
  v("ws.comments_per_window", c.ws.comments_per_window);
  v("ws.comment_window_s", c.ws.comment_window_s);
  v("ws.mute_s", c.ws.mute_s);
  v("ws.ping_interval_s", c.ws.ping_interval_s);
  v("ws.backlog_frames", c.ws.backlog_frames);
  v("ws.max_ratings_per_address", c.ws.max_ratings_per_address);
  v("ws.comments_per_address_window", c.ws.comments_per_address_window);
  v("archive.dir", c.archive.dir);
  v("archive.max_loss_ms", c.archive.max_loss_ms);
  v("archive.max_bytes", c.archive.max_bytes);
  v("archive.keep_days", c.archive.keep_days);
  v("archive.renditions", c.archive.renditions);
  v("archive.export_workers", c.archive.export_workers);
  v("archive.export_queue", c.archive.export_queue);
  v("archive.export_timeout_s", c.archive.export_timeout_s);
  v("archive.export_timeout_per_hour_s", c.archive.export_timeout_per_hour_s);
  v("relays.allowed_hosts", c.relays.allowed_hosts);
  v("relays.max_per_event", c.relays.max_per_event);
  v("relays.queue_ms", c.relays.queue_ms);
  v("relays.retry_min_s", c.relays.retry_min_s);
  v("relays.retry_max_s", c.relays.retry_max_s);
  v("relays.connect_timeout_s", c.relays.connect_timeout_s);
  v("relays.ca_file", c.relays.ca_file);
  v("reports.enabled", c.reports.enabled);
  v("reports.sample_s", c.reports.sample_s);
  v("reports.archive_play_s", c.reports.archive_play_s);
  v("share.card_cache", c.share.card_cache);
  v("share.card_queue", c.share.card_queue);
  v("share.cards_per_minute", c.share.cards_per_minute);
  v("webrtc.enabled", c.webrtc.enabled);
  v("webrtc.port_min", c.webrtc.port_min);
  v("webrtc.port_max", c.webrtc.port_max);
  v("webrtc.local_addresses", c.webrtc.local_addresses);
  v("webrtc.public_addresses", c.webrtc.public_addresses);
  v("webrtc.stun_server", c.webrtc.stun_server);
  v("webrtc.ice_servers", c.webrtc.ice_servers);
  v("webrtc.turn_secret", c.webrtc.turn_secret);
  v("webrtc.turn_ttl_s", c.webrtc.turn_ttl_s);
  v("webrtc.max_sdp_bytes", c.webrtc.max_sdp_bytes);
  v("webrtc.answer_timeout_ms", c.webrtc.answer_timeout_ms);
  v("webrtc.gather_timeout_ms", c.webrtc.gather_timeout_ms);
  v("webrtc.jitter_latency_ms", c.webrtc.jitter_latency_ms);
  v("webrtc.min_keyframe_request_ms", c.webrtc.min_keyframe_request_ms);
  v("webrtc.media_timeout_s", c.webrtc.media_timeout_s);
  v("webrtc.takeover_silence_ms", c.webrtc.takeover_silence_ms);
  v("webrtc.max_whep_viewers", c.webrtc.max_whep_viewers);
  v("webrtc.max_whep_per_address", c.webrtc.max_whep_per_address);
  v("webrtc.whep_height", c.webrtc.whep_height);
  v("webrtc.whep_kbps", c.webrtc.whep_kbps);
  v("webrtc.whep_audio_kbps", c.webrtc.whep_audio_kbps);
  v("webrtc.whep_idle_stop_s", c.webrtc.whep_idle_stop_s);
  v("webrtc.whep_preset", c.webrtc.whep_preset);
  v("webrtc.overload_late_frames", c.webrtc.overload_late_frames);
  v("log.level", c.log.level);
}

// Flat {"server.http_port": 8080, …} view of a config, for comparisons and the start-up dump.
nlohmann::json to_flat_json(const Config& c);

struct LoadResult {
  Config config;
  std::vector<std::string> errors;  // every problem at once, each naming its key path
};

// Parses JSON-with-comments text over the defaults. Unknown keys and wrong types are errors.
LoadResult parse_config_text(const std::string& text, const std::string& origin);

// The whole start-up sequence: defaults, then the file (if any), then SREDA_<PATH> environment
// variables (e.g. SREDA_SERVER_HTTP_PORT), then CLI flags. Exits nowhere: the caller reports errors.
// Also handles --help (sets help=true).
struct CliResult {
  Config config;
  std::vector<std::string> errors;
  bool help = false;
  std::string config_path;
};
CliResult load(int argc, const char* const* argv, const std::map<std::string, std::string>& env);

std::string usage();

// Checks values (ports in range, level name…). Appends errors naming the key path.
void validate(const Config& c, std::vector<std::string>& errors);

}  // namespace sreda::config
