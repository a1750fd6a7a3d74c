// MediaQueue: a publisher's media reaches the consumers on a thread of its own, in order; a consumer that
// is stuck costs its own event dropped media (video to the next keyframe), never the producer's thread.
#include "server/hub/media_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace sreda::hub {
namespace {

using media::AccessUnit;
using media::TrackKind;

// Records what it is given; can hold its thread in the next on_access_unit until released.
class RecordingConsumer : public MediaConsumer {
 public:
  void on_session_start(const media::MediaFacts& facts, bool discontinuity, int64_t, int64_t) override {
    std::lock_guard lock(mutex_);
    starts.push_back({facts.width, discontinuity});
    threads.push_back(std::this_thread::get_id());
  }
  void on_access_unit(const AccessUnit& unit) override {
    std::unique_lock lock(mutex_);
    if (hold_next_) {
      hold_next_ = false;
      held_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return !held_; });
    }
    units.push_back(unit);
    threads.push_back(std::this_thread::get_id());
    changed_.notify_all();
  }
  void on_session_end() override {}
  void on_event_end() override {}

  void hold_next() {
    std::lock_guard lock(mutex_);
    hold_next_ = true;
  }
  bool wait_held() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [this] { return held_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    held_ = false;
    changed_.notify_all();
  }
  bool wait_units(size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return units.size() >= n; });
  }
  std::vector<AccessUnit> snapshot() {
    std::lock_guard lock(mutex_);
    return units;
  }

  std::vector<std::pair<int, bool>> starts;
  std::vector<AccessUnit> units;
  std::vector<std::thread::id> threads;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool hold_next_ = false, held_ = false;
};

AccessUnit video(int64_t dts_ms, bool key, size_t bytes = 1000) {
  AccessUnit u;
  u.track = TrackKind::video;
  u.dts_us = u.pts_us = dts_ms * 1000;
  u.duration_us = 33'333;
  u.keyframe = key;
  u.data.assign(bytes, 0x42);
  return u;
}

AccessUnit audio(int64_t dts_ms) {
  AccessUnit u;
  u.track = TrackKind::audio;
  u.dts_us = u.pts_us = dts_ms * 1000;
  u.duration_us = 21'333;
  u.keyframe = true;
  u.data.assign(200, 0x21);
  return u;
}

TEST(MediaQueueTest, DeliversInOrderOnItsOwnThread) {
  auto consumer = std::make_shared<RecordingConsumer>();
  MediaQueue queue("media-test", consumer);
  media::MediaFacts facts;
  facts.width = 320;
  queue.session_start(facts, false, 0, 0);
  for (int i = 0; i < 90; i++) {
    ASSERT_TRUE(queue.unit(video(i * 33, i % 30 == 0)));
    ASSERT_TRUE(queue.unit(audio(i * 33)));
  }
  queue.close();
  ASSERT_EQ(consumer->starts.size(), 1u);
  EXPECT_EQ(consumer->starts[0].first, 320);
  ASSERT_EQ(consumer->units.size(), 180u);
  for (size_t i = 0; i < consumer->units.size(); i++) {
    EXPECT_EQ(consumer->units[i].track, i % 2 == 0 ? TrackKind::video : TrackKind::audio);
    EXPECT_EQ(consumer->units[i].dts_us, static_cast<int64_t>(i / 2) * 33'000);
  }
  for (auto id : consumer->threads) EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_EQ(queue.dropped(), 0u);
  EXPECT_EQ(queue.delivered(), 180u);
  EXPECT_FALSE(queue.unit(video(5000, true)));  // closed: nothing more reaches the consumer
}

TEST(MediaQueueTest, AStuckConsumerLosesVideoToTheNextKeyframeAndTheProducerNeverWaits) {
  auto consumer = std::make_shared<RecordingConsumer>();
  std::atomic<int64_t> clock_ms{0};
  MediaQueue::Limits limits;
  limits.max_wait_ms = 1000;
  limits.now_ms = [&] { return clock_ms.load(); };
  MediaQueue queue("media-test", consumer, limits);
  consumer->hold_next();
  ASSERT_TRUE(queue.unit(video(0, true)));
  ASSERT_TRUE(consumer->wait_held());  // the consumer's thread is stuck in the first unit
  // Four seconds of 30 fps video (keyframes each second) arrive in real time while it is stuck: the
  // producer is never held (this loop would hang otherwise); units wait at most 1 s, the rest is dropped.
  std::vector<AccessUnit> accepted{video(0, true)};
  uint64_t refused = 0;
  for (int i = 1; i < 120; i++) {
    clock_ms = i * 33;
    AccessUnit u = video(i * 33, i % 30 == 0);
    if (queue.unit(u)) accepted.push_back(u);
    else refused++;
  }
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(queue.dropped(), refused);
  consumer->release();
  ASSERT_TRUE(consumer->wait_units(accepted.size()));
  // Caught up: the next keyframe is taken, and so is what follows it.
  clock_ms = 4000;
  const AccessUnit key = video(4000, true), next = video(4033, false);
  ASSERT_TRUE(queue.unit(key));
  ASSERT_TRUE(queue.unit(next));
  accepted.push_back(key);
  accepted.push_back(next);
  queue.close();
  auto got = consumer->snapshot();
  ASSERT_EQ(got.size(), accepted.size());
  for (size_t i = 0; i < got.size(); i++) {
    EXPECT_EQ(got[i].dts_us, accepted[i].dts_us);
    // Whatever follows a gap in the pictures is a keyframe: no picture reaches a decoder without its references.
    if (i > 0 && got[i].dts_us - got[i - 1].dts_us > 40'000) {
      EXPECT_TRUE(got[i].keyframe) << got[i].dts_us;
    }
  }
  // What it kept while stuck had waited at most the limit (here media time is arrival time).
  EXPECT_LE(accepted[accepted.size() - 3].dts_us - accepted[1].dts_us, limits.max_wait_ms * 1000);
}

TEST(MediaQueueTest, MediaReleasedAtOnceIsNotBehind) {
  // A publisher without audio: the FLV parser holds 3 s of pictures while it waits for an audio
  // configuration, then releases them at once, while the first unit starts the event's ladder. Units
  // that have only just been queued are not late, however much media time they span.
  auto consumer = std::make_shared<RecordingConsumer>();
  MediaQueue::Limits limits;
  limits.now_ms = [] { return int64_t{5000}; };
  MediaQueue queue("media-test", consumer, limits);
  consumer->hold_next();
  ASSERT_TRUE(queue.unit(video(0, true)));
  ASSERT_TRUE(consumer->wait_held());
  for (int i = 1; i < 150; i++) ASSERT_TRUE(queue.unit(video(i * 33, i % 30 == 0))) << i;
  consumer->release();
  queue.close();
  EXPECT_EQ(consumer->units.size(), 150u);
  EXPECT_EQ(queue.dropped(), 0u);
}

TEST(MediaQueueTest, AudioIsDroppedUnitByUnitAndASessionStartNever) {
  auto consumer = std::make_shared<RecordingConsumer>();
  MediaQueue::Limits limits;
  limits.max_bytes = 1000;  // five audio frames
  MediaQueue queue("media-test", consumer, limits);
  consumer->hold_next();
  ASSERT_TRUE(queue.unit(audio(0)));
  ASSERT_TRUE(consumer->wait_held());
  int taken = 0;
  for (int i = 1; i <= 10; i++) taken += queue.unit(audio(i * 21)) ? 1 : 0;
  EXPECT_EQ(taken, 5);
  media::MediaFacts facts;
  facts.width = 640;
  queue.session_start(facts, true, 0, 0);  // over the bytes, and still queued
  consumer->release();
  queue.close();
  ASSERT_EQ(consumer->starts.size(), 1u);
  EXPECT_TRUE(consumer->starts[0].second);
  EXPECT_EQ(consumer->units.size(), 6u);
  EXPECT_EQ(queue.dropped(), 5u);
}

TEST(MediaQueueTest, CloseDoesNotWaitForAStuckConsumerBeyondItsDrainTime) {
  auto consumer = std::make_shared<RecordingConsumer>();
  MediaQueue::Limits limits;
  limits.drain_ms = 0;  // whatever still waits when close() is called is dropped
  MediaQueue queue("media-test", consumer, limits);
  consumer->hold_next();
  ASSERT_TRUE(queue.unit(video(0, true)));
  ASSERT_TRUE(consumer->wait_held());
  for (int i = 1; i < 10; i++) ASSERT_TRUE(queue.unit(video(i * 33, false)));
  auto closed = std::async(std::launch::async, [&] { queue.close(); });
  // close() drops the nine waiting units at once, then waits only for the call under way.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       queue.dropped() < 9 && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(queue.dropped(), 9u);
  consumer->release();
  closed.get();
  EXPECT_EQ(consumer->units.size(), 1u);
}

}  // namespace
}  // namespace sreda::hub
