#include "server/config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace sreda::config;

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(Config, ShippedFileEqualsBuiltInDefaults) {
  auto text = read_file(std::string(SREDA_SOURCE_DIR) + "/config/sreda.jsonc");
  ASSERT_FALSE(text.empty());
  auto r = parse_config_text(text, "sreda.jsonc");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(to_flat_json(r.config), to_flat_json(Config{}));
  // And the file names every key: nothing is left to an undocumented default.
  auto doc = nlohmann::json::parse(text, nullptr, true, true);
  auto defaults = to_flat_json(Config{});
  for (auto& [path, value] : defaults.items()) {
    auto dot = path.find('.');
    ASSERT_TRUE(doc.contains(path.substr(0, dot)) && doc[path.substr(0, dot)].contains(path.substr(dot + 1)))
        << path << " is not documented in config/sreda.jsonc";
  }
}

TEST(Config, UnknownKeysAndBadTypesAreAllReportedWithTheirPath) {
  auto r = parse_config_text(R"({"server": {"http_prot": 80, "rtmp_port": "x"}, "log": {"level": 3}, "nope": {}})",
                             "test.jsonc");
  ASSERT_EQ(r.errors.size(), 4u);
  std::string all;
  for (auto& e : r.errors) all += e + "\n";
  EXPECT_NE(all.find("server.http_prot: unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find("server.rtmp_port: expected a whole number"), std::string::npos) << all;
  EXPECT_NE(all.find("log.level: expected a string"), std::string::npos) << all;
  EXPECT_NE(all.find("nope"), std::string::npos) << all;
}

TEST(Config, CommentsAreAllowedAndValuesApply) {
  auto r = parse_config_text("// hi\n{\"server\": {/* c */ \"http_port\": 9000}}", "t");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config.server.http_port, 9000);
  EXPECT_EQ(r.config.server.rtmp_port, 1935);
}

TEST(Config, EnvThenFlagsOverride) {
  const char* argv[] = {"sreda", "--http-port", "0", "--listen=127.0.0.1"};
  auto r = load(4, argv, {{"SREDA_SERVER_HTTP_PORT", "7000"}, {"SREDA_STUDIOS_RECONNECT_GRACE_S", "5"},
                          {"SREDA_ADMIN_PASSWORD", "not a config key"}});
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.config.server.http_port, 0);
  EXPECT_EQ(r.config.server.listen, "127.0.0.1");
  EXPECT_EQ(r.config.studios.reconnect_grace_s, 5);
}

TEST(Config, BadFlagsAndValuesAreErrors) {
  const char* argv[] = {"sreda", "--http-port", "eighty", "--frobnicate", "--rtmp-port", "70000"};
  auto r = load(6, argv, {{"SREDA_LOG_LEVEL", "loud"}});
  ASSERT_EQ(r.errors.size(), 4u);
}

TEST(Config, AnEnvironmentVariableThatLooksLikeAKeyButIsNoneIsAnErrorNamingTheNearestKey) {
  const char* argv[] = {"sreda"};
  auto r = load(1, argv,
                {{"SREDA_LADDER_DEFAULT_LADDER", "small"},  // a section's prefix, no such key
                 {"SREDA_LADER_DEFAULT", "small"},          // a misspelt section, a letter from a key
                 {"SREDA_SERVER_ZZZZZZZZZZZZZ", "1"},       // a section's prefix, nothing near it
                 {"SREDA_ADMIN_PASSWORD", "x"},             // read by the app, not a config key
                 {"SREDA_BIN", "/x"},                       // the test harnesses' own, passed through
                 {"SREDA_SOMETHING_ELSE", "1"}});           // not ours to judge
  std::string all;
  for (auto& e : r.errors) all += e + "\n";
  ASSERT_EQ(r.errors.size(), 3u) << all;
  EXPECT_NE(all.find("SREDA_LADDER_DEFAULT_LADDER: not a config key; did you mean SREDA_LADDER_DEFAULT (ladder.default)?"),
            std::string::npos) << all;
  EXPECT_NE(all.find("SREDA_LADER_DEFAULT: not a config key; did you mean SREDA_LADDER_DEFAULT (ladder.default)?"),
            std::string::npos) << all;
  EXPECT_NE(all.find("SREDA_SERVER_ZZZZZZZZZZZZZ: not a config key\n"), std::string::npos) << all;
}
