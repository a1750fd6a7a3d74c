// The words of a shared event link (server/web/share_text.h): escaping, the language, the head's tags.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "server/web/share_text.h"

using namespace sreda::web::share;

namespace {

EventFacts hostile() {
  EventFacts e;
  e.id = 12;
  e.title = "Вечер \"джаза\" </title><script>alert('x')</script> & co";
  e.studio = "Клуб <b>\"Ура\"</b>";
  e.category = "concert";
  e.starts_at = 1796140800;  // 2026-12-01 16:00 UTC
  e.lang = "ru";
  return e;
}

class ShareText : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    old_tz_ = tz ? tz : "";
    had_tz_ = tz != nullptr;
    ::setenv("TZ", "Europe/Moscow", 1);
    ::tzset();
  }
  void TearDown() override {
    if (had_tz_) ::setenv("TZ", old_tz_.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
  }
  std::string old_tz_;
  bool had_tz_ = false;
};

}  // namespace

TEST_F(ShareText, EscapesEverythingFromTheDatabase) {
  EXPECT_EQ(html_escape("a<b>&\"c'\x01"), "a&lt;b&gt;&amp;&quot;c&#39; ");
  const std::string head = head_tags(hostile(), "https://culture.example.org", "https://culture.example.org/e/12/card.png?v=1");
  EXPECT_EQ(head.find("<script"), std::string::npos);
  EXPECT_EQ(head.find("</title>"), std::string::npos);
  EXPECT_NE(head.find("content=\"Вечер &quot;джаза&quot; &lt;/title&gt;&lt;script&gt;alert(&#39;x&#39;)"), std::string::npos);
  const std::string page = render_watch("<html><head><title data-i18n=\"x\">Культурная среда — смотреть</title></head><body></body></html>",
                                        hostile(), "https://culture.example.org", "https://culture.example.org/e/12/card.png");
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_NE(page.find("<title data-i18n=\"x\">Вечер &quot;джаза&quot; &lt;/title&gt;"), std::string::npos);
  EXPECT_NE(page.find("<meta property=\"og:url\" content=\"https://culture.example.org/watch/12\">"), std::string::npos);
  EXPECT_NE(page.find("<link rel=\"shortlink\" href=\"https://culture.example.org/e/12\">"), std::string::npos);
  EXPECT_NE(page.find("</head><body>"), std::string::npos);
}

TEST_F(ShareText, TimeInTheCitysZoneAndTheLanguage) {
  EXPECT_EQ(when_text(1796140800, "ru"), "1 декабря 2026, 19:00 (MSK)");
  EXPECT_EQ(when_text(1796140800, "en"), "1 December 2026, 19:00 (MSK)");
  EXPECT_EQ(when_text(1796140800, "tt"), "1 декабрь 2026, 19:00 (MSK)");
  EXPECT_EQ(pick_language("en", "ru"), "en");
  EXPECT_EQ(pick_language("xx", "tt"), "tt");
  EXPECT_EQ(pick_language("", "de"), "ru");
  const std::string head = head_tags(hostile(), "http://x", "http://x/c.png");
  EXPECT_NE(head.find("og:description\" content=\"1 декабря 2026, 19:00 (MSK) · Клуб &lt;b&gt;"), std::string::npos);
}

TEST_F(ShareText, FingerprintChangesWithTitleOrTime) {
  EventFacts a = hostile(), b = hostile();
  EXPECT_EQ(card_fingerprint(a), card_fingerprint(b));
  b.title += "!";
  EXPECT_NE(card_fingerprint(a), card_fingerprint(b));
  b = a;
  b.starts_at += 60;
  EXPECT_NE(card_fingerprint(a), card_fingerprint(b));
}

TEST_F(ShareText, CutKeepsWholeLetters) {
  EXPECT_EQ(cut("Шостакович", 4), "Шост…");
  EXPECT_EQ(cut("abc", 3), "abc");
  EXPECT_EQ(not_found_page("<9>").find("<9>"), std::string::npos);
}
