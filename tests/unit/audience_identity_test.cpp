// The viewer identity the server issues (HMAC-signed tokens, the sreda_viewer cookie, the secret file), the
// address groups per-address rules count by, the per-address rating cap and the refusal tally.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "server/audience/identity.h"
#include "server/audience/limiter.h"
#include "server/audience/rating_book.h"
#include "server/audience/refusal_tally.h"

using namespace sreda::audience;

TEST(ViewerTokens, AnIssuedTokenVerifiesToItsIdAndEachIsNew) {
  ViewerTokens tokens("a secret of at least thirty-two characters");
  auto a = tokens.issue(), b = tokens.issue();
  EXPECT_EQ(a.id.size(), 22u);
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(tokens.verify(a.token), a.id);
  EXPECT_EQ(tokens.verify(b.token), b.id);
  // Another server (another secret) does not accept it.
  ViewerTokens other("another secret of thirty-two characters…");
  EXPECT_EQ(other.verify(a.token), std::nullopt);
}

TEST(ViewerTokens, ATamperedOrForeignTokenDoesNotVerify) {
  ViewerTokens tokens("a secret of at least thirty-two characters");
  const auto a = tokens.issue(), b = tokens.issue();
  // Every single changed character of the token is refused.
  for (size_t i = 0; i < a.token.size(); ++i) {
    std::string t = a.token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(tokens.verify(t), std::nullopt) << "changed at " << i << ": " << t;
  }
  // Another viewer's MAC on this id, a plain viewer id, truncated, padded, empty, junk.
  const std::string swapped = "v1." + a.id + "." + b.token.substr(b.token.rfind('.') + 1);
  for (const std::string& t : {swapped, a.id, a.token.substr(0, a.token.size() - 1), a.token + "A", std::string(),
                               std::string("v1..."), "v2" + a.token.substr(2), std::string(200, 'x')})
    EXPECT_EQ(tokens.verify(t), std::nullopt) << t;
}

TEST(ViewerTokens, TheCookieIsReadFromACookieHeaderAndSetHttpOnlyLax) {
  EXPECT_EQ(viewer_cookie("a=1; sreda_viewer=v1.abc.def; b=2"), "v1.abc.def");
  EXPECT_EQ(viewer_cookie("sreda_viewer=\"tok\""), "tok");
  EXPECT_EQ(viewer_cookie("sreda_viewerx=1; xsreda_viewer=2"), "");
  EXPECT_EQ(viewer_cookie(""), "");
  const std::string set = viewer_set_cookie("v1.t.m", false);
  EXPECT_EQ(set.find("sreda_viewer=v1.t.m; Path=/; Max-Age="), 0u);
  EXPECT_NE(set.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("; SameSite=Lax"), std::string::npos);
  EXPECT_EQ(set.find("Secure"), std::string::npos);
  EXPECT_NE(viewer_set_cookie("t", true).find("; Secure"), std::string::npos);
}

TEST(ViewerTokens, TheSecretIsCreatedOnce0600AndReadBack) {
  const auto dir = std::filesystem::temp_directory_path() / ("sreda-secret-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const mode_t old = ::umask(0);  // even with a permissive umask the file is private
  std::string first, again;
  EXPECT_EQ(load_or_create_viewer_secret(dir.string(), first), std::nullopt);
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "viewer-secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_GE(first.size(), 32u);
  EXPECT_EQ(load_or_create_viewer_secret(dir.string(), again), std::nullopt);
  EXPECT_EQ(first, again) << "a restart keeps every issued viewer id valid";
  auto issued = ViewerTokens(first).issue();
  EXPECT_EQ(ViewerTokens(again).verify(issued.token), issued.id);
  std::filesystem::remove_all(dir);
}

TEST(RatingBook, OneRatingPerViewerANewOneReplacesTheOld) {
  RatingBook book(20);
  EXPECT_TRUE(book.rate("anna", "10.0.0.1", 5).counted);
  EXPECT_TRUE(book.rate("anna", "10.0.0.1", 2).counted);
  EXPECT_EQ(book.summary().count(), 1);
  EXPECT_EQ(book.summary().histogram[1], 1);
  EXPECT_EQ(book.stars_of("anna"), 2);
  EXPECT_EQ(book.stars_of("boris"), std::nullopt);
}

TEST(RatingBook, OneAddressMovesThePublicRatingByAtMostTheCap) {
  RatingBook book(20);
  for (int i = 0; i < 10; ++i) book.rate("honest-" + std::to_string(i), "10.0.0." + std::to_string(i), 5);
  int capped_lines = 0;
  for (int i = 0; i < 200; ++i) {
    auto out = book.rate("attacker-" + std::to_string(i), "192.0.2.66", 1);
    EXPECT_EQ(out.counted, i < 20) << i;
    capped_lines += out.capped_now;
    EXPECT_EQ(book.stars_of("attacker-" + std::to_string(i)), 1) << "kept for the viewer";
  }
  EXPECT_EQ(capped_lines, 1) << "one log line when the cap is reached";
  EXPECT_EQ(book.summary().count(), 30);
  EXPECT_EQ(book.summary().histogram[0], 20);
  EXPECT_EQ(book.counted_in_group("192.0.2.66"), 20);
  // An uncounted rating changed stays out; a counted one moves its stars.
  book.rate("attacker-150", "192.0.2.66", 5);
  book.rate("attacker-0", "192.0.2.66", 5);
  EXPECT_EQ(book.summary().histogram[0], 19);
  EXPECT_EQ(book.summary().histogram[4], 11);
  EXPECT_EQ(book.summary().count(), 30);
}

TEST(RatingBook, LeftOutRatingsOfOneAddressAreKeptOnlyUpToABound) {
  RatingBook book(2);
  int kept = 0;
  for (int i = 0; i < 100; ++i) kept += book.rate("v" + std::to_string(i), "192.0.2.1", 1).kept;
  EXPECT_EQ(kept, 2 + RatingBook::kKeptPerCounted * 2) << "counted ones, then 10× as many left out";
  EXPECT_EQ(book.stars_of("v21"), 1);
  EXPECT_EQ(book.stars_of("v22"), std::nullopt) << "answered, not remembered";
  EXPECT_TRUE(book.rate("w", "192.0.2.2", 3).kept) << "another address";
}

TEST(RatingBook, ASharedAddressGetsTheCapTimesItsMultiplier) {
  RatingBook book(2);
  int counted = 0, kept = 0;
  for (int i = 0; i < 100; ++i) {
    auto out = book.rate("v" + std::to_string(i), "192.0.2.1", 1, 3);
    counted += out.counted;
    kept += out.kept;
  }
  EXPECT_EQ(counted, 6);
  EXPECT_EQ(kept, 6 + RatingBook::kKeptPerCounted * 6);
  EXPECT_EQ(book.summary().count(), 6);
}

TEST(RatingBook, RatingsReadBackKeepTheirDecisionAndFillTheCap) {
  RatingBook book(2);
  book.load("a", 4, "10.0.0.1", true);
  book.load("b", 4, "10.0.0.1", true);
  book.load("c", 1, "10.0.0.1", false);
  EXPECT_EQ(book.summary().count(), 2);
  EXPECT_EQ(book.stars_of("c"), 1);
  auto out = book.rate("d", "10.0.0.1", 1);
  EXPECT_FALSE(out.counted);
  EXPECT_FALSE(out.capped_now) << "already logged when it happened";
  EXPECT_TRUE(book.rate("e", "10.0.0.2", 1).counted);
}

TEST(RefusalTally, CountsByCauseWithinTheWindowOnly) {
  RefusalTally tally(60'000, 10'000);
  const int64_t t0 = 1'000'000'000;
  tally.add("rate_limited", t0);
  tally.add("rate_limited", t0 + 5'000);
  tally.add("banned", t0 + 30'000);
  auto now = tally.counts(t0 + 31'000);
  EXPECT_EQ(now["rate_limited"], 2);
  EXPECT_EQ(now["banned"], 1);
  auto later = tally.counts(t0 + 85'000);  // the first bucket left the window
  EXPECT_EQ(later.count("rate_limited"), 0u);
  EXPECT_EQ(later["banned"], 1);
  EXPECT_TRUE(tally.counts(t0 + 200'000).empty());
}

TEST(SlowMode, OnePerIntervalPerViewerAndAFewPerAddress) {
  std::deque<int64_t> group;
  EXPECT_EQ(slow_mode_wait(std::nullopt, group, 30'000, 2, 100'000), 0);
  EXPECT_EQ(slow_mode_wait(int64_t{90'000}, group, 30'000, 2, 100'000), 20'000) << "the viewer's own interval";
  group = {80'000, 95'000};  // two fresh viewers of this address wrote lately
  EXPECT_EQ(slow_mode_wait(std::nullopt, group, 30'000, 2, 100'000), 10'000) << "a fresh id waits for the address";
  EXPECT_EQ(slow_mode_wait(std::nullopt, group, 30'000, 2, 111'000), 0);
  EXPECT_EQ(group.size(), 1u) << "expired times dropped";
}
