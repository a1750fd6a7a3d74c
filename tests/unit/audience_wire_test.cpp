// The audience wire protocol's pure parts: message parsing, text cleaning, word list, Origin check, limiter.
#include <gtest/gtest.h>

#include "server/audience/limiter.h"
#include "server/audience/wire.h"

using namespace sreda::audience;

TEST(AudienceWire, ParsesEveryMessageType) {
  auto join = parse_client_message(R"({"type":"join","event_id":7,"viewer_id":"abcdefgh-12","nick":" Анна "})");
  ASSERT_TRUE(join.message);
  EXPECT_EQ(join.message->type, MessageType::join);
  EXPECT_EQ(join.message->event_id, 7);
  EXPECT_EQ(join.message->nick, "Анна");
  auto comment = parse_client_message(R"({"type":"comment","text":"Браво!\nЕщё"})");
  ASSERT_TRUE(comment.message);
  EXPECT_EQ(comment.message->text, "Браво!\nЕщё");
  EXPECT_FALSE(comment.message->question);  // old clients send no flag: a plain comment
  auto question = parse_client_message(R"({"type":"comment","text":"Как держать кисть?","question":true})");
  ASSERT_TRUE(question.message);
  EXPECT_TRUE(question.message->question);
  auto not_question = parse_client_message(R"({"type":"comment","text":"x","question":false})");
  ASSERT_TRUE(not_question.message);
  EXPECT_FALSE(not_question.message->question);
  auto rate = parse_client_message(R"({"type":"rate","stars":5})");
  ASSERT_TRUE(rate.message);
  EXPECT_EQ(rate.message->stars, 5);
  EXPECT_TRUE(parse_client_message(R"({"type":"ping"})").message);
}

TEST(AudienceWire, RefusesBadMessagesWithACode) {
  struct Case {
    const char* frame;
    const char* code;
  } cases[] = {
      {"", "bad_message"},
      {"{not json", "bad_message"},
      {"[1,2]", "bad_message"},
      {R"({"text":"no type"})", "bad_message"},
      {R"({"type":"dance"})", "bad_message"},
      {R"({"type":"join","event_id":0,"viewer_id":"abcdefgh","nick":"A"})", "bad_message"},
      {R"({"type":"join","event_id":1,"viewer_id":"short","nick":"A"})", "bad_message"},
      {R"({"type":"join","event_id":1,"viewer_id":"abc def gh","nick":"A"})", "bad_message"},
      {R"({"type":"join","event_id":1,"viewer_id":"abcdefgh","nick":"   "})", "empty"},
      {R"({"type":"comment","text":""})", "empty"},
      {R"({"type":"comment","text":"\u0007\u0001"})", "empty"},
      {R"({"type":"comment","text":5})", "bad_message"},
      {R"({"type":"comment","text":"x","question":"yes"})", "bad_message"},
      {R"({"type":"comment","text":"x","question":1})", "bad_message"},
      {R"({"type":"rate","stars":6})", "bad_message"},
      {R"({"type":"rate","stars":2.5})", "bad_message"},
  };
  for (const auto& c : cases) {
    auto p = parse_client_message(c.frame);
    EXPECT_FALSE(p.message) << c.frame;
    EXPECT_EQ(p.error.code, c.code) << c.frame;
    EXPECT_FALSE(p.error.message.empty());
  }
}

TEST(AudienceWire, LengthIsCountedInCharacters) {
  std::string cyrillic;
  for (int i = 0; i < 500; ++i) cyrillic += "ж";  // 1000 bytes, 500 characters
  EXPECT_FALSE(clean_text(cyrillic, 500, true).error);
  EXPECT_EQ(clean_text(cyrillic + "ж", 500, true).error->code, "too_long");
  std::string nick(41, 'a');
  EXPECT_EQ(clean_text(nick, kNickMaxChars, false).error->code, "too_long");
}

TEST(AudienceWire, CleaningRemovesControlsAndBidiOverridesKeepsMarkupAsText) {
  EXPECT_EQ(clean_text("a\x01" "b\x7f" "c\xc2\x85" "d", 100, true).text, "abcd");
  EXPECT_EQ(clean_text("safe\xe2\x80\xaetxt.exe", 100, true).text, "safetxt.exe");  // U+202E
  EXPECT_EQ(clean_text("<script>alert(1)</script>", 100, true).text, "<script>alert(1)</script>");
  EXPECT_EQ(clean_text("line\n\n\n\n\nnext", 100, true).text, "line\n\nnext");
  EXPECT_EQ(clean_text("tab\tand\nnewline", 100, false).text, "tab and newline");
  EXPECT_EQ(clean_text("\xff\xfe", 100, true).error->code, "invalid_utf8");
  EXPECT_EQ(clean_text("\xed\xa0\x80", 100, true).error->code, "invalid_utf8");  // a surrogate
}

TEST(AudienceWire, WordListMatchesWholeWordsCaseInsensitively) {
  std::vector<std::string> words = {"дурак", "idiot"};
  EXPECT_TRUE(contains_listed_word("Сам ДУРАК!", words));
  EXPECT_TRUE(contains_listed_word("you IDIOT", words));
  EXPECT_FALSE(contains_listed_word("дураковаляние", words));
  EXPECT_FALSE(contains_listed_word("idiotic", words));
  EXPECT_FALSE(contains_listed_word("всё хорошо", words));
  EXPECT_FALSE(contains_listed_word("anything", {}));
}

TEST(AudienceWire, OriginCheck) {
  EXPECT_TRUE(origin_allowed("", "example.org", "", ""));  // not a browser
  EXPECT_TRUE(origin_allowed("http://localhost:8080", "localhost:8080", "", ""));
  EXPECT_TRUE(origin_allowed("https://Culture.Example.org", "culture.example.org", "", ""));
  EXPECT_FALSE(origin_allowed("http://evil.example", "localhost:8080", "", ""));
  EXPECT_FALSE(origin_allowed("http://localhost:8080.evil.example", "localhost:8080", "", ""));
  EXPECT_TRUE(origin_allowed("https://culture.example.org", "10.0.0.5:8080", "", "https://culture.example.org/city/"));
  EXPECT_TRUE(origin_allowed("https://b.example", "x", "https://a.example, https://b.example", ""));
  EXPECT_FALSE(origin_allowed("http://x", "x", "https://a.example", ""));  // the list replaces the default
  EXPECT_TRUE(origin_allowed("https://any.example", "x", "*", ""));
}

TEST(AudienceWire, RatingSummary) {
  RatingSummary r;
  EXPECT_EQ(r.count(), 0);
  EXPECT_EQ(r.average(), 0.0);
  r.histogram = {1, 0, 0, 0, 2};
  EXPECT_EQ(r.count(), 3);
  EXPECT_DOUBLE_EQ(r.average(), 3.67);
}

TEST(AudienceLimiter, ThreeInFiveSecondsThenAMute) {
  CommentLimiter limiter(3, 5000, 30000);
  LimitState conn, viewer;
  EXPECT_EQ(limiter.admit(conn, viewer, 1000), 0);
  EXPECT_EQ(limiter.admit(conn, viewer, 1100), 0);
  EXPECT_EQ(limiter.admit(conn, viewer, 1200), 0);
  EXPECT_EQ(limiter.admit(conn, viewer, 1300), 30000);  // fourth: muted
  EXPECT_GT(limiter.admit(conn, viewer, 20000), 0);     // still muted, though the window has passed
  EXPECT_EQ(limiter.admit(conn, viewer, 31300), 0);
}

TEST(AudienceLimiter, TheViewerIdLimitsAcrossConnections) {
  CommentLimiter limiter(3, 5000, 0);
  LimitState a, b, viewer;
  EXPECT_EQ(limiter.admit(a, viewer, 0), 0);
  EXPECT_EQ(limiter.admit(b, viewer, 1), 0);
  EXPECT_EQ(limiter.admit(a, viewer, 2), 0);
  EXPECT_EQ(limiter.admit(b, viewer, 3), 4997);  // without a mute: until the oldest leaves the window
  EXPECT_EQ(b.times.size(), 1u);                  // a refused comment is not counted
  EXPECT_EQ(limiter.admit(b, viewer, 5000), 0);
}
