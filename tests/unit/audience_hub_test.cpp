// The audience hub with a fake web transport and a real store on a temporary SQLite file: fan-out through
// the ring, coalesced snapshots, a slow viewer culled, the per-address cap, moderation and the batch writer.
// Long because every case drives one hub through the same fake transport and SQLite file: splitting it would
// copy that fixture.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "server/audience/audience_hub.h"
#include "server/core/client_address.h"
#include "server/core/clock.h"
#include "server/schedule/catalog.h"
#include "server/store/migrations.h"

using namespace sreda;
using nlohmann::json;

namespace {

struct FakeTransport : audience::WsTransport {
  std::set<uint64_t> woken;
  std::mutex mutex;
  std::vector<std::function<void()>> tasks;
  void wake(uint64_t conn) override { woken.insert(conn); }
  void run_on_web_thread(std::function<void()> task) override {
    std::lock_guard lock(mutex);
    tasks.push_back(std::move(task));
  }
  // Runs the tasks posted so far (as the web thread would).
  void run_tasks() {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard lock(mutex);
      ready.swap(tasks);
    }
    for (auto& t : ready) t();
  }
  // Runs posted tasks (as the web thread would) until pred holds; false after a generous deadline.
  bool pump_until(const std::function<bool()>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred()) {
      std::vector<std::function<void()>> ready;
      {
        std::lock_guard lock(mutex);
        ready.swap(tasks);
      }
      for (auto& t : ready) t();
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (ready.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }
};

// The text frames of a batch as a client reads them (RFC 6455 server frames: FIN, text, unmasked).
std::vector<std::string> unframe(std::string_view wire) {
  std::vector<std::string> out;
  while (!wire.empty()) {
    EXPECT_GE(wire.size(), 2u);
    if (wire.size() < 2) break;
    EXPECT_EQ(static_cast<unsigned char>(wire[0]), 0x81);
    size_t len = static_cast<unsigned char>(wire[1]), head = 2;
    EXPECT_EQ(len & 0x80, 0u) << "server frames are not masked";
    if (len == 126 || len == 127) {
      const size_t n = len == 126 ? 2 : 8;
      len = 0;
      for (size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<unsigned char>(wire[2 + i]);
      head += n;
    }
    EXPECT_LE(head + len, wire.size());
    if (head + len > wire.size()) break;
    out.emplace_back(wire.substr(head, len));
    wire.remove_prefix(head + len);
  }
  return out;
}

struct AudienceHubTest : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<store::Store> store;
  core::Metrics metrics;
  FakeTransport transport;
  std::unique_ptr<audience::AudienceHub> hub;
  int64_t event_id = 0;
  std::optional<audience::LiveClock> clock;
  size_t budget = 16 * 1024;  // bytes of frames one writable callback takes (the server's batch size)
  int writes = 0;             // writable callbacks that wrote something, counted by drain()

  void SetUp() override {
    static int n = 0;
    dir = std::filesystem::temp_directory_path() / ("sreda-audience-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(dir);
    auto db = store::Db::open((dir / "sreda.db").string());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(store::migrate(*db).ok());
    auto studio = schedule::create_studio(*db, "Studio", 1000);
    schedule::Event e;
    e.title = "Concert";
    e.category = "concert";
    e.studio_id = studio.id;
    e.starts_at = 2000000000;
    e.ends_at = e.starts_at + 3600;
    event_id = schedule::insert_event(*db, e, 1000).id;
    store = std::make_unique<store::Store>(std::move(*db), 1000);
    store->start();
    make_hub(16);
  }
  void make_hub(int backlog, const std::function<void(audience::AudienceOptions&)>& tweak = {}) {
    audience::AudienceOptions options;
    options.ws.backlog_frames = backlog;
    options.ws.max_connections_per_address = 3;
    if (tweak) tweak(options);
    hub = std::make_unique<audience::AudienceHub>(options, *store, metrics,
                                                  [this](int64_t) { return clock; });
    hub->attach(&transport);
    hub->start();
  }
  void TearDown() override {
    hub->finish();
    store->stop();
    std::filesystem::remove_all(dir);
  }

  uint64_t next_conn = 1;
  core::AddressSet shared;  // server.shared_addresses, as the web server reads them
  // A connection as the web server hands it over: its address key (core::limit_key) and shared flag.
  uint64_t open(const std::string& peer = "10.0.0.1", const std::string& cookie = "") {
    uint64_t id = next_conn++;
    audience::WsHandshake h;
    h.host = "localhost";
    h.peer = peer;
    h.address_key = core::limit_key(peer);
    h.shared_address = shared.contains(peer);
    h.cookie = cookie;
    hub->opened(id, h);
    return id;
  }
  // Everything the connection would write now: frames (as JSON) and, last, a close code (as {"close":code}).
  std::vector<json> drain(uint64_t conn) {
    std::vector<json> out;
    for (;;) {
      std::string buffer;
      audience::WsBatch batch(buffer, 16, budget);
      audience::WsOut o = hub->next(conn, batch);
      if (o.close_code) {
        EXPECT_EQ(batch.frames(), 0u) << "a close comes alone";
        out.push_back({{"close", o.close_code}});
        return out;
      }
      if (batch.frames()) ++writes;
      for (const auto& text : unframe(batch.wire())) out.push_back(json::parse(text));
      if (!o.more) return out;
    }
  }
  json join(uint64_t conn, const std::string& viewer, const std::string& token = "") {
    json m = {{"type", "join"}, {"event_id", event_id}, {"viewer_id", viewer}, {"nick", viewer}};
    if (!token.empty()) m["viewer_token"] = token;
    hub->message(conn, m.dump());
    std::vector<json> got;
    EXPECT_TRUE(transport.pump_until([&] {
      for (auto& f : drain(conn)) got.push_back(f);
      return !got.empty();
    }));
    return got.empty() ? json() : got.front();
  }
  void say(uint64_t conn, const std::string& text) {
    hub->message(conn, json{{"type", "comment"}, {"text", text}}.dump());
    settle();
  }
  // Comments are acknowledged (broadcast) once stored: hands the pending ones to the store, waits for the
  // commit, then runs what the store handed back to the web thread.
  void settle() {
    hub->flush();
    std::promise<void> stored;
    ASSERT_TRUE(store->post([&](store::Db&) { stored.set_value(); }));
    stored.get_future().wait();
    transport.run_tasks();
  }
};

std::vector<json> of_type(const std::vector<json>& frames, const std::string& type) {
  std::vector<json> out;
  for (const auto& f : frames)
    if (f.value("type", "") == type) out.push_back(f);
  return out;
}

}  // namespace

TEST_F(AudienceHubTest, ACommentReachesEveryViewerOnceWithMediaTime) {
  uint64_t a = open(), b = open();
  EXPECT_EQ(join(a, "viewer-aaaa")["type"], "welcome");
  EXPECT_EQ(join(b, "viewer-bbbb")["viewers"], 2);
  clock = audience::LiveClock{schedule::EventState::live, 12345};
  say(a, "Браво");
  for (uint64_t c : {a, b}) {
    auto comments = of_type(drain(c), "comment");
    ASSERT_EQ(comments.size(), 1u);
    EXPECT_EQ(comments[0]["text"], "Браво");
    EXPECT_EQ(comments[0]["media_ms"], 12345);
    EXPECT_EQ(comments[0]["nick"], "viewer-aaaa");
  }
}

TEST_F(AudienceHubTest, ACommentIsAcknowledgedOnlyOnceStored) {
  // A crash (kill -9) right after the acknowledgement must not lose the comment: it is broadcast, to its writer
  // too, after the store's commit.
  uint64_t a = open();
  join(a, "viewer-aaaa");
  hub->message(a, json{{"type", "comment"}, {"text", "сохранён"}}.dump());
  EXPECT_TRUE(of_type(drain(a), "comment").empty()) << "not acknowledged before it is stored";
  settle();
  auto acked = of_type(drain(a), "comment");
  ASSERT_EQ(acked.size(), 1u);
  std::promise<std::vector<audience::Comment>> rows;
  store->post([&](store::Db& db) {
    rows.set_value(audience::list_comments(db, event_id, std::nullopt, std::nullopt, 10, false));
  });
  auto stored = rows.get_future().get();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].id, acked[0]["id"].get<int64_t>());
}

TEST_F(AudienceHubTest, RatingsAndViewerCountsAreCoalescedSnapshots) {
  uint64_t a = open(), b = open();
  join(a, "viewer-aaaa");
  join(b, "viewer-bbbb");
  drain(a);
  for (int i = 0; i < 10; ++i) hub->message(b, json{{"type", "rate"}, {"stars", 1 + i % 5}}.dump());
  hub->message(a, R"({"type":"rate","stars":4})");
  hub->tick(1'000'000);
  hub->tick(1'000'100);  // within the interval: nothing new
  auto frames = drain(a);
  auto ratings = of_type(frames, "rating");
  ASSERT_EQ(ratings.size(), 1u);
  EXPECT_EQ(ratings[0]["count"], 2);
  EXPECT_EQ(ratings[0]["histogram"], json({0, 0, 0, 1, 1}));
  EXPECT_EQ(of_type(frames, "viewers").size(), 1u);
}

TEST_F(AudienceHubTest, TheViewerCountForOtherThreadsFollowsJoinsAndLeaves) {
  EXPECT_EQ(hub->viewers(event_id), 0);
  uint64_t a = open(), b = open();
  join(a, "viewer-aaaa");
  join(b, "viewer-bbbb");
  hub->tick(1'000'000);
  EXPECT_EQ(hub->viewers(event_id), 2);
  EXPECT_EQ(hub->viewers(event_id + 1), 0);
  hub->closed(b);
  hub->tick(1'001'000);
  EXPECT_EQ(hub->viewers(event_id), 1);
  hub->closed(a);
  hub->tick(1'002'000);
  EXPECT_EQ(hub->viewers(event_id), 0);
}

TEST_F(AudienceHubTest, AViewerBehindCatchesUpInOneWriteWithinTheBatchBudget) {
  uint64_t a = open(), b = open("10.0.0.2"), c = open("10.0.0.3");
  join(a, "viewer-aaaa");
  join(b, "viewer-bbbb");
  join(c, "viewer-cccc");
  drain(a);
  drain(b);
  say(b, "first");
  say(c, "second");
  say(b, std::string(300, 'l'));  // a frame with a 16-bit length
  writes = 0;
  auto texts = of_type(drain(a), "comment");
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts[0]["text"], "first");
  EXPECT_EQ(texts[1]["text"], "second");
  EXPECT_EQ(texts[2]["text"], std::string(300, 'l'));
  EXPECT_EQ(writes, 1) << "three frames waiting leave in one write";

  budget = 100;  // room for one small comment frame: each write takes one, the first always fits
  say(b, "third");
  say(c, "fourth");
  writes = 0;
  texts = of_type(drain(b), "comment");
  ASSERT_EQ(texts.size(), 5u);  // b had not read the first three yet either
  EXPECT_EQ(texts[3]["text"], "third");
  EXPECT_EQ(texts[4]["text"], "fourth");
  EXPECT_EQ(writes, 5);
}

TEST(WsBatch, FramesEveryLengthAndKeepsTheHeadroom) {
  std::string buffer = "stale bytes from the last callback";
  audience::WsBatch batch(buffer, 16, 1 << 20);
  const std::string mid(70000, 'm');
  EXPECT_TRUE(batch.add("hi"));
  EXPECT_TRUE(batch.add(std::string(126, 'x')));
  EXPECT_TRUE(batch.add(mid));
  EXPECT_EQ(batch.frames(), 3u);
  EXPECT_EQ(batch.size(), 2 + 2 + 4 + 126 + 10 + mid.size());
  EXPECT_EQ(buffer.size(), 16 + batch.size());
  EXPECT_EQ(unframe(batch.wire()), (std::vector<std::string>{"hi", std::string(126, 'x'), mid}));
  audience::WsBatch small(buffer, 16, 10);
  EXPECT_TRUE(small.add(mid)) << "the first frame is always taken";
  EXPECT_FALSE(small.add("hi"));
  EXPECT_EQ(small.frames(), 1u);
}

TEST_F(AudienceHubTest, ASlowViewerIsCulledNotBuffered) {
  uint64_t fast = open(), slow = open("10.0.0.2");
  join(fast, "viewer-fast");
  join(slow, "viewer-slow");
  for (int i = 0; i < 40; ++i) {
    hub->message(fast, json{{"type", "comment"}, {"text", "x" + std::to_string(i)}}.dump());
    drain(fast);  // the fast one keeps up (rate-limited after 3: errors are replies to it alone)
  }
  // Make 40 comments from many viewers so the ring (16) overflows.
  for (int i = 0; i < 40; ++i) {
    uint64_t c = open("10.1.0." + std::to_string(i));
    join(c, "viewer-many-" + std::to_string(i));
    say(c, "hello " + std::to_string(i));
    drain(c);
    hub->closed(c);
  }
  auto frames = drain(slow);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back()["close"], 1008);
}

TEST_F(AudienceHubTest, PerAddressCapClosesTheExtraConnection) {
  uint64_t a = open(), b = open(), c = open();
  EXPECT_TRUE(drain(a).empty());
  EXPECT_TRUE(drain(b).empty());
  EXPECT_TRUE(drain(c).empty());
  uint64_t d = open();
  auto frames = drain(d);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0]["code"], "too_many_connections");
  EXPECT_EQ(frames[1]["close"], 1008);
  hub->closed(d);
  hub->closed(a);
  EXPECT_TRUE(drain(open()).empty());  // a place is free again
}

TEST_F(AudienceHubTest, HiddenCommentsLeaveTheWelcomeAndStoredCommentsSurviveARestart) {
  uint64_t a = open();
  join(a, "viewer-aaaa");
  say(a, "one");
  say(a, "two");
  auto comments = of_type(drain(a), "comment");
  ASSERT_EQ(comments.size(), 2u);
  hub->comment_hidden(event_id, comments[0]["id"]);
  auto removed = of_type(drain(a), "comment_removed");
  ASSERT_EQ(removed.size(), 1u);
  uint64_t b = open();
  auto welcome = join(b, "viewer-bbbb");
  ASSERT_EQ(welcome["comments"].size(), 1u);
  EXPECT_EQ(welcome["comments"][0]["text"], "two");

  // finish() queues the batch; a new hub (a restart) continues the ids and loads the history.
  hub->finish();
  make_hub(16);
  uint64_t c = open("10.0.0.9");
  auto again = join(c, "viewer-cccc");
  ASSERT_EQ(again["comments"].size(), 2u);  // the hub's hide went to the database through the REST handler only
  say(c, "three");
  auto three = of_type(drain(c), "comment");
  ASSERT_EQ(three.size(), 1u);
  EXPECT_GT(three[0]["id"].get<int64_t>(), comments[1]["id"].get<int64_t>());
}

TEST_F(AudienceHubTest, BannedViewerIsRemovedAndRefusedAlsoUnderAFreshViewerId) {
  uint64_t a = open("10.0.0.9"), neighbour = open("10.0.0.10");
  const json welcome = join(a, "viewer-troll");
  join(neighbour, "viewer-nice");
  audience::Ban ban;
  ban.event_id = event_id;
  ban.kind = "viewer";
  ban.value = welcome["viewer_id"];  // the identity the server issued (curators see it with the comment)
  hub->ban_added(ban);
  auto frames = drain(a);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0]["code"], "banned");
  EXPECT_EQ(frames[1]["close"], 1008);
  EXPECT_EQ(join(open("10.0.0.11"), "viewer-other", welcome["viewer_token"])["code"], "banned") << "its token";
  EXPECT_EQ(join(open("10.0.0.9"), "viewer-fresh-1")["code"], "banned") << "a fresh viewer id from its address";
  EXPECT_TRUE(of_type(drain(neighbour), "error").empty()) << "another address is not touched";
  hub->ban_removed(ban);
  EXPECT_EQ(join(open("10.0.0.9"), "viewer-fresh-2")["type"], "welcome");
}

TEST_F(AudienceHubTest, AnAddressBanCoversItsIPv6Slash64) {
  uint64_t a = open("2001:db8:1:2::10");
  join(a, "viewer-aaaa");
  audience::Ban ban;
  ban.kind = "address";
  ban.value = "2001:db8:1:2::1";
  hub->ban_added(ban);
  EXPECT_EQ(drain(a).back()["close"], 1008);
  EXPECT_EQ(join(open("2001:db8:1:2:ffff::1"), "viewer-bbbb")["code"], "banned");
  EXPECT_EQ(join(open("2001:db8:1:3::1"), "viewer-cccc")["type"], "welcome");
}

TEST_F(AudienceHubTest, TheServerIssuesTheIdentityAndAKeptTokenOrCookieBringsItBack) {
  uint64_t a = open();
  const json first = join(a, "viewer-aaaa");
  ASSERT_TRUE(first.contains("viewer_token")) << first.dump();
  EXPECT_NE(first["viewer_id"], "viewer-aaaa") << "a plain viewer_id is not an identity";
  hub->message(a, R"({"type":"rate","stars":4})");
  auto rated = of_type(drain(a), "rated");
  ASSERT_EQ(rated.size(), 1u);
  EXPECT_EQ(rated[0]["counted"], true);
  // The token kept: the same viewer (its rating), no new token.
  const json again = join(open("10.0.0.2"), "viewer-zzzz", first["viewer_token"]);
  EXPECT_EQ(again["viewer_id"], first["viewer_id"]);
  EXPECT_EQ(again["your_rating"], 4);
  EXPECT_FALSE(again.contains("viewer_token"));
  // The same plain viewer_id without the token: a new viewer.
  const json stranger = join(open("10.0.0.3"), "viewer-aaaa");
  EXPECT_NE(stranger["viewer_id"], first["viewer_id"]);
  EXPECT_EQ(stranger["your_rating"], nullptr);
  // The page's cookie on the upgrade.
  const json by_cookie = join(open("10.0.0.4", "x=1; sreda_viewer=" + first["viewer_token"].get<std::string>()), "viewer-q");
  EXPECT_EQ(by_cookie["viewer_id"], first["viewer_id"]);
  // A tampered token: a new identity, with a token to keep.
  std::string bad = first["viewer_token"];
  bad.back() = bad.back() == 'A' ? 'B' : 'A';
  const json tampered = join(open("10.0.0.5"), "viewer-t", bad);
  EXPECT_NE(tampered["viewer_id"], first["viewer_id"]);
  EXPECT_TRUE(tampered.contains("viewer_token"));
}

TEST_F(AudienceHubTest, OneAddressCannotMoveThePublicRatingBeyondTheCap) {
  // Honest viewers on their own addresses give 5 stars; one address opens connection after connection
  // (a fresh identity each) and gives 1 star.
  for (int i = 0; i < 5; ++i) {
    uint64_t c = open("10.1.0." + std::to_string(i));
    join(c, "viewer-honest");
    hub->message(c, R"({"type":"rate","stars":5})");
    hub->closed(c);
  }
  int counted = 0;
  for (int i = 0; i < 40; ++i) {
    uint64_t c = open("192.0.2.66");
    join(c, "viewer-attack-" + std::to_string(i));
    hub->message(c, R"({"type":"rate","stars":1})");
    auto rated = of_type(drain(c), "rated");
    ASSERT_EQ(rated.size(), 1u);
    counted += rated[0]["counted"].get<bool>();
    hub->closed(c);
  }
  EXPECT_EQ(counted, 20);
  const json w = join(open("10.2.0.1"), "viewer-late");
  EXPECT_EQ(w["rating"]["count"], 25);
  EXPECT_EQ(w["rating"]["histogram"], json({20, 0, 0, 0, 5}));
}

TEST_F(AudienceHubTest, FreshViewerIdsFromOneAddressShareItsCommentLimit) {
  // ws.comments_per_address_window (10 by default) comments in the window from one address, whoever writes.
  int shown = 0, refused = 0;
  for (int i = 0; i < 14; ++i) {
    uint64_t c = open("192.0.2.77");
    join(c, "viewer-spam-" + std::to_string(i));
    say(c, "spam " + std::to_string(i));
    for (const auto& f : drain(c)) {
      if (f.value("type", "") == "comment") ++shown;
      if (f.value("code", "") == "rate_limited") ++refused;
    }
    hub->closed(c);
  }
  EXPECT_EQ(shown, 10);
  EXPECT_EQ(refused, 4);
  EXPECT_EQ(hub->refusals().counts(sreda::core::now_ms())["rate_limited"], 4);
  // Slow mode: one comment per interval per viewer, comments_per_address_window per address.
  hub->slow_mode_set(event_id, 60);
  uint64_t a = open("10.3.0.1");
  join(a, "viewer-slow");
  say(a, "one");
  say(a, "two");
  auto frames = drain(a);
  EXPECT_EQ(of_type(frames, "comment").size(), 1u);
  ASSERT_EQ(of_type(frames, "error").size(), 1u);
  EXPECT_EQ(of_type(frames, "error")[0]["code"], "slow_mode");
}

TEST_F(AudienceHubTest, ASharedAddressGetsEveryPerAddressCapTimesTheMultiplier) {
  // server.shared_addresses 192.0.2.0/24 with server.shared_address_multiplier 4: a school's NAT.
  shared = *core::AddressSet::parse("192.0.2.0/24");
  hub->finish();
  make_hub(16, [](audience::AudienceOptions& o) {
    o.shared_address_multiplier = 4;
    o.ws.max_ratings_per_address = 2;
    o.ws.comments_per_address_window = 3;
  });
  // Connections: 3 from an ordinary address, 12 from the shared one.
  auto connections = [&](const std::string& peer, int tries) {
    int admitted = 0;
    std::vector<uint64_t> open_ones;
    for (int i = 0; i < tries; ++i) {
      uint64_t c = open(peer);
      auto frames = drain(c);
      if (frames.empty()) ++admitted;
      else EXPECT_EQ(frames[0]["code"], "too_many_connections");
      open_ones.push_back(c);
    }
    for (uint64_t c : open_ones) hub->closed(c);
    return admitted;
  };
  EXPECT_EQ(connections("10.0.0.1", 6), 3);
  EXPECT_EQ(connections("192.0.2.50", 20), 12);
  // Ratings and comments, each from a fresh identity on its own connection.
  auto votes = [&](const std::string& peer, int n) {
    int counted = 0, shown = 0;
    for (int i = 0; i < n; ++i) {
      uint64_t c = open(peer);
      EXPECT_EQ(join(c, "viewer-fresh")["type"], "welcome");
      hub->message(c, R"({"type":"rate","stars":1})");
      say(c, "hello " + std::to_string(i));
      for (const auto& f : drain(c)) {
        if (f.value("type", "") == "rated") counted += f["counted"].get<bool>();
        if (f.value("type", "") == "comment" && f.value("text", "") == "hello " + std::to_string(i)) ++shown;
      }
      hub->closed(c);
    }
    return std::pair{counted, shown};
  };
  EXPECT_EQ(votes("198.51.100.7", 15), std::pair(2, 3)) << "ordinary: ws.max_ratings_per_address, comments_per_address_window";
  EXPECT_EQ(votes("192.0.2.9", 15), std::pair(8, 12)) << "shared: both × 4";
  EXPECT_EQ(votes("192.0.2.10", 15), std::pair(8, 12)) << "another host of the shared block is its own address";
  const json w = join(open("10.2.0.1"), "viewer-late");
  EXPECT_EQ(w["rating"]["count"], 18);
}

TEST_F(AudienceHubTest, AnEmptyRoomIsDroppedAndReloadedFromTheDatabase) {
  uint64_t a = open();
  join(a, "viewer-aaaa");
  say(a, "kept");
  hub->message(a, R"({"type":"rate","stars":3})");
  drain(a);
  hub->closed(a);
  hub->tick(1'000'000);           // idle from now; the batch goes to the store
  hub->tick(1'000'000 + 61'000);  // dropped
  // A row only the database knows: the next join must load the room from there.
  std::promise<void> written;
  store->post([&](store::Db& db) {
    audience::Comment c;
    c.id = 999;
    c.event_id = event_id;
    c.viewer_id = "viewer-db";
    c.nick = "db";
    c.text = "from the database";
    c.at_ms = 1;
    audience::write_batch(db, {c}, {});
    written.set_value();
  });
  written.get_future().wait();
  uint64_t b = open();
  auto welcome = join(b, "viewer-bbbb");
  ASSERT_EQ(welcome["comments"].size(), 2u);
  EXPECT_EQ(welcome["comments"][0]["text"], "kept");
  EXPECT_EQ(welcome["comments"][1]["text"], "from the database");
  EXPECT_EQ(welcome["rating"]["count"], 1);
  EXPECT_EQ(welcome["viewers"], 1);
}

TEST_F(AudienceHubTest, AQuestionIsFlaggedStoredAtOnceWhenAskedAndMarkedAnsweredForEveryone) {
  uint64_t a = open(), b = open();
  join(a, "viewer-aaaa");
  join(b, "viewer-bbbb");
  hub->message(a, R"({"type":"comment","text":"Как держать кисть?","question":true})");
  say(a, "Браво");
  auto comments = of_type(drain(b), "comment");
  ASSERT_EQ(comments.size(), 2u);
  EXPECT_EQ(comments[0]["question"], true);
  EXPECT_EQ(comments[0]["answered"], false);
  EXPECT_EQ(comments[1]["question"], false);
  const int64_t id = comments[0]["id"];

  // flush_now (before a REST handler's store job): the question is in SQLite when the job runs, no tick needed.
  ASSERT_TRUE(hub->flush_now());
  std::promise<std::pair<bool, bool>> marked;
  store->post([&](store::Db& db) {
    const bool first = audience::mark_answered(db, id, 5000, "studio 1");
    const bool again = audience::mark_answered(db, id, 6000, "admin");  // idempotent: the first mark stays
    marked.set_value({first, again});
  });
  EXPECT_EQ(marked.get_future().get(), std::make_pair(true, false));
  hub->comment_answered(event_id, id, 5000);
  for (uint64_t c : {a, b}) {
    auto answered = of_type(drain(c), "comment_answered");
    ASSERT_EQ(answered.size(), 1u);
    EXPECT_EQ(answered[0]["id"], id);
  }
  auto welcome = join(open("10.0.0.7"), "viewer-cccc");
  ASSERT_EQ(welcome["comments"].size(), 2u);
  EXPECT_EQ(welcome["comments"][0]["answered"], true);
  EXPECT_EQ(welcome["comments"][1]["answered"], false);

  std::promise<std::optional<audience::Comment>> stored;
  store->post([&](store::Db& db) { stored.set_value(audience::find_comment(db, id)); });
  auto c = stored.get_future().get();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->question);
  EXPECT_EQ(c->answered_at_ms, 5000);
  EXPECT_EQ(c->answered_by, "studio 1");
  EXPECT_EQ(audience::curator_json(*c)["answered_by"], "studio 1");
}
