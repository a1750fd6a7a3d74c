// The seam between the relays' runtime (server/relay: push targets while an event is live, pulled studios)
// and the rest of the server (the API, the desk, the artist's view, /metrics). The store side (the relays
// table, the studios' pull_url) implements RelayTargetSource; the runtime implements RelayControl.
// Target URLs carry stream keys: they cross this seam whole and leave it only masked (relay_url.h masked()).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sreda::relay {

// One push target as stored: an event's own relay (event_id set) or a studio's default for its events
// (studio_id set). One id space for both (the relays table).
struct RelayTarget {
  int64_t id = 0;
  int64_t event_id = 0;   // 0 for a studio default
  int64_t studio_id = 0;  // 0 for an event's own relay
  std::string name;       // "VK Video", "Partner city"
  std::string url;        // with its key: a secret
  std::string rendition = "source";  // "source" or a ladder rung's name ("720p", …)
  bool enabled = true;
};

// What a curator sees of one relay while its event is live (GET /api/events/{id}/live "relays", the desk,
// /metrics). state: "waiting" (the event has no media yet, or is in intermission before this relay sent
// anything), "sending", "reconnecting" (last_error says why; the next try comes by itself), "stopped"
// (disabled, or the event ended). last_error is already free of secrets.
struct RelayStatus {
  int64_t id = 0;
  std::string name;
  std::string url_masked;
  std::string rendition = "source";
  std::string state = "waiting";
  std::string last_error;
  uint64_t bytes_sent = 0;
  int64_t uptime_s = 0;      // of the current connection; 0 when not sending
  int64_t reconnects = 0;
  uint64_t dropped_units = 0;  // dropped to the relay's own queue limit (a stuck target)
};

// A pulled studio's source while its event is scheduled (GET /api/studios/{id}, the desk).
struct PullStatus {
  int64_t studio_id = 0;
  std::string url_masked;
  std::string state = "waiting";  // "waiting" (outside the window), "connecting", "receiving", "reconnecting"
  std::string last_error;
  uint64_t bytes_received = 0;
  int64_t reconnects = 0;
  std::string variant;  // HLS: which variant is pulled ("1280x720 2.5 Mb/s" or its URI), else empty
};

// Where the runtime reads what to do. Implemented over the store; callbacks come from the store thread.
class RelayTargetSource {
 public:
  virtual ~RelayTargetSource() = default;
  // The enabled and disabled targets of an event: its own relays, then its studio's defaults.
  virtual void event_targets(int64_t event_id, int64_t studio_id,
                             std::function<void(std::vector<RelayTarget>)> reply) = 0;
  // Every studio with a pull_url, and that URL (a secret).
  virtual void pulled_studios(std::function<void(std::vector<std::pair<int64_t, std::string>>)> reply) = 0;
};

// What the API asks of the runtime. Any thread; replies from any thread.
class RelayControl {
 public:
  virtual ~RelayControl() = default;
  // An event's relays, or a studio's defaults (then every live event of that studio), changed in the store:
  // live events re-read their targets (a new one starts, a removed or disabled one stops, a changed URL
  // reconnects).
  virtual void event_relays_changed(int64_t event_id) = 0;
  virtual void studio_relays_changed(int64_t studio_id) = 0;
  // A studio's pull_url changed (empty: stop pulling).
  virtual void pull_changed(int64_t studio_id, const std::string& url) = 0;
  // The relays of a live event (empty when it is not live or has none). Cheap; from a snapshot.
  virtual std::vector<RelayStatus> event_status(int64_t event_id) const = 0;
  virtual std::optional<PullStatus> pull_status(int64_t studio_id) const = 0;
  // The desk's "test connection": tries to reach the target now (connects, and for RTMP publishes nothing),
  // and says what happened in words ("connected", "refused: …", "no answer within 10 s"). Bounded in time,
  // and in number: at most kMaxRelayTests at once, and one at a time per holder (e.g. "curator:anna",
  // "relay:7"). "" when the test started (reply comes later, from its thread), else why it did not, in words
  // (reply is then never called).
  static constexpr int kMaxRelayTests = 4;
  virtual std::string test(const std::string& url, std::function<void(bool ok, std::string what)> reply,
                           const std::vector<std::string>& holders = {}) = 0;
};

}  // namespace sreda::relay
