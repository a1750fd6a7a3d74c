// KeyDirectory: keys per studio, generations, and the revocation callback a rotation triggers.
#include "server/hub/key_directory.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace sreda::hub {
namespace {

TEST(KeyDirectory, RotatingAKeyRevokesTheOldOneAndNamesTheValidGeneration) {
  std::vector<std::pair<int64_t, uint64_t>> revoked;
  KeyDirectory keys([&](int64_t studio, uint64_t valid) { revoked.emplace_back(studio, valid); });
  keys.put("old-key", {7, "Зал", ""});
  keys.put("other", {8, "Library", ""});
  const uint64_t first = keys.find("old-key")->generation;
  EXPECT_TRUE(revoked.empty());

  keys.put("old-key", {7, "Зал (renamed)", "passphrase-1"});  // same key: a rename, not a rotation
  EXPECT_TRUE(revoked.empty());
  EXPECT_EQ(keys.find("old-key")->generation, first);
  EXPECT_EQ(keys.find("old-key")->name, "Зал (renamed)");

  keys.put("new-key", {7, "Зал (renamed)", ""});
  EXPECT_FALSE(keys.find("old-key"));
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].first, 7);
  EXPECT_EQ(revoked[0].second, keys.find("new-key")->generation);
  EXPECT_GT(revoked[0].second, first);
  EXPECT_TRUE(keys.find("other"));

  keys.remove_studio(8);
  ASSERT_EQ(revoked.size(), 2u);
  EXPECT_EQ(revoked[1], std::make_pair(int64_t{8}, uint64_t{0}));
}

}  // namespace
}  // namespace sreda::hub
