// A push relay's own queue: a target that falls behind loses its oldest media up to the next keyframe
// (counted), never more than it must, and always resumes on a picture; the reconnect pace doubles to its cap.
#include "server/relay/relay_queue.h"

#include <gtest/gtest.h>

namespace sreda::relay {
namespace {

using media::AccessUnit;
using media::TrackKind;

std::shared_ptr<const media::MediaFacts> av() {
  auto f = std::make_shared<media::MediaFacts>();
  f->has_video = f->has_audio = true;
  return f;
}

AccessUnit video(int64_t ms, bool key) {
  AccessUnit u;
  u.track = TrackKind::video;
  u.pts_us = u.dts_us = ms * 1000;
  u.keyframe = key;
  u.data.assign(100, 1);
  return u;
}

AccessUnit audio(int64_t ms) {
  AccessUnit u;
  u.track = TrackKind::audio;
  u.pts_us = u.dts_us = ms * 1000;
  u.data.assign(10, 2);
  return u;
}

TEST(RelayQueue, StartsOnAKeyframe) {
  RelayQueue q(4'000'000);
  auto f = av();
  q.push(f, audio(0));
  q.push(f, video(0, false));
  q.push(f, video(40, true));
  q.push(f, audio(50));
  ASSERT_EQ(q.size(), 2u);
  EXPECT_TRUE(q.front().unit.keyframe);
  EXPECT_EQ(q.dropped(), 2u);
}

TEST(RelayQueue, KeepsEverythingWithinTheLimit) {
  RelayQueue q(4'000'000);
  auto f = av();
  for (int i = 0; i < 100; ++i) q.push(f, video(i * 40, i % 25 == 0));  // 4 s of 25 fps
  EXPECT_EQ(q.size(), 100u);
  EXPECT_EQ(q.dropped(), 0u);
  EXPECT_EQ(q.bytes(), 100u * 100u);
}

TEST(RelayQueue, ATargetBehindSkipsToTheNextKeyframe) {
  RelayQueue q(2'000'000);
  auto f = av();
  // Keyframes every second; the target takes nothing for 3 s (the last unit at 2.97 s).
  for (int i = 0; i < 75; ++i) {
    q.push(f, video(i * 40, i % 25 == 0));
    q.push(f, audio(i * 40 + 10));
  }
  EXPECT_LE(q.span_us(), 2'000'000);
  ASSERT_FALSE(q.empty());
  EXPECT_EQ(q.front().unit.track, TrackKind::video);
  EXPECT_TRUE(q.front().unit.keyframe);
  EXPECT_EQ(q.front().unit.dts_us, 1'000'000);  // 0–1 s went; 1–3 s (within the limit) stayed
  EXPECT_EQ(q.dropped(), 50u);                  // 25 pictures and 25 audio frames
  uint64_t popped = 0;
  while (!q.empty()) {
    q.pop();
    ++popped;
  }
  EXPECT_EQ(popped + q.dropped(), 150u);  // every unit is either sent or counted
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(RelayQueue, WithoutAKeyframeLeftItEmptiesAndWaitsForTheNext) {
  RelayQueue q(1'000'000);
  auto f = av();
  q.push(f, video(0, true));
  for (int i = 1; i < 50; ++i) q.push(f, video(i * 40, false));  // a 2 s GOP, longer than the limit
  EXPECT_TRUE(q.empty());
  q.push(f, video(2000, false));
  EXPECT_TRUE(q.empty());  // still waiting for a picture it can decode
  q.push(f, video(2040, true));
  ASSERT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.front().unit.keyframe);
}

TEST(RelayQueue, AudioOnlyDropsTheOldest) {
  RelayQueue q(1'000'000);
  auto f = std::make_shared<media::MediaFacts>();
  f->has_audio = true;
  for (int i = 0; i < 100; ++i) q.push(f, audio(i * 20));  // 2 s
  EXPECT_LE(q.span_us(), 1'000'000);
  EXPECT_GT(q.dropped(), 0u);
  EXPECT_EQ(q.size() + q.dropped(), 100u);
}

TEST(RelayQueue, SkipToKeyframeBeforeANewConnection) {
  RelayQueue q(4'000'000);
  auto f = av();
  q.push(f, video(0, true));
  q.push(f, video(40, false));
  q.push(f, video(80, true));
  q.pop();  // the first picture went on the old connection
  q.skip_to_keyframe();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q.front().unit.dts_us, 80'000);
  EXPECT_EQ(q.dropped(), 1u);
}

TEST(RelayBackoff, DoublesToItsCapAndResets) {
  Backoff b(1, 30);
  EXPECT_EQ(b.next_ms(), 1000);
  EXPECT_EQ(b.next_ms(), 2000);
  EXPECT_EQ(b.next_ms(), 4000);
  EXPECT_EQ(b.next_ms(), 8000);
  EXPECT_EQ(b.next_ms(), 16000);
  EXPECT_EQ(b.next_ms(), 30000);
  EXPECT_EQ(b.next_ms(), 30000);
  b.reset();
  EXPECT_EQ(b.next_ms(), 1000);
}

TEST(RelayTakeWatch, ATargetThatTakesWhatItIsFedKeepsUp) {
  TakeWatch w(2000);
  for (int64_t t = 1000; t < 20000; t += 20) {
    w.taken(static_cast<uint64_t>(t) * 100);  // every poll: more taken than before
    w.fed(t);
    EXPECT_FALSE(w.stalled(t + 19)) << t;
  }
}

TEST(RelayTakeWatch, NothingFedIsNoStall) {
  TakeWatch w(2000);  // an intermission: the target takes nothing and is given nothing
  w.taken(5000);
  EXPECT_EQ(w.stalled_ms(60000), 0);
  EXPECT_FALSE(w.stalled(60000));
}

TEST(RelayTakeWatch, ASlowPublishIsNoStall) {
  TakeWatch w(2000);
  w.taken(3500);  // the handshake
  w.fed(1000);    // media waits while the target answers the publish
  EXPECT_FALSE(w.stalled(9000));
  w.taken(9000);  // published: it takes media
  w.fed(9100);
  EXPECT_TRUE(w.stalled(11100));
}

TEST(RelayTakeWatch, ATargetThatStopsTakingStallsAfterItsTimeAndRecovers) {
  TakeWatch w(2000);
  w.fed(9000);
  w.taken(1000);  // it took media: it is past its publish
  w.fed(10000);
  w.fed(10500);   // fed again: the clock runs from the first feed that waits
  w.taken(1000);  // nothing more taken
  EXPECT_EQ(w.stalled_ms(11999), 1999);
  EXPECT_FALSE(w.stalled(11999));
  EXPECT_TRUE(w.stalled(12000));
  EXPECT_TRUE(w.stalled(30000));  // not fed any more (the relay holds back): still stalled
  w.taken(1500);                  // it takes again
  EXPECT_FALSE(w.stalled(30001));
  EXPECT_EQ(w.stalled_ms(30001), 0);
  w.fed(30002);
  EXPECT_FALSE(w.stalled(31000));
}

}  // namespace
}  // namespace sreda::relay
