// Curators' reports: the tally of what watch pages play (pure) and the report tables on a real SQLite file
// (written in batches, read back per event and per season, kept after the event is deleted).
#include <gtest/gtest.h>

#include <filesystem>

#include "server/audience/report_store.h"
#include "server/audience/report_tally.h"
#include "server/audience/wire.h"
#include "server/store/migrations.h"

using namespace sreda;
using namespace sreda::audience;

TEST(ReportTally, CountsPlayingTimePerRenditionLiveAndArchive) {
  EventTally t(60'000);
  Playback a, b;
  t.change(a, "v1", true, false, "480p", 1'000);
  t.change(a, "v1", true, false, "720p", 11'000);  // 10 s of 480p, then 720p
  t.change(b, "v2", true, true, "", 5'000);
  t.stop(a, 21'000);                                // 10 s of 720p
  t.accrue(b, 65'000);                              // 60 s of the archive: a play
  t.accrue(b, 70'000);                              // counted once
  ReportDelta d;
  t.take(d);
  EXPECT_EQ(d.live_ms, (std::map<std::string, int64_t>{{"480p", 10'000}, {"720p", 10'000}}));
  EXPECT_EQ(d.archive_ms, (std::map<std::string, int64_t>{{"unknown", 65'000}}));
  EXPECT_EQ(d.archive_starts, 1);
  EXPECT_EQ(d.archive_plays, 1);
  EXPECT_EQ(d.new_viewers, (std::vector<std::string>{"v1", "v2"}));
  ReportDelta again;
  t.take(again);
  EXPECT_TRUE(again.empty()) << "taken once";
}

TEST(ReportTally, AViewerIsNewOnceAndAPauseCountsNothing) {
  EventTally t;
  Playback p;
  t.change(p, "v1", true, false, "360p", 0);
  t.change(p, "v1", false, false, "360p", 4'000);
  t.change(p, "v1", true, false, "360p", 100'000);  // the paused 96 s are not watched
  t.stop(p, 101'000);
  t.change(p, "v1", false, false, "", 102'000);    // already stopped: nothing more
  ReportDelta d;
  t.take(d);
  EXPECT_EQ(d.live_ms.at("360p"), 5'000);
  EXPECT_EQ(d.new_viewers.size(), 1u);
  EXPECT_EQ(d.archive_starts, 0);
}

TEST(ReportTally, SampleCountsLiveViewersByRendition) {
  Playback a{.playing = true, .rendition = "480p"}, b{.playing = true, .rendition = "480p"},
      c{.playing = true, .archive = true}, d{.playing = false, .rendition = "720p"}, e{.playing = true};
  ReportSample s;
  count_viewers({&a, &b, &c, &d, &e}, s);
  EXPECT_EQ(s.viewers, 3);
  EXPECT_EQ(s.renditions, (std::map<std::string, int64_t>{{"480p", 2}, {"unknown", 1}}));
}

TEST(ReportCsv, FieldsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("concert"), "concert");
  EXPECT_EQ(csv_field("Hall, small"), "\"Hall, small\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_DOUBLE_EQ(minutes_of(90'000), 1.5);
  EXPECT_DOUBLE_EQ(minutes_of(1'000), 0.02);
  EXPECT_FALSE(local_day_start("2026-02-31"));
  EXPECT_FALSE(local_day_start("2026-1-01"));
  EXPECT_TRUE(local_day_start("2026-12-05"));
}

namespace {
struct ReportDb {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("sreda-report-test-" + std::to_string(::getpid()) + "-" +
                               std::to_string(reinterpret_cast<uintptr_t>(this)));
  store::Db db;
  ReportDb() {
    std::filesystem::create_directories(dir);
    db = std::move(*store::Db::open((dir / "sreda.db").string()));
    EXPECT_TRUE(store::migrate(db).ok());
    EXPECT_TRUE(db.exec("INSERT INTO studios (id, name, name_key, stream_key, created_at, updated_at) VALUES "
                        "(1, 'Hall', 'hall', 'k1', 0, 0), (2, 'Library', 'library', 'k2', 0, 0)")
                    .ok());
  }
  ~ReportDb() { std::filesystem::remove_all(dir); }
  void event(int64_t id, const char* category, int64_t studio, int64_t starts_at) {
    auto st = db.prepare(
        "INSERT INTO events (id, title, category, language, studio_id, starts_at, ends_at, state, created_at, "
        "updated_at) VALUES (?, ?, ?, 'ru', ?, ?, ?, 'ended', 0, 0)");
    st.bind(1, id).bind(2, "Event " + std::to_string(id)).bind(3, category).bind(4, studio).bind(5, starts_at);
    st.bind(6, starts_at + 3600);
    st.run();
  }
  ReportDelta live(int64_t id, int64_t at_ms, int64_t viewers, std::vector<std::string> who, int64_t ms) {
    ReportDelta d{id};
    ReportSample s;
    s.at_ms = at_ms;
    s.state = "live";
    s.viewers = viewers;
    s.renditions["480p"] = viewers;
    s.comments = 1;
    d.sample = s;
    d.live_ms["480p"] = ms;
    d.new_viewers = std::move(who);
    return d;
  }
};
}  // namespace

TEST(ReportStore, BatchesAddUpPerEventAndPerSeasonAndOutliveTheEvent) {
  ReportDb r;
  const int64_t t0 = 1'780'000'000;  // 2026-05-28
  r.event(1, "concert", 1, t0);
  r.event(2, "concert", 2, t0 + 86400);
  r.event(3, "lecture", 1, t0 + 2 * 86400);
  write_report_batch(r.db, {{r.live(1, t0 * 1000, 2, {"a", "b"}, 20'000), r.live(2, (t0 + 86400) * 1000, 1, {"a"}, 60'000)}});
  write_report_batch(r.db, {{r.live(1, t0 * 1000 + 10'000, 3, {"c", "a"}, 30'000),
                             r.live(3, (t0 + 2 * 86400) * 1000, 1, {"d"}, 6'000)}});
  auto one = event_report(r.db, 1);
  ASSERT_TRUE(one);
  EXPECT_EQ((*one)["peak_viewers"], 3);
  EXPECT_EQ((*one)["unique_viewers"], 3) << "a counted once";
  EXPECT_DOUBLE_EQ((*one)["minutes_live"].get<double>(), 0.83);  // 50 s
  EXPECT_EQ((*one)["timeline"].size(), 2u);
  EXPECT_EQ((*one)["renditions"]["480p"], 0.83);
  EXPECT_EQ(event_report_csv(*one).substr(0, 9), "at,state,");

  auto season = season_report(r.db, t0 - 86400, t0 + 10 * 86400, "category");
  ASSERT_EQ(season["groups"].size(), 2u);
  EXPECT_EQ(season["totals"]["events"], 3);
  EXPECT_EQ(season["totals"]["viewers_total"], 5);   // 3 + 1 + 1
  EXPECT_EQ(season["totals"]["viewers_unique"], 4);  // a, b, c, d
  EXPECT_EQ(season["groups"][0]["key"], "concert");
  EXPECT_EQ(season["groups"][0]["events"], 2);
  EXPECT_EQ(season["groups"][0]["top_events"][0]["event_id"], 1);

  keep_report(r.db, 3, t0 + 10 * 86400);
  ASSERT_TRUE(r.db.exec("DELETE FROM events WHERE id = 3").ok());
  EXPECT_FALSE(event_report(r.db, 3)) << "a deleted event has no report of its own";
  auto after = season_report(r.db, t0 - 86400, t0 + 10 * 86400, "studio");
  EXPECT_EQ(after["totals"]["events"], 3) << "…but stays in the season's totals";
  EXPECT_EQ(after["totals"]["viewers_total"], 5);
  std::string csv = season_report_csv(after);
  EXPECT_NE(csv.find("\r\nstudio,1,Hall,2,"), std::string::npos) << csv;
}

TEST(ReportWire, PlaybackMessagesAreValidated) {
  auto ok = parse_client_message(R"({"type":"playback","playing":true,"rendition":"480p","mode":"archive"})");
  ASSERT_TRUE(ok.message) << ok.error.message;
  EXPECT_EQ(ok.message->type, MessageType::playback);
  EXPECT_TRUE(ok.message->playing);
  EXPECT_TRUE(ok.message->archive);
  EXPECT_EQ(ok.message->rendition, "480p");
  auto plain = parse_client_message(R"({"type":"playback","playing":false,"rendition":null})");
  ASSERT_TRUE(plain.message);
  EXPECT_FALSE(plain.message->archive) << "live by default";
  EXPECT_EQ(plain.message->rendition, "");
  for (const char* bad : {R"({"type":"playback"})", R"({"type":"playback","playing":1})",
                          R"({"type":"playback","playing":true,"mode":"vod"})",
                          R"({"type":"playback","playing":true,"rendition":"../x"})",
                          R"({"type":"playback","playing":true,"rendition":"a-very-long-rendition-name"})"}) {
    auto p = parse_client_message(bad);
    EXPECT_FALSE(p.message) << bad;
    EXPECT_EQ(p.error.code, "bad_message") << bad;
  }
}
