// The push relays of every live event, and the RelayControl the API and the desk use (relay_service.h).
//
// RelayingFactory wraps the app's ConsumerFactory (live::LiveOutputs): each event that goes live gets its
// outputs as before and, beside them, an EventRelays consumer that reads the event's targets
// (RelayTargetSource: its own relays, then its studio's defaults) and runs one RelaySender per enabled
// target. The media thread only copies units into each target's bounded queue.
//
// Ladder rungs: a target asking for a rung (RelayTarget::rendition "360p") is sent that rung's video as the
// ladder encodes it (live::LiveOutputEvents::rung_media) with the studio's audio; it waits while the rung
// does not exist (yet). Without the ladder (ladder.enabled false) every target is sent the source.
// Pulled studios (pull_changed, pull_status) are the PullManager's (pull_manager.h), reached through here.
//
// Threads: create() on the control thread; media calls on the event's media thread; the targets' replies on
// the store thread; RelayControl from any thread. Threads of removed relays are joined when they have
// finished (never waited for on those threads) and all at stop().
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/core/metrics.h"
#include "server/hub/media_consumer.h"
#include "server/relay/pull_manager.h"
#include "server/relay/relay_sender.h"
#include "server/relay/relay_service.h"

namespace sreda::relay {

struct PushRelaysOptions {
  SenderOptions sender;
  int max_per_event = 8;
  bool ladder = false;  // ladder.enabled: a target may ask for a rung
};

class PushRelays;

// One live event's relays.
class EventRelays : public hub::MediaConsumer {
 public:
  EventRelays(PushRelays& owner, int64_t event_id, int64_t studio_id);
  ~EventRelays() override;

  void on_session_start(const media::MediaFacts& facts, bool discontinuity, int64_t first_sample_wall_ms,
                        int64_t first_sample_media_us) override;
  void on_access_unit(const media::AccessUnit& unit) override;
  void on_session_end() override;
  void on_event_end() override;
  // A ladder rung's facts or unit (ladder streaming threads).
  void on_rung(const std::string& rung, const media::MediaFacts* facts, const media::AccessUnit* unit);

  // The event's targets as stored now: starts new ones, stops removed or disabled ones, restarts changed
  // ones.
  void apply(std::vector<RelayTarget> targets);
  std::vector<RelayStatus> status() const;
  int64_t event_id() const { return event_id_; }
  int64_t studio_id() const { return studio_id_; }
  bool ended() const;

 private:
  PushRelays& owner_;
  const int64_t event_id_, studio_id_;
  mutable std::mutex mutex_;
  std::map<int64_t, std::unique_ptr<RelaySender>> senders_;  // by relay id
  std::vector<RelayStatus> idle_;                            // disabled (or over the limit): "stopped"
  std::shared_ptr<const media::MediaFacts> facts_;           // the current session's, if one is on
  // Rung targets: each rung's video facts as the ladder reported them, and the session a rung's targets get
  // (the rung's video with the studio's audio), while a publisher session is on.
  std::map<std::string, media::MediaFacts> rung_facts_;
  std::map<std::string, std::shared_ptr<const media::MediaFacts>> rung_sessions_;
  bool sends_rung(const RelaySender& s) const;
  std::shared_ptr<const media::MediaFacts> session_for(const RelaySender& s) const;
  void update_rung_session(const std::string& rung);
  bool ended_ = false;
};

class PushRelays : public RelayControl {
 public:
  PushRelays(PushRelaysOptions options, RelayTargetSource& targets, core::Metrics& metrics);
  ~PushRelays() override;

  // The consumer of a new live event (control thread): asks for its targets.
  std::shared_ptr<EventRelays> event_consumer(int64_t event_id, int64_t studio_id);
  // Stops every relay and joins every thread (app stop, after the hub).
  void stop();
  // A ladder rung's media (live::LiveOutputEvents::rung_media; ladder streaming threads).
  void rung_media(int64_t event_id, const std::string& rung, const media::MediaFacts* facts,
                  const media::AccessUnit* unit);

  // RelayControl
  void event_relays_changed(int64_t event_id) override;
  void studio_relays_changed(int64_t studio_id) override;
  // Pulled studios: handed to the PullManager while one is attached (app start-up; null at stop).
  void attach_pulls(PullManager* pulls) { pulls_ = pulls; }
  void pull_changed(int64_t studio_id, const std::string& url) override {
    if (auto* p = pulls_.load()) p->changed(studio_id, url);
  }
  std::vector<RelayStatus> event_status(int64_t event_id) const override;
  std::optional<PullStatus> pull_status(int64_t studio_id) const override {
    auto* p = pulls_.load();
    return p ? p->status(studio_id) : std::nullopt;
  }
  std::string test(const std::string& url, std::function<void(bool ok, std::string what)> reply,
                   const std::vector<std::string>& holders = {}) override;

 private:
  friend class EventRelays;
  std::unique_ptr<RelaySender> make_sender(int64_t event_id, const RelayTarget& target);
  // A sender that was told to stop: joined once its thread has finished.
  void retire(std::unique_ptr<RelaySender> sender);
  void reap();
  void reload(const std::shared_ptr<EventRelays>& event);
  std::vector<std::shared_ptr<EventRelays>> live_events() const;

  const PushRelaysOptions options_;
  RelayTargetSource& targets_;
  core::Metrics& metrics_;
  mutable std::mutex mutex_;
  std::map<int64_t, std::weak_ptr<EventRelays>> events_;
  std::vector<std::unique_ptr<RelaySender>> retired_;
  // "Test connection" threads: joined once done (the next test, or stop()).
  struct RunningTest {
    std::thread thread;
    std::vector<std::string> holders;
    bool done = false;
  };
  std::list<RunningTest> tests_;
  bool stopped_ = false;
  std::atomic<PullManager*> pulls_{nullptr};
};

// The app's ConsumerFactory with the relays beside each event's outputs.
class RelayingFactory : public hub::ConsumerFactory {
 public:
  RelayingFactory(hub::ConsumerFactory& outputs, PushRelays& relays) : outputs_(outputs), relays_(relays) {}
  std::shared_ptr<hub::MediaConsumer> create(int64_t event_id, int64_t studio_id) override;

 private:
  hub::ConsumerFactory& outputs_;
  PushRelays& relays_;
};

}  // namespace sreda::relay
