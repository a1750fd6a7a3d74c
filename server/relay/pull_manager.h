// Pulled studios: a studio whose source is a partner's stream (studios.pull_url: srt://, rtmp(s)://, an HLS
// playlist; see pull_source.h) is pulled while its event is on (the publish window: from 30 minutes before
// its start to 60 minutes after its end, as for a studio that publishes), then treated exactly like a publish
// (EventHub::request_publish with Protocol::pull, its MPEG-TS through push()): ladder, archive, audience and
// the artist's view unchanged, and the publish rules apply — one publisher per studio (a pull and a real
// publisher: the first wins), the window, the grace. A partner's stream that drops puts the event in
// intermission; the puller tries again (relays.retry_min_s, doubling to retry_max_s) and, back within the
// grace, it is the same event. Outside the window a puller only waits (checking every 2 s).
//
// One thread per pulled studio (blocking libsrt / GStreamer appsink reads with short timeouts). URLs carry
// secrets: only their masked form (relay_url.h) reaches the log, the hub and status().
//
// The seam: RelayControl::pull_changed / pull_status forward to changed() / status(); sync() takes the whole
// list (RelayTargetSource::pulled_studios). start()/stop() idempotent, from the app's thread; the rest from
// any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/config/config.h"
#include "server/core/metrics.h"
#include "server/hub/event_hub.h"
#include "server/relay/relay_service.h"
#include "server/store/store.h"

namespace sreda::relay {

class PullManager {
 public:
  PullManager(store::Store& store, hub::EventHub& hub, const config::Config& config, core::Metrics& metrics);
  ~PullManager();

  void start();
  void stop();  // every puller leaves its event (to intermission, as a dropped studio) and its thread ends

  // A studio's pull_url changed (empty: stop pulling it). The same URL again changes nothing.
  void changed(int64_t studio_id, const std::string& url);
  // Every studio with a pull_url: those missing from `studios` stop.
  void sync(const std::vector<std::pair<int64_t, std::string>>& studios);
  std::optional<PullStatus> status(int64_t studio_id) const;

  struct Puller;

 private:
  void reap();  // joins pullers that were told to stop (mutex_ held)

  store::Store& store_;
  hub::EventHub& hub_;
  const config::Config& config_;
  core::Metrics& metrics_;
  mutable std::mutex mutex_;
  bool running_ = false;
  std::map<int64_t, std::shared_ptr<Puller>> pullers_;  // studio id → its puller
  std::vector<std::shared_ptr<Puller>> stopping_;       // told to stop, not joined yet
  std::atomic<uint64_t> next_session_{1};
};

}  // namespace sreda::relay
