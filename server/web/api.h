// The REST API under /api: curators, studios, events, the public programme.
// handle() runs on the web thread and only matches the route; the work runs as a job on the store
// thread (each request is one short transaction on the one connection), and the reply returns
// through the HTTP server's outbox.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/audience/audience_hub.h"
#include "server/audience/identity.h"
#include "server/archive/archive.h"
#include "server/archive/mp4_export.h"
#include "server/auth/curators.h"
#include "server/auth/login_limiter.h"
#include "server/config/config.h"
#include "server/hub/event_hub.h"
#include "server/hub/key_directory.h"
#include "server/live/live_outputs.h"
#include "server/relay/relay_service.h"
#include "server/relay/relay_url.h"
#include "server/schedule/event.h"
#include "server/core/client_address.h"
#include "server/core/metrics.h"
#include "server/store/store.h"
#include "server/web/api_schemas.h"
#include "server/web/http.h"
#include "server/web/limits.h"
#include "server/web/refusal_window.h"

namespace sreda::web {

class IngestInfo;

// What the API reads or tells besides the store, each optional (null: the routes that need it answer 503,
// or the part of a reply it fills is left out). Not owned; all outlive the Api.
struct ApiServices {
  live::LiveOutputs* live_outputs = nullptr;      // per-rendition health (ladder) in GET /api/events/{id}/live
  audience::AudienceHub* audience = nullptr;      // told about moderation (else only the database changes)
  archive::Archive* archive = nullptr;            // the recording routes (api_recording.cpp)
  archive::Mp4Exporter* exporter = nullptr;
  const IngestInfo* ingest = nullptr;            // publish settings (RTMP server, SRT URL) on the artist's view
  // The counters of 429s for over-rate requests (sreda_http_refused_total{cause="api_rate"}) and for logins
  // the login limiter refuses ({cause="login_limit"}).
  std::atomic<uint64_t>* rate_refused = nullptr;
  std::atomic<uint64_t>* login_refused = nullptr;
  const RefusalWindow* server_refusals = nullptr;  // server-wide refusals over the last minutes, in …/live
  // The relays' runtime (server/relay): told when relays or a studio's pull_url change, asked for their state
  // (…/live, the studios) and for the desk's "test connection" (null: those answer 503).
  relay::RelayControl* relays = nullptr;
  // The wishes (api_wishes.cpp): the viewer identity's secret, the one the pages and the audience socket use
  // (empty: a random one), whether its cookie is Secure, and where refusals are counted (may be null).
  std::string viewer_secret;
  bool secure_cookie = false;
  core::Metrics* metrics = nullptr;
};

// Whose relays a route edits: an event's own, or a studio's defaults for its events (api_relays.cpp).
enum class RelayOwner { event, studio };

class Api : public RouteHandler {
 public:
  using Services = ApiServices;
  // `hub` may be null (then /end and /live answer 503).
  // `addresses`: shared addresses get larger request rates (may be null).
  Api(const config::Config& config, store::Store& store, auth::LoginLimiter& limiter, hub::KeyDirectory& keys,
      hub::EventHub* hub, core::AddressPolicyPtr addresses = nullptr, Services services = {});
  void handle(HttpRequest request, Reply reply) override;

  using Access = ApiAccess;
  struct Call {
    const HttpRequest& request;
    store::Db& db;
    std::vector<int64_t> ids;          // the {id} parts of the path, in order
    nlohmann::json body;               // parsed when the route takes JSON
    std::optional<auth::Curator> who;  // the logged-in curator (curator/admin routes)
    int64_t now;
    Reply reply;  // for handlers that answer later: they return deferred()
  };
  // Returned by a handler that will call call.reply itself (e.g. after asking the hub).
  static HttpResponse deferred() {
    HttpResponse r;
    r.status = 0;
    return r;
  }
  using Fn = HttpResponse (Api::*)(Call&);
  // One row of the API's one table: the dispatcher matches method and pattern, checks access, parses the
  // body and calls fn; /api/openapi.json is built from the same rows.
  struct ApiRoute {
    const char* method;
    const char* pattern;  // an OpenAPI path template, "/api/studios/{id}/rotate-key"; each {name} is a number
    Access access;
    Fn fn;
    ApiDoc doc;  // what the document says of it; doc.request set: the route takes a JSON object
    // Reads comments the audience hub may not have written yet: its pending batch is queued first.
    bool flush_audience = false;
  };

 private:
  HttpResponse run(const ApiRoute& route, Call& call);
  // Web thread: 0 when `request` may go on; else the seconds its address must wait (server.api_requests_per_s).
  int64_t over_rate(const HttpRequest& request);

  // the document (built once from routes_) and where studios publish (IngestInfo)
  HttpResponse openapi(Call& c);
  HttpResponse ingest(Call& c);
  // auth
  HttpResponse login(Call& c);
  HttpResponse logout(Call& c);
  HttpResponse me(Call& c);
  HttpResponse list_curators(Call& c);
  HttpResponse create_curator(Call& c);
  HttpResponse delete_curator(Call& c);
  // studios
  HttpResponse list_studios(Call& c);
  HttpResponse get_studio(Call& c);
  HttpResponse create_studio(Call& c);
  HttpResponse patch_studio(Call& c);
  HttpResponse delete_studio(Call& c);
  HttpResponse rotate_key(Call& c);
  // the artist's view (api_studio_view.cpp)
  HttpResponse rotate_view_token(Call& c);
  HttpResponse studio_view(Call& c);
  HttpResponse studio_answer(Call& c);
  // events
  HttpResponse list_events(Call& c);
  HttpResponse get_event(Call& c);
  HttpResponse create_event(Call& c);
  HttpResponse patch_event(Call& c);
  HttpResponse cancel_event(Call& c);
  HttpResponse delete_event(Call& c);
  HttpResponse end_event(Call& c);
  HttpResponse live_event(Call& c);
  // recordings (api_recording.cpp)
  HttpResponse get_recording(Call& c);
  HttpResponse export_recording(Call& c);
  HttpResponse delete_recording(Call& c);
  HttpResponse trim_recording(Call& c);
  // public
  HttpResponse public_events(Call& c);
  HttpResponse public_event(Call& c);
  // relays (api_relays.cpp): an event's own, a studio's defaults for its events, the desk's test
  HttpResponse list_event_relays(Call& c);
  HttpResponse create_event_relay(Call& c);
  HttpResponse patch_event_relay(Call& c);
  HttpResponse delete_event_relay(Call& c);
  HttpResponse test_event_relay(Call& c);
  HttpResponse list_studio_relays(Call& c);
  HttpResponse create_studio_relay(Call& c);
  HttpResponse patch_studio_relay(Call& c);
  HttpResponse delete_studio_relay(Call& c);
  HttpResponse test_studio_relay(Call& c);
  HttpResponse test_relay_url(Call& c);
  HttpResponse list_relays(Call& c, RelayOwner owner);
  HttpResponse create_relay(Call& c, RelayOwner owner);
  HttpResponse patch_relay(Call& c, RelayOwner owner);
  HttpResponse delete_relay(Call& c, RelayOwner owner);
  HttpResponse test_relay(Call& c, RelayOwner owner);
  // At most one test at a time per curator and per relay (`relay_id`, 0 for an address not saved yet), and
  // RelayControl::kMaxRelayTests in all: beyond that a 429 that says a test is already running.
  HttpResponse run_relay_test(Call& c, const std::string& url, int64_t relay_id);
  std::optional<HttpResponse> relay_owner(Call& c, RelayOwner owner, int64_t& studio_id);
  std::optional<HttpResponse> apply_relay_fields(const nlohmann::json& body, bool create, int64_t studio_id,
                                                 relay::RelayTarget& t) const;
  // A 422 when `url` does not parse for `use` or is a literal address relays.allowed_hosts refuses.
  std::optional<HttpResponse> check_relay_url(const std::string& url, relay::Use use, const char* field) const;
  // "source" and the rungs of the studio's ladder.
  std::vector<std::string> relay_renditions(int64_t studio_id) const;
  void relays_changed(RelayOwner owner, int64_t id) const;
  void audit_relay(Call& c, RelayOwner owner, const char* action, const relay::RelayTarget& t);
  // PATCH /api/studios/{id} "pull_url": `change` set to the new URL ("" to stop pulling), or left unset when
  // the value is the stored URL's masked form; a 422 when it is not a URL a studio may pull.
  std::optional<HttpResponse> check_pull_url(const nlohmann::json& value, int64_t studio_id, store::Db& db,
                                             std::optional<std::string>& change) const;
  void set_pull_url(Call& c, int64_t studio_id, const std::string& url);
  // GET /api/events/{id}/live "relays": each configured relay with the runtime's state when it has one.
  nlohmann::json relays_live_json(store::Db& db, const schedule::Event& e) const;
  // A live (or intermission) event's "viewers" (the audience hub's count) and "poster" (the live poster
  // frame's URL, null until there is one). Nothing for other states.
  // Whether a live (or intermission) event's renditions carry no picture (a sound-only studio).
  bool sound_only(const nlohmann::json& event) const;
  void add_live_fields(nlohmann::json& event) const;
  // residents' wishes (api_wishes.cpp)
  HttpResponse public_wishes(Call& c);
  HttpResponse suggest_wish(Call& c);
  HttpResponse vote_for_wish(Call& c);
  HttpResponse curator_wishes(Call& c);
  HttpResponse hide_wish(Call& c);
  HttpResponse unhide_wish(Call& c);
  HttpResponse patch_wish(Call& c);
  HttpResponse set_wish_status(Call& c, const std::string& status);
  // The request's viewer (its sreda_viewer cookie), or a new one whose token with_viewer() sets as the cookie.
  struct Viewer {
    std::string id;
    std::string new_token;  // "" when the request carried a valid one
  };
  Viewer viewer_of(const HttpRequest& request) const;
  HttpResponse with_viewer(HttpResponse r, const Viewer& v) const;
  // A wish limit refused a request: counts it (sreda_wishes_refused_total{reason}) and logs one line per burst.
  void wish_refused(const char* reason, const std::string& line);
  // curators' reports (api_reports.cpp)
  HttpResponse event_report(Call& c);
  HttpResponse event_report_csv(Call& c);
  HttpResponse season_report(Call& c);
  HttpResponse season_report_csv(Call& c);
  // audience (api_audience.cpp)
  HttpResponse public_comments(Call& c);
  HttpResponse curator_comments(Call& c);
  HttpResponse hide_comment(Call& c);
  HttpResponse unhide_comment(Call& c);
  HttpResponse set_slow_mode(Call& c);
  HttpResponse get_slow_mode(Call& c);
  HttpResponse list_bans(Call& c);
  HttpResponse create_ban(Call& c);
  HttpResponse delete_ban(Call& c);
  HttpResponse list_words(Call& c);
  HttpResponse set_words(Call& c);
  HttpResponse moderation_log(Call& c);
  HttpResponse set_comment_status(Call& c, const std::string& status);
  HttpResponse answer_comment(Call& c);
  // Marks a question answered for `by` and tells the audience hub; the comment as `view` renders it.
  HttpResponse mark_answered(Call& c, audience::Comment cm, const std::string& by,
                             nlohmann::json (*view)(const audience::Comment&));

  const config::Config& config_;
  store::Store& store_;
  auth::LoginLimiter& limiter_;
  hub::KeyDirectory& keys_;
  hub::EventHub* hub_;
  live::LiveOutputs* const live_outputs_;
  audience::AudienceHub* const audience_;
  archive::Archive* const archive_;
  archive::Mp4Exporter* const exporter_;
  const IngestInfo* const ingest_;
  relay::RelayControl* const relays_;
  const core::Result<relay::Destinations> destinations_;  // relays.allowed_hosts
  std::vector<ApiRoute> routes_;
  std::string openapi_json_;  // GET /api/openapi.json, made from routes_ by the constructor
  core::AddressPolicyPtr addresses_;
  RateLimiter rate_;      // web thread: /api requests per client address
  BurstLog rate_log_;     // web thread: one line per burst of 429s
  BurstLog login_log_;    // store thread: one line per burst of logins refused by the login limiter
  std::atomic<uint64_t>* const rate_refused_;
  // Bearer tokens of sessions the store found valid in the last minute (token → steady ms it was seen): a
  // logged-in curator's desk is not held to the anonymous per-address rate. Bounded; a revoked session keeps
  // only this exemption (its requests still get 401) until it ages out.
  std::mutex verified_mutex_;
  std::unordered_map<std::string, int64_t> verified_tokens_;
  bool recently_verified(const std::string& token, int64_t now_ms);
  void remember_verified(const std::string& token, int64_t now_ms);
  std::atomic<uint64_t>* const login_refused_;
  const RefusalWindow* const server_refusals_;
  const audience::ViewerTokens viewer_tokens_;
  const bool secure_cookie_;
  core::Metrics* const metrics_;
  BurstLog wish_log_;  // store thread: one line per burst of refused wishes
  // The studio's usual bitrate (a slowly decaying peak, kbit/s) for the artist's view health sentence.
  std::mutex usual_mutex_;
  std::unordered_map<int64_t, double> usual_kbps_;
};

// The artist's view link of a studio, "/studio/<id>?t=<token>"; creates the token on first use (store thread).
std::string studio_view_url(store::Db& db, int64_t studio_id);
// A studio as curators see it (schedule::to_curator_json) with its view_url (store thread).
// With `relays`, its pull status when it pulls (pull_url is always there: masked, or null).
nlohmann::json studio_json(store::Db& db, const schedule::Studio& studio, const relay::RelayControl* relays = nullptr);
// A studio's "pull_url" (masked, or null) and, when the runtime pulls it, "pull" (api_relays.cpp).
void add_pull_fields(store::Db& db, const relay::RelayControl* relays, nlohmann::json& studio);

// The stream's health in words for the performer, from the hub's live_info JSON and the studio's usual
// bitrate (0: unknown): {"level": "good"|"starting"|"warn"|"bad", "code": …, "text": "…"} and the figures
// the sentence names (arriving_mbit, expected_mbit, fps, expected_fps, reconnects).
nlohmann::json describe_stream_health(const nlohmann::json& live_info, double usual_kbps);
// Settings that do not play, or play but serve viewers badly, in plain words with the OBS setting to change
// (an array of {level, code, text, …}; empty when all is well): the artist's view and the desk show them.
nlohmann::json describe_stream_advice(const nlohmann::json& live_info);

// A sound-only live (or intermission) event gets its picture card as its poster (made once).
void add_picture_card(store::Db& db, archive::Archive* archive, nlohmann::json& event);
// Adds "wish" {id, text, votes} to a public event's JSON when a visible wish names the event (api_wishes.cpp).
void add_wish_field(store::Db& db, nlohmann::json& event);
// Adds "duration_s", "poster" and "recording" {duration_s, poster, master} to a public event's JSON when the
// event has a recording (store thread; api_recording.cpp). `archive` may be null.
void add_recording_fields(store::Db& db, archive::Archive* archive, nlohmann::json& event);

// 422 with every field error: {"error":{"code":"invalid","message":first,"field":first,"fields":[…]}}
HttpResponse field_errors(int status, const std::string& code, const std::vector<std::pair<std::string, std::string>>& errors);

// A whole number `name` from the query string into `out` (left alone when absent), or a 400 bad_query naming
// the parameter and its range.
std::optional<HttpResponse> query_number(const HttpRequest& r, const char* name, int64_t min, int64_t max,
                                         std::optional<int64_t>& out);

}  // namespace sreda::web
