// Fakes for the event hub's seams: a clock that moves only when told (ControlClock), a consumer that records
// what the hub hands it (MediaConsumer), and the factory that makes those (ConsumerFactory).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "server/hub/control_clock.h"
#include "server/hub/media_consumer.h"

namespace sreda::hub::fakes {

// Time that moves only when told. Its timers run on the caller's thread, which must be the control thread.
class FakeClock : public ControlClock {
 public:
  explicit FakeClock(int64_t now_ms) : now_(now_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  std::unique_ptr<Timer> after(int64_t delay_ms, std::function<void()> callback) override {
    auto p = std::make_shared<Pending>();
    p->due = now_ + delay_ms;
    p->seq = next_seq_++;
    p->callback = std::move(callback);
    pending_.push_back(p);
    return std::make_unique<Handle>(p);
  }
  // Moves time on by `ms`, running each timer that falls due on the way, in order of their times.
  void advance(int64_t ms) {
    const int64_t target = now_ + ms;
    for (;;) {
      std::erase_if(pending_, [](const auto& p) { return !p->callback; });  // cancelled or run
      auto next = std::min_element(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
        return a->due != b->due ? a->due < b->due : a->seq < b->seq;
      });
      if (next == pending_.end() || (*next)->due > target) break;
      auto p = *next;
      now_ = std::max(now_.load(), p->due);
      auto callback = std::move(p->callback);  // the callback may destroy its own handle
      p->callback = nullptr;
      callback();
    }
    now_ = target;
  }
  void set(int64_t now_ms) { now_ = now_ms; }

 private:
  struct Pending {
    int64_t due = 0;
    uint64_t seq = 0;
    std::function<void()> callback;  // empty once cancelled or run
  };
  struct Handle : Timer {
    explicit Handle(std::shared_ptr<Pending> p) : pending(std::move(p)) {}
    ~Handle() override { cancel(); }
    void cancel() override { pending->callback = nullptr; }
    std::shared_ptr<Pending> pending;
  };
  std::atomic<int64_t> now_;
  uint64_t next_seq_ = 0;
  std::vector<std::shared_ptr<Pending>> pending_;
};

// Records what the hub hands it: session starts, units (from the session's media thread), ends.
class FakeConsumer : public MediaConsumer {
 public:
  struct Start {
    bool discontinuity = false;
    int64_t wall_ms = 0, media_us = 0;
    int width = 0;
  };
  void on_session_start(const media::MediaFacts& facts, bool discontinuity, int64_t wall_ms,
                        int64_t media_us) override {
    std::lock_guard lock(mutex_);
    starts_.push_back({discontinuity, wall_ms, media_us, facts.width});
    changed_.notify_all();
  }
  void on_access_unit(const media::AccessUnit& unit) override {
    std::lock_guard lock(mutex_);
    units_.push_back(unit.dts_us);
    changed_.notify_all();
  }
  void on_session_end() override {
    std::lock_guard lock(mutex_);
    session_ends_++;
  }
  void on_event_end() override {
    std::lock_guard lock(mutex_);
    event_ends_++;
  }
  bool wait_units(size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return units_.size() >= n; });
  }
  std::vector<Start> starts() const {
    std::lock_guard lock(mutex_);
    return starts_;
  }
  std::vector<int64_t> units() const {
    std::lock_guard lock(mutex_);
    return units_;
  }
  int session_ends() const {
    std::lock_guard lock(mutex_);
    return session_ends_;
  }
  int event_ends() const {
    std::lock_guard lock(mutex_);
    return event_ends_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Start> starts_;
  std::vector<int64_t> units_;  // decode times on the event's media clock
  int session_ends_ = 0, event_ends_ = 0;
};

// Makes one FakeConsumer per create() call, remembered per event.
class FakeFactory : public ConsumerFactory {
 public:
  std::shared_ptr<MediaConsumer> create(int64_t event_id, int64_t studio_id) override {
    auto c = std::make_shared<FakeConsumer>();
    made[event_id].push_back(c);
    studios[event_id] = studio_id;
    return c;
  }
  std::map<int64_t, std::vector<std::shared_ptr<FakeConsumer>>> made;  // control thread
  std::map<int64_t, int64_t> studios;
};

}  // namespace sreda::hub::fakes
