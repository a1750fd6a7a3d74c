// Long because every publish rule of the hub (grace, refusals, rotation, restart, WHIP takeover) is a test on the one
// fixture below (a real store, a fake clock); splitting it would copy the fixture.
// The event hub's lifecycle, driven by a fake clock on the test's own thread (which runs the control
// executor): publish → live, drop → intermission, back within the grace → the same event live, grace expiry
// → ended, end by a curator, the refusals, and a restart over the same SQLite file. The store is real (a
// temporary file); the consumers are fakes that record what the hub hands them.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "server/hub/event_hub.h"
#include "server/ingest/rtmp_bridge.h"
#include "tests/unit/hub_fakes.h"
#include "server/schedule/catalog.h"
#include "server/store/migrations.h"

using namespace sreda;
using hub::fakes::FakeClock;
using hub::fakes::FakeConsumer;
using hub::fakes::FakeFactory;
using schedule::EventState;

namespace {

constexpr int64_t kStart = 2'000'000'000;  // the events' start, seconds since the epoch (2033)
constexpr int64_t kHour = 3600;

media::MediaFacts facts() {
  media::MediaFacts f;
  f.has_video = true;
  f.video_codec = "h264";
  f.width = 1280;
  f.height = 720;
  f.has_audio = true;
  f.audio_codec = "aac";
  f.audio_rate = 48000;
  f.audio_channels = 2;
  return f;
}

media::AccessUnit video(int64_t dts_ms, bool key) {
  media::AccessUnit u;
  u.track = media::TrackKind::video;
  u.dts_us = u.pts_us = dts_ms * 1000;
  u.duration_us = 40'000;
  u.keyframe = key;
  u.data.assign(100, 0);
  return u;
}

// What a publisher heard: the decision and any disconnect (control thread).
struct Publisher {
  std::optional<bool> ok;
  std::string reason;
  std::vector<std::string> disconnects;
  std::atomic<int> keyframe_requests{0};
};

struct EventHubTest : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<store::Store> store;
  boost::asio::io_context control;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{control.get_executor()};
  FakeClock clock{(kStart - 600) * 1000};  // ten minutes before the events start
  config::Config config;
  core::Metrics metrics;
  FakeFactory factory;
  std::unique_ptr<hub::EventHub> hub;
  schedule::Studio studio;
  int64_t event_id = 0;
  uint64_t next_session = 1;

  void SetUp() override {
    static int n = 0;
    dir = std::filesystem::temp_directory_path() /
          ("sreda-hub-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(dir);
    open_store();
    studio = on_store([](store::Db& db) { return schedule::create_studio(db, "Hall", 1000); });
    event_id = add_event(studio.id, kStart, kStart + 2 * kHour);
    make_hub();
  }
  void TearDown() override {
    stop_hub();
    store->stop();
    std::filesystem::remove_all(dir);
  }

  void open_store() {
    auto db = store::Db::open((dir / "sreda.db").string());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(store::migrate(*db).ok());
    store = std::make_unique<store::Store>(std::move(*db), 1000);
    store->start();
  }
  void make_hub() {
    hub = std::make_unique<hub::EventHub>(control.get_executor(), *store, config, metrics, &factory, &clock);
    hub->start();
  }
  // hub->stop() waits for the control thread, which is this one: it runs on a thread of its own meanwhile.
  void stop_hub() {
    if (!hub) return;
    std::atomic<bool> done{false};
    std::thread t([&] {
      hub->stop();
      done = true;
    });
    EXPECT_TRUE(run_until([&] { return done.load(); }));
    t.join();
    hub.reset();
  }

  // Runs the control executor on this thread until `pred` holds (false after a generous deadline).
  bool run_until(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      control.run_one_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  // A store job's result (the store thread runs jobs in order: it follows every state the hub stored).
  template <typename F>
  auto on_store(F job) -> decltype(job(std::declval<store::Db&>())) {
    using R = decltype(job(std::declval<store::Db&>()));
    auto done = std::make_shared<std::promise<R>>();
    EXPECT_TRUE(store->post([job, done](store::Db& db) { done->set_value(job(db)); }));
    return done->get_future().get();
  }
  int64_t add_event(int64_t studio_id, int64_t starts_at, int64_t ends_at) {
    return on_store([=](store::Db& db) {
      schedule::Event e;
      e.title = "Concert";
      e.category = "concert";
      e.studio_id = studio_id;
      e.starts_at = starts_at;
      e.ends_at = ends_at;
      return schedule::insert_event(db, e, 1000).id;
    });
  }
  std::string stored_state(int64_t id) {
    return on_store([id](store::Db& db) {
      auto e = schedule::find_event(db, id);
      return e ? std::string(schedule::to_string(e->state)) : std::string("(none)");
    });
  }
  std::optional<EventState> hub_state(int64_t id) {
    auto c = hub->clock(id);
    return c ? std::optional(c->state) : std::nullopt;
  }
  hub::StudioKey key(const schedule::Studio& s, uint64_t generation = 1) { return {s.id, s.name, "", generation}; }

  // Asks to publish (without waiting for the decision).
  std::shared_ptr<Publisher> ask(uint64_t session, const hub::StudioKey& k, hub::Protocol protocol = hub::Protocol::rtmp) {
    auto p = std::make_shared<Publisher>();
    hub->request_publish(
        protocol, session, k, "127.0.0.1:50000",
        [p](bool ok, std::string reason) {
          p->ok = ok;
          p->reason = std::move(reason);
        },
        [p](std::string reason) { p->disconnects.push_back(std::move(reason)); },
        [p] { p->keyframe_requests++; });
    return p;
  }
  // Publishes and waits for the decision.
  std::shared_ptr<Publisher> publish(uint64_t session, const hub::StudioKey& k,
                                     hub::Protocol protocol = hub::Protocol::rtmp) {
    auto p = ask(session, k, protocol);
    EXPECT_TRUE(run_until([&] { return p->ok.has_value(); }));
    return p;
  }
  // Feeds a session codec facts and `n` pictures of 40 ms from the publisher's time `from_ms`.
  void feed(uint64_t session, int n, int64_t from_ms = 0) {
    auto in = hub->input(session);
    ASSERT_TRUE(in);
    in->on_prepared(facts());
    for (int i = 0; i < n; ++i) in->on_access_unit(video(from_ms + 40 * i, i == 0));
  }
  void gone(uint64_t session, const std::string& why = "the connection closed") {
    hub->publisher_gone(session, why);
  }
  bool reaches(int64_t id, const std::string& state) {
    return run_until([&] { return stored_state(id) == state; });
  }
  double refused(const std::string& reason) {
    auto v = metrics.values("sreda_ingest_refused_total");
    auto it = v.find("{protocol=\"rtmp\",reason=\"" + reason + "\"}");
    return it == v.end() ? 0 : it->second;
  }
  FakeConsumer& consumer(int64_t id, size_t i = 0) { return *factory.made.at(id).at(i); }
};

TEST(EventStateText, EveryStateHasItsStoredTextAndBack) {
  for (const char* text : {"scheduled", "live", "intermission", "ended", "archived", "cancelled"}) {
    auto state = schedule::event_state(text);
    ASSERT_TRUE(state) << text;
    EXPECT_STREQ(schedule::to_string(*state), text);
  }
  EXPECT_FALSE(schedule::event_state("Live"));
  EXPECT_FALSE(schedule::event_state(""));
  EXPECT_TRUE(schedule::on_air(EventState::intermission));
  EXPECT_FALSE(schedule::on_air(schedule::event_state("ended")));
  EXPECT_FALSE(schedule::on_air(std::nullopt));
}

TEST(EventStateText, OnlyTheLifecycleArrowsAreChanges) {
  EXPECT_TRUE(schedule::can_change(EventState::scheduled, EventState::live));
  EXPECT_TRUE(schedule::can_change(EventState::live, EventState::intermission));
  EXPECT_TRUE(schedule::can_change(EventState::intermission, EventState::live));
  EXPECT_TRUE(schedule::can_change(EventState::intermission, EventState::ended));
  EXPECT_TRUE(schedule::can_change(EventState::ended, EventState::archived));
  EXPECT_TRUE(schedule::can_change(EventState::archived, EventState::ended));  // the recording deleted
  EXPECT_TRUE(schedule::can_change(EventState::scheduled, EventState::cancelled));
  EXPECT_FALSE(schedule::can_change(EventState::scheduled, EventState::intermission));
  EXPECT_FALSE(schedule::can_change(EventState::ended, EventState::live));
  EXPECT_FALSE(schedule::can_change(EventState::live, EventState::cancelled));
  EXPECT_FALSE(schedule::can_change(EventState::cancelled, EventState::live));
}

// A WHIP publish is accepted before ICE, DTLS and its first keyframe: its media clock (PROGRAM-DATE-TIME,
// the archive's and the comments' time) starts where its media does, not at the acceptance. RTMP keeps the
// publish's time (its media follows at once).
TEST_F(EventHubTest, AWhipSessionsClockStartsAtItsFirstMediaNotAtThePublish) {
  auto whip = publish(1, key(studio), hub::Protocol::whip);
  ASSERT_TRUE(*whip->ok) << whip->reason;
  const int64_t accepted = clock.now_ms();
  clock.advance(600);  // ICE and DTLS
  feed(1, 3, 10'000);
  auto& c = consumer(event_id);
  ASSERT_TRUE(c.wait_units(3));
  ASSERT_EQ(c.starts().size(), 1u);
  EXPECT_EQ(c.starts()[0].wall_ms, accepted + 600);
}

TEST_F(EventHubTest, AnRtmpSessionsClockStartsAtThePublish) {
  auto p = publish(1, key(studio));
  ASSERT_TRUE(*p->ok) << p->reason;
  const int64_t accepted = clock.now_ms();
  clock.advance(600);
  feed(1, 3, 10'000);
  auto& c = consumer(event_id);
  ASSERT_TRUE(c.wait_units(3));
  ASSERT_EQ(c.starts().size(), 1u);
  EXPECT_EQ(c.starts()[0].wall_ms, accepted);
}

TEST_F(EventHubTest, APublishTurnsTheEventLiveAndItsMediaReachesOneConsumer) {
  auto p = publish(1, key(studio));
  ASSERT_TRUE(*p->ok) << p->reason;
  EXPECT_EQ(stored_state(event_id), "live");
  EXPECT_EQ(hub_state(event_id), EventState::live);
  ASSERT_EQ(factory.made[event_id].size(), 1u);
  EXPECT_EQ(factory.studios[event_id], studio.id);

  feed(1, 5, 10'000);
  auto& c = consumer(event_id);
  ASSERT_TRUE(c.wait_units(5));
  ASSERT_EQ(c.starts().size(), 1u);
  EXPECT_FALSE(c.starts()[0].discontinuity);
  EXPECT_EQ(c.starts()[0].width, 1280);
  EXPECT_EQ(c.starts()[0].wall_ms, clock.now_ms());
  auto units = c.units();
  for (size_t i = 1; i < units.size(); ++i) EXPECT_EQ(units[i] - units[i - 1], 40'000) << i;
  EXPECT_GE(units[0], c.starts()[0].media_us);  // the event's clock, not the publisher's 10 s

  std::optional<nlohmann::json> info;
  hub->live_info(event_id, [&](std::optional<nlohmann::json> j) { info = j ? j : nlohmann::json(nullptr); });
  ASSERT_TRUE(run_until([&] { return info.has_value(); }));
  EXPECT_EQ((*info)["state"], "live");
  EXPECT_EQ((*info)["publisher"]["protocol"], "rtmp");
  EXPECT_EQ((*info)["publisher"]["video_frames"], 5);
}

TEST_F(EventHubTest, ADroppedStudioLeavesTheEventInIntermission) {
  ASSERT_TRUE(*publish(1, key(studio))->ok);
  gone(1);
  ASSERT_TRUE(reaches(event_id, "intermission"));
  EXPECT_EQ(hub_state(event_id), EventState::intermission);
  EXPECT_EQ(consumer(event_id).session_ends(), 1);
  EXPECT_EQ(consumer(event_id).event_ends(), 0);
  EXPECT_FALSE(hub->input(1));  // its media goes nowhere now
}

TEST_F(EventHubTest, AStudioBackWithinTheGraceContinuesTheSameEvent) {
  ASSERT_TRUE(*publish(1, key(studio))->ok);
  feed(1, 10);
  ASSERT_TRUE(consumer(event_id).wait_units(10));
  const int64_t first_end = consumer(event_id).units().back();
  gone(1);
  ASSERT_TRUE(reaches(event_id, "intermission"));

  clock.advance(59'000);  // a second before the grace ends
  auto back = publish(2, key(studio));
  ASSERT_TRUE(*back->ok) << back->reason;
  EXPECT_EQ(stored_state(event_id), "live");
  EXPECT_EQ(factory.made[event_id].size(), 1u) << "the same consumers: the same playlists and recording";
  feed(2, 3);  // the encoder restarted: its clock starts from 0 again
  auto& c = consumer(event_id);
  ASSERT_TRUE(c.wait_units(13));
  ASSERT_EQ(c.starts().size(), 2u);
  EXPECT_TRUE(c.starts()[1].discontinuity);
  EXPECT_GT(c.starts()[1].media_us, first_end);
  EXPECT_GT(c.units()[10], first_end) << "the event's media clock goes on across the reconnect";
  EXPECT_EQ(metrics.values("sreda_ingest_reconnects_total").at("{studio=\"" + std::to_string(studio.id) + "\"}"), 1);

  clock.advance(10'000);  // past the first grace: it was cancelled by the reconnect
  control.poll();
  EXPECT_EQ(stored_state(event_id), "live");
  EXPECT_EQ(consumer(event_id).event_ends(), 0);
}

// /metrics' view of the events on air (sreda_live_events, sreda_ingest_silence_seconds): a studio whose media
// stops is silent for as long as nothing comes, connected or not; an ended event is no longer listed.
TEST_F(EventHubTest, OnAirEventsTellHowLongTheirStudioHasBeenSilent) {
  EXPECT_TRUE(hub->on_air_events().empty());
  ASSERT_TRUE(*publish(1, key(studio))->ok);
  auto in = hub->input(1);
  ASSERT_TRUE(in);
  in->count_bytes(1000);
  clock.advance(1'000);  // the once-a-second sample sees the bytes
  auto on_air = hub->on_air_events();
  ASSERT_EQ(on_air.size(), 1u);
  EXPECT_EQ(on_air[0].event_id, event_id);
  EXPECT_EQ(on_air[0].studio_id, studio.id);
  EXPECT_EQ(on_air[0].studio_name, "Hall");
  EXPECT_EQ(on_air[0].state, EventState::live);
  EXPECT_EQ(on_air[0].silent_ms, 0);

  clock.advance(5'000);  // connected, and nothing comes (a frozen encoder)
  EXPECT_EQ(hub->on_air_events().at(0).silent_ms, 5'000);
  in->count_bytes(10);
  clock.advance(1'000);
  EXPECT_EQ(hub->on_air_events().at(0).silent_ms, 0) << "media again: no longer silent";

  gone(1);
  ASSERT_TRUE(reaches(event_id, "intermission"));
  clock.advance(30'000);
  on_air = hub->on_air_events();
  ASSERT_EQ(on_air.size(), 1u);
  EXPECT_EQ(on_air[0].state, EventState::intermission);
  EXPECT_EQ(on_air[0].silent_ms, 30'000);

  clock.advance(30'000);  // the grace (60 s) is over: ended
  ASSERT_TRUE(reaches(event_id, "ended"));
  EXPECT_TRUE(hub->on_air_events().empty());
}

TEST_F(EventHubTest, TheGraceExpiringEndsTheEvent) {
  ASSERT_TRUE(*publish(1, key(studio))->ok);
  gone(1);
  ASSERT_TRUE(reaches(event_id, "intermission"));
  clock.advance(59'999);
  control.poll();
  EXPECT_EQ(stored_state(event_id), "intermission");
  EXPECT_EQ(consumer(event_id).event_ends(), 0);

  clock.advance(1);
  EXPECT_EQ(stored_state(event_id), "ended");
  EXPECT_EQ(consumer(event_id).event_ends(), 1);
  EXPECT_FALSE(hub->clock(event_id));
  // An ended event does not come back: the studio has no event now.
  auto late = publish(2, key(studio));
  EXPECT_FALSE(*late->ok);
  EXPECT_EQ(refused("no_event"), 1);
}

TEST_F(EventHubTest, ACuratorEndsALiveEventAndItsPublisherIsDisconnected) {
  auto p = publish(1, key(studio));
  ASSERT_TRUE(*p->ok);
  std::optional<bool> was_live;
  hub->end_event(event_id, [&](bool live) { was_live = live; });
  ASSERT_TRUE(run_until([&] { return was_live.has_value(); }));
  EXPECT_TRUE(*was_live);
  EXPECT_EQ(p->disconnects, std::vector<std::string>{"ended by a curator"});
  EXPECT_EQ(stored_state(event_id), "ended") << "not intermission on the way";
  EXPECT_EQ(consumer(event_id).session_ends(), 1);
  EXPECT_EQ(consumer(event_id).event_ends(), 1);

  gone(1);  // the connection closes afterwards: nothing changes
  std::optional<bool> again;
  hub->end_event(event_id, [&](bool live) { again = live; });
  ASSERT_TRUE(run_until([&] { return again.has_value(); }));
  EXPECT_FALSE(*again);
  EXPECT_EQ(stored_state(event_id), "ended");
  EXPECT_EQ(consumer(event_id).event_ends(), 1);
}

TEST_F(EventHubTest, ACuratorEndsAnEventInIntermission) {
  ASSERT_TRUE(*publish(1, key(studio))->ok);
  gone(1);
  ASSERT_TRUE(reaches(event_id, "intermission"));
  std::optional<bool> was_live;
  hub->end_event(event_id, [&](bool live) { was_live = live; });
  ASSERT_TRUE(run_until([&] { return was_live.has_value(); }));
  EXPECT_TRUE(*was_live);
  EXPECT_EQ(stored_state(event_id), "ended");
  clock.advance(120'000);  // its grace was cancelled: no second end
  EXPECT_EQ(consumer(event_id).event_ends(), 1);
}

TEST_F(EventHubTest, AnUnknownKeyIsRefusedBeforeTheHub) {
  hub::KeyDirectory keys;
  keys.put("the-right-key", key(studio));
  ingest::RtmpBridge bridge(*hub, keys, 1 << 20);
  std::optional<bool> ok;
  std::string reason;
  ingest::rtmp::PublishRequest request;
  request.stream_key = "a-wrong-key";
  request.remote_address = "127.0.0.1:50000";
  bridge.on_publish(
      7, request,
      [&](bool yes, std::string why) {
        ok = yes;
        reason = why;
      },
      [](std::string) {});
  ASSERT_TRUE(ok.has_value()) << "refused at once";
  EXPECT_FALSE(*ok);
  EXPECT_EQ(reason, "unknown stream key");
  EXPECT_EQ(refused("unknown_key"), 1);
  control.poll();
  EXPECT_TRUE(factory.made.empty());
  EXPECT_EQ(stored_state(event_id), "scheduled");

  request.stream_key = "the-right-key";  // the same adapter with the right key: live
  bridge.on_publish(
      8, request,
      [&](bool yes, std::string why) {
        ok = yes;
        reason = why;
      },
      [](std::string) {});
  ASSERT_TRUE(run_until([&] { return stored_state(event_id) == "live"; }));
  EXPECT_TRUE(*ok) << reason;
  bridge.on_end(8, "closed");
  EXPECT_TRUE(reaches(event_id, "intermission"));
}

TEST_F(EventHubTest, AStudioMayPublishFromHalfAnHourBeforeItsEventUntilAnHourAfter) {
  clock.set((kStart - 1800 - 1) * 1000);
  auto early = publish(1, key(studio));
  EXPECT_FALSE(*early->ok);
  EXPECT_NE(early->reason.find("no event is scheduled"), std::string::npos) << early->reason;
  EXPECT_EQ(stored_state(event_id), "scheduled");

  clock.set((kStart - 1800) * 1000);
  EXPECT_TRUE(*publish(2, key(studio))->ok);

  auto other = on_store([](store::Db& db) { return schedule::create_studio(db, "Library", 1000); });
  const int64_t other_event = add_event(other.id, kStart, kStart + kHour);
  clock.set((kStart + kHour + 3600 + 1) * 1000);
  EXPECT_FALSE(*publish(3, key(other))->ok);
  clock.set((kStart + kHour + 3600) * 1000);
  EXPECT_TRUE(*publish(4, key(other))->ok);
  EXPECT_EQ(stored_state(other_event), "live");
  EXPECT_EQ(refused("no_event"), 2);
}

TEST_F(EventHubTest, ASecondPublisherOfABusyStudioIsRefused) {
  // Both ask before the store has decided the first.
  auto first = ask(1, key(studio));
  auto second = ask(2, key(studio));
  ASSERT_TRUE(run_until([&] { return first->ok && second->ok; }));
  EXPECT_TRUE(*first->ok);
  EXPECT_FALSE(*second->ok);
  EXPECT_EQ(second->reason, "this studio is already publishing");
  // And once it is live.
  auto third = publish(3, key(studio));
  EXPECT_FALSE(*third->ok);
  EXPECT_EQ(refused("already_live"), 2);
  EXPECT_TRUE(first->disconnects.empty());
  EXPECT_EQ(factory.made[event_id].size(), 1u);
}

TEST_F(EventHubTest, AWhipPublishTakesOverFromTheStudiosSilentWhipPublisher) {
  config.webrtc.takeover_silence_ms = 3000;
  auto first = publish(1, key(studio), hub::Protocol::whip);
  ASSERT_TRUE(*first->ok);
  feed(1, 5);
  clock.advance(1000);
  auto early = publish(2, key(studio), hub::Protocol::whip);
  EXPECT_FALSE(*early->ok) << "a publisher that sent media a second ago keeps the studio";
  EXPECT_EQ(early->reason, "this studio is already publishing");
  clock.advance(3000);
  auto second = publish(3, key(studio), hub::Protocol::whip);
  ASSERT_TRUE(*second->ok) << second->reason;
  ASSERT_EQ(first->disconnects.size(), 1u);
  EXPECT_NE(first->disconnects[0].find("took over"), std::string::npos) << first->disconnects[0];
  EXPECT_EQ(stored_state(event_id), "live");
  EXPECT_EQ(factory.made[event_id].size(), 1u) << "the same event goes on";
  EXPECT_EQ(metrics.values("sreda_ingest_takeovers_total").at("{protocol=\"whip\"}"), 1);
  feed(3, 3);
  ASSERT_TRUE(run_until([&] { return consumer(event_id).starts().size() == 2; }));
  EXPECT_TRUE(consumer(event_id).starts()[1].discontinuity);
}

TEST_F(EventHubTest, OnlyASilentWhipPublisherIsTakenOverAndOnlyByWhip) {
  auto rtmp = publish(1, key(studio));
  ASSERT_TRUE(*rtmp->ok);
  clock.advance(10'000);
  EXPECT_FALSE(*publish(2, key(studio), hub::Protocol::whip)->ok) << "an RTMP studio is never taken over";
  gone(1);
  ASSERT_TRUE(reaches(event_id, "intermission"));
  auto whip = publish(3, key(studio), hub::Protocol::whip);
  ASSERT_TRUE(*whip->ok) << whip->reason;
  clock.advance(10'000);
  EXPECT_FALSE(*publish(4, key(studio))->ok) << "RTMP does not take over a silent WHIP publisher";
  config.webrtc.takeover_silence_ms = 0;
  EXPECT_FALSE(*publish(5, key(studio), hub::Protocol::whip)->ok) << "0 turns takeovers off";
  EXPECT_TRUE(whip->disconnects.empty());
}

TEST_F(EventHubTest, AKeyframeRequestReachesTheLiveEventsPublisher) {
  auto p = publish(1, key(studio), hub::Protocol::whip);
  ASSERT_TRUE(*p->ok);
  hub->request_keyframe(event_id);
  hub->request_keyframe(event_id + 1000);  // no such event: nothing
  EXPECT_EQ(p->keyframe_requests, 1);
  gone(1);
  ASSERT_TRUE(reaches(event_id, "intermission"));
  hub->request_keyframe(event_id);
  EXPECT_EQ(p->keyframe_requests, 1) << "no publisher in intermission";
}

TEST_F(EventHubTest, AStudioWithNoEventIsRefusedUnlessUnscheduledPublishesAreAllowed) {
  auto bare = on_store([](store::Db& db) { return schedule::create_studio(db, "Garage", 1000); });
  auto p = publish(1, key(bare));
  EXPECT_FALSE(*p->ok);
  EXPECT_EQ(refused("no_event"), 1);
  EXPECT_TRUE(factory.made.empty());

  config.studios.allow_unscheduled = true;
  auto adhoc = publish(2, key(bare));
  ASSERT_TRUE(*adhoc->ok) << adhoc->reason;
  ASSERT_EQ(factory.made.size(), 1u);
  const int64_t made = factory.made.begin()->first;
  EXPECT_NE(made, event_id);
  EXPECT_EQ(factory.studios[made], bare.id);
  EXPECT_EQ(stored_state(made), "live");
  auto e = on_store([made](store::Db& db) { return *schedule::find_event(db, made); });
  EXPECT_EQ(e.starts_at, clock.now_ms() / 1000);
  EXPECT_EQ(e.title, "Garage");
}

TEST_F(EventHubTest, APublisherThatLeavesBeforeTheDecisionIsNotAttached) {
  auto p = ask(1, key(studio));
  gone(1);
  ASSERT_TRUE(run_until([&] { return p->ok.has_value(); }));
  EXPECT_FALSE(*p->ok);
  EXPECT_EQ(p->reason, "the publisher left");
  EXPECT_EQ(stored_state(event_id), "scheduled");
  EXPECT_TRUE(*publish(2, key(studio))->ok) << "the studio is not left busy";
}

TEST_F(EventHubTest, ARotatedKeyDisconnectsItsPublisherAndRefusesItsPublishes) {
  auto p = publish(1, key(studio, 1));
  ASSERT_TRUE(*p->ok);
  hub->revoke_key(studio.id, 2);
  ASSERT_TRUE(reaches(event_id, "intermission")) << "the event waits for the studio with its new key";
  EXPECT_EQ(p->disconnects, std::vector<std::string>{"the studio's stream key was rotated"});
  EXPECT_EQ(refused("key_rotated"), 1);

  auto old = publish(2, key(studio, 1));
  EXPECT_FALSE(*old->ok);
  EXPECT_EQ(old->reason, "this stream key is no longer valid");
  auto renewed = publish(3, key(studio, 2));
  EXPECT_TRUE(*renewed->ok) << renewed->reason;
  EXPECT_EQ(stored_state(event_id), "live");
}

TEST_F(EventHubTest, AStoppingHubRefusesPublishesAndLeavesItsEventsAsTheyAre) {
  ASSERT_TRUE(*publish(1, key(studio))->ok);
  std::atomic<bool> stopped{false};
  std::thread t([&] {
    hub->stop();
    stopped = true;
  });
  ASSERT_TRUE(run_until([&] { return stopped.load(); }));
  t.join();
  EXPECT_EQ(stored_state(event_id), "live") << "a restart finds it and applies the grace";
  EXPECT_EQ(consumer(event_id).event_ends(), 0);
  auto p = publish(2, key(studio));
  EXPECT_FALSE(*p->ok);
  EXPECT_EQ(p->reason, "the server is stopping");
}

TEST_F(EventHubTest, ARestartFindsLiveAndIntermissionEventsAndAppliesTheGrace) {
  auto other = on_store([](store::Db& db) { return schedule::create_studio(db, "Library", 1000); });
  const int64_t other_event = add_event(other.id, kStart, kStart + kHour);
  ASSERT_TRUE(*publish(1, key(studio))->ok);
  feed(1, 10);
  ASSERT_TRUE(consumer(event_id).wait_units(10));
  ASSERT_TRUE(*publish(2, key(other))->ok);
  gone(2);
  ASSERT_TRUE(reaches(other_event, "intermission"));

  // The server stops (or crashes: the rows say the same) and starts again over the same file.
  stop_hub();
  store->stop();
  open_store();
  factory.made.clear();
  make_hub();
  ASSERT_TRUE(run_until([&] { return factory.made.size() == 2; }));
  EXPECT_EQ(stored_state(event_id), "intermission");
  EXPECT_EQ(stored_state(other_event), "intermission");
  EXPECT_EQ(hub_state(event_id), EventState::intermission);

  clock.advance(30'000);
  auto back = publish(3, key(studio));
  ASSERT_TRUE(*back->ok) << back->reason;
  EXPECT_EQ(stored_state(event_id), "live");
  feed(3, 2);
  ASSERT_TRUE(consumer(event_id).wait_units(2));
  EXPECT_TRUE(consumer(event_id).starts()[0].discontinuity) << "the same playlists go on after a discontinuity";

  clock.advance(30'000);  // the grace of the one that did not come back
  EXPECT_EQ(stored_state(other_event), "ended");
  EXPECT_EQ(consumer(other_event).event_ends(), 1);
  EXPECT_EQ(stored_state(event_id), "live");
  EXPECT_EQ(consumer(event_id).event_ends(), 0);
}

TEST(AsioControlClock, ATimerRunsOnTheExecutorAndACancelledOneNever) {
  boost::asio::io_context io;
  hub::AsioControlClock clock(io.get_executor());
  EXPECT_NEAR(static_cast<double>(clock.now_ms()),
              static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count()),
              1000.0);
  int cancelled_ran = 0, dropped_ran = 0, ran = 0;
  auto cancelled = clock.after(1, [&] { cancelled_ran++; });
  auto dropped = clock.after(1, [&] { dropped_ran++; });
  std::unique_ptr<hub::Timer> self;
  self = clock.after(5, [&] {
    ran++;
    self.reset();  // a callback may drop its own timer
  });
  cancelled->cancel();
  dropped.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ran == 0 && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(cancelled_ran, 0) << "due before the one that ran";
  EXPECT_EQ(dropped_ran, 0);
}

}  // namespace
