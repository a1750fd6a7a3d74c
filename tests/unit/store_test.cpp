// Store: migrations, the store thread's queue, and the catalog's SQL on a real SQLite file.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "server/auth/curators.h"
#include "server/schedule/catalog.h"
#include "server/store/migrations.h"
#include "server/store/store.h"

using namespace sreda;

namespace {
struct TempDb {
  std::filesystem::path dir;
  TempDb() {
    dir = std::filesystem::temp_directory_path() /
          ("sreda-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir);
  }
  ~TempDb() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "sreda.db").string(); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

store::Db open_migrated(const std::string& path) {
  auto db = store::Db::open(path);
  EXPECT_TRUE(db.ok());
  auto r = store::migrate(*db);
  EXPECT_TRUE(r.ok());
  return std::move(*db);
}
}  // namespace

TEST(StoreMigrations, FreshDatabaseReachesLatestAndStaysThere) {
  TempDb t;
  auto db = open_migrated(t.path());
  auto st = db.prepare("PRAGMA user_version");
  st.step();
  EXPECT_EQ(st.int64(0), store::latest_schema_version());
  auto again = store::migrate(db);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, store::latest_schema_version());
  auto mode = db.prepare("PRAGMA journal_mode");
  mode.step();
  EXPECT_EQ(mode.text(0), "wal");
}

TEST(StoreMigrations, NewerDatabaseIsRefusedClearly) {
  TempDb t;
  {
    auto db = open_migrated(t.path());
    ASSERT_TRUE(db.exec("PRAGMA user_version = 999").ok());
  }
  auto db = store::Db::open(t.path());
  ASSERT_TRUE(db.ok());
  auto r = store::migrate(*db);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "schema_too_new");
  EXPECT_NE(r.error().message.find("newer sreda"), std::string::npos);
}

TEST(StoreThread, DrainsEveryAcceptedJobOnStop) {
  TempDb t;
  store::Store s(open_migrated(t.path()), 100000);
  s.start();
  std::atomic<int> ran{0};
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(s.post([&, i](store::Db& db) {
      schedule::create_studio(db, "studio " + std::to_string(i), 1);
      ran++;
    }));
  }
  s.stop();
  EXPECT_EQ(ran.load(), 2000);
  EXPECT_FALSE(s.post([](store::Db&) {}));  // stopped: refused, not lost silently
  auto db = store::Db::open(t.path());
  auto st = db->prepare("SELECT COUNT(*) FROM studios");
  st.step();
  EXPECT_EQ(st.int64(0), 2000);
}

TEST(StoreThread, RefusesWhenFullAndSurvivesAFailingJob) {
  TempDb t;
  store::Store s(open_migrated(t.path()), 16);
  // Not started yet: the queue fills up and then refuses.
  int accepted = 0;
  for (int i = 0; i < 20; ++i) accepted += s.post([](store::Db& db) { db.prepare("SELECT nonsense FROM nowhere"); });
  EXPECT_EQ(accepted, 16);
  EXPECT_EQ(s.stats().jobs_refused.load(), 4);
  s.start();
  s.stop();
  EXPECT_EQ(s.stats().job_failures.load(), 16);
}

// A flood of public reads fills only its own lane; main-lane jobs (a login, a publish decision) are still
// accepted and run ahead of the flood (at most one public job between two main ones after a burst).
TEST(StoreThread, PublicReadsCannotStarveTheMainLane) {
  TempDb t;
  store::Store s(open_migrated(t.path()), 16, 8);
  std::vector<std::string> order;  // written on the store thread only; read after stop()
  int accepted_public = 0;
  for (int i = 0; i < 50; ++i)
    accepted_public += s.post([&order](store::Db&) { order.push_back("public"); }, store::Store::Lane::public_reads);
  EXPECT_EQ(accepted_public, 8);
  EXPECT_EQ(s.stats().public_refused.load(), 42);
  EXPECT_TRUE(s.post([&order](store::Db&) { order.push_back("login"); }));
  EXPECT_TRUE(s.post([&order](store::Db&) { order.push_back("publish"); }));
  s.start();
  s.stop();
  ASSERT_EQ(order.size(), 10u);
  EXPECT_EQ(order[0], "login");
  EXPECT_EQ(order[1], "publish");
}

TEST(StoreMigrations, EventIdsAreNeverReusedAndTheRebuildKeepsEveryRow) {
  TempDb t;
  auto db = store::Db::open(t.path());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(store::migrate(*db, 5).ok());  // a database from before step 6
  const auto studio = schedule::create_studio(*db, "Hall", 0);
  auto add = [&](int64_t starts_at) {  // step 5's columns (insert_event also writes later steps' columns)
    auto st = db->prepare(
        "INSERT INTO events (title, description, category, language, studio_id, starts_at, ends_at, state, "
        "search_text, created_at, updated_at) VALUES ('A', '', 'concert', 'ru', ?, ?, ?, 'scheduled', 'a', 0, 0)");
    st.bind(1, studio.id).bind(2, starts_at).bind(3, starts_at + 500);
    st.run();
    schedule::Event e;
    e.id = db->last_insert_id();
    return e;
  };
  const auto a = add(1000), b = add(2000), c = add(3000);
  ASSERT_TRUE(db->exec("INSERT INTO comments (event_id, viewer_id, nick, text, at_ms) VALUES (" + std::to_string(a.id) +
                       ", 'v', 'n', 'kept', 0)").ok());
  ASSERT_TRUE(db->exec("INSERT INTO moderation_log (at, curator, action, event_id) VALUES (0, 'x', 'hide', " +
                       std::to_string(c.id) + ")").ok());
  schedule::delete_event(*db, c.id);  // the highest id, deleted before the migration: only the log names it
  ASSERT_TRUE(store::migrate(*db).ok());
  // Every row and every row that refers to one survived the rebuild.
  EXPECT_TRUE(schedule::find_event(*db, a.id));
  EXPECT_TRUE(schedule::find_event(*db, b.id));
  auto comments = db->prepare("SELECT COUNT(*) FROM comments WHERE event_id = ?");
  comments.bind(1, a.id);
  ASSERT_TRUE(comments.step());
  EXPECT_EQ(comments.int64(0), 1);
  // Neither the id deleted before the migration nor one deleted after it comes back.
  const auto d = add(7000);
  EXPECT_GT(d.id, c.id);
  schedule::delete_event(*db, d.id);
  EXPECT_GT(add(9000).id, d.id);
  // Foreign keys are on again, and deleting an event still takes its comments with it.
  auto fk = db->prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(fk.step());
  EXPECT_EQ(fk.int64(0), 1);
  schedule::delete_event(*db, a.id);
  comments.reset();
  ASSERT_TRUE(comments.step());
  EXPECT_EQ(comments.int64(0), 0);
}

TEST(Catalog, OverlapIgnoresCancelledAndTouchingEvents) {
  TempDb t;
  auto db = open_migrated(t.path());
  auto studio = schedule::create_studio(db, "Hall", 0);
  auto other = schedule::create_studio(db, "Other", 0);
  schedule::Event e;
  e.title = "A";
  e.category = "concert";
  e.studio_id = studio.id;
  e.starts_at = 1000;
  e.ends_at = 2000;
  e = schedule::insert_event(db, e, 0);
  EXPECT_TRUE(schedule::find_overlap(db, studio.id, 1500, 2500, 0));
  EXPECT_TRUE(schedule::find_overlap(db, studio.id, 500, 3000, 0));
  EXPECT_FALSE(schedule::find_overlap(db, studio.id, 2000, 3000, 0));  // starts when A ends
  EXPECT_FALSE(schedule::find_overlap(db, studio.id, 0, 1000, 0));
  EXPECT_FALSE(schedule::find_overlap(db, other.id, 1500, 2500, 0));   // another studio
  EXPECT_FALSE(schedule::find_overlap(db, studio.id, 1500, 2500, e.id));  // itself, when rescheduling
  schedule::set_event_state(db, e.id, schedule::EventState::cancelled, 0);
  EXPECT_FALSE(schedule::find_overlap(db, studio.id, 1500, 2500, 0));
}

TEST(Catalog, StudioNamesAreUniqueWhateverTheCase) {
  TempDb t;
  auto db = open_migrated(t.path());
  schedule::create_studio(db, "Дом Культуры", 0);
  EXPECT_TRUE(schedule::find_studio_by_name(db, "дом культуры"));
  EXPECT_THROW(schedule::create_studio(db, "ДОМ КУЛЬТУРЫ", 0), store::StoreError);
}

TEST(Sessions, TokensAreStoredHashedAndExpire) {
  TempDb t;
  auto db = open_migrated(t.path());
  auto c = auth::insert_curator(db, "anna", "$argon2id$x", "curator", 0);
  auto s = auth::create_session(db, c.id, 1000, 3600);
  EXPECT_TRUE(auth::find_session(db, s.token, 1000));
  EXPECT_FALSE(auth::find_session(db, s.token, 1000 + 3600));
  EXPECT_FALSE(auth::find_session(db, s.token + "x", 1000));
  auto raw = db.prepare("SELECT token_hash FROM sessions");
  raw.step();
  EXPECT_NE(raw.text(0), s.token);
  EXPECT_EQ(auth::purge_expired_sessions(db, 1000 + 3600), 1);
}
