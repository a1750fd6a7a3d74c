// Schema step 10 (residents' wishes and their votes) on a real SQLite file: one vote per viewer, the address
// group's cap, listing (hidden left out, sorted, paged) and an answering event's deletion.
#include <gtest/gtest.h>

#include <filesystem>

#include "server/audience/wishes.h"
#include "server/schedule/catalog.h"
#include "server/store/migrations.h"

using namespace sreda;

namespace {
struct TempDir {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sreda-wishes-test-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(dir); }
  ~TempDir() { std::filesystem::remove_all(dir); }
};

audience::Wish wish(const std::string& text, int64_t at) {
  audience::Wish w;
  w.text = text;
  w.category = "concert";
  w.viewer_id = "writer";
  w.address = "192.0.2.1";
  w.created_at = at;
  return w;
}
}  // namespace

TEST(WishesStore, StepTenVotesOncePerViewerAndCapsAnAddressGroup) {
  TempDir t;
  auto db = store::Db::open((t.dir / "sreda.db").string());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(store::migrate(*db, 9).ok());  // a database from before the wishes
  const auto studio = schedule::create_studio(*db, "Hall", 0);
  schedule::Event e;
  e.title = "Jazz";
  e.category = "concert";
  e.studio_id = studio.id;
  e.starts_at = 1000;
  e.ends_at = 2000;
  e = schedule::insert_event(*db, e, 0);
  ASSERT_TRUE(store::migrate(*db).ok());
  EXPECT_GE(store::latest_schema_version(), 10);

  const auto a = audience::insert_wish(*db, wish("Больше джаза", 100));
  const auto first = audience::vote_wish(*db, a.id, "v1", "198.51.100.1", 2, 200);
  EXPECT_TRUE(first.fresh && first.counted);
  EXPECT_EQ(first.votes, 1);
  const auto again = audience::vote_wish(*db, a.id, "v1", "198.51.100.1", 2, 201);
  EXPECT_FALSE(again.fresh);
  EXPECT_EQ(again.votes, 1);  // the same viewer again changes nothing
  EXPECT_EQ(audience::vote_wish(*db, a.id, "v2", "198.51.100.1", 2, 202).votes, 2);
  const auto over = audience::vote_wish(*db, a.id, "v3", "198.51.100.1", 2, 203);
  EXPECT_FALSE(over.counted);
  EXPECT_TRUE(over.capped_now);
  EXPECT_EQ(over.votes, 2);  // the group's third voter is kept, not counted
  EXPECT_FALSE(audience::vote_wish(*db, a.id, "v4", "198.51.100.1", 2, 204).capped_now);  // logged once
  EXPECT_EQ(audience::vote_wish(*db, a.id, "v5", "203.0.113.9", 2, 205).votes, 3);      // another address counts
  EXPECT_EQ(audience::voted_by(*db, "v1", {a.id}), std::vector<int64_t>{a.id});
  // Left-out votes of one group are bounded too: beyond kKeptPerCounted × cap they are not stored.
  for (int i = 0; i < 40; ++i)
    audience::vote_wish(*db, a.id, "x" + std::to_string(i), "198.51.100.1", 2, 300);
  auto kept = db->prepare("SELECT COUNT(*) FROM wish_votes WHERE wish_id = ? AND counted = 0");
  kept.bind(1, a.id);
  ASSERT_TRUE(kept.step());
  EXPECT_EQ(kept.int64(0), 20);

  // Listing: newest first or most voted first, hidden wishes left out, paged.
  const auto b = audience::insert_wish(*db, wish("Лекция о Тукае", 110));
  const auto c = audience::insert_wish(*db, wish("Spam", 120));
  audience::set_wish_status(*db, c.id, "hidden", 130);
  auto top = audience::list_wishes(*db, audience::WishSort::top, 1, 20, false);
  ASSERT_EQ(top.items.size(), 2u);
  EXPECT_EQ(top.total, 2);
  EXPECT_EQ(top.items[0].id, a.id);
  EXPECT_EQ(audience::list_wishes(*db, audience::WishSort::fresh, 1, 20, false).items[0].id, b.id);
  EXPECT_EQ(audience::list_wishes(*db, audience::WishSort::fresh, 2, 1, false).items[0].id, a.id);
  EXPECT_EQ(audience::list_wishes(*db, audience::WishSort::top, 1, 20, true).total, 3);
  EXPECT_EQ(audience::wishes_waiting(*db), 2);
  EXPECT_EQ(audience::wishes_from(*db, "192.0.2.1", 105), 2);

  // An answering event: its page finds the wish; deleting the event unlinks it, the wish stays.
  audience::set_wish_event(*db, a.id, e.id, 400);
  audience::set_wish_reply(*db, a.id, "12 марта", 400);
  ASSERT_TRUE(audience::wish_for_event(*db, e.id));
  EXPECT_EQ(audience::wish_for_event(*db, e.id)->reply, "12 марта");
  schedule::delete_event(*db, e.id);
  auto kept_wish = audience::find_wish(*db, a.id);
  ASSERT_TRUE(kept_wish);
  EXPECT_FALSE(kept_wish->event_id);
  EXPECT_EQ(kept_wish->votes, 3);
}
