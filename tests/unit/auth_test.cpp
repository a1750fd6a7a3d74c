#include <gtest/gtest.h>

#include <set>

#include "server/auth/curators.h"
#include "server/auth/login_limiter.h"
#include "server/auth/password.h"
#include "server/core/random.h"

using namespace sreda;

TEST(Password, Argon2idRoundTrip) {
  auto h = auth::hash_password("correct horse battery");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(h->find("correct"), std::string::npos);
  EXPECT_TRUE(auth::verify_password("correct horse battery", *h));
  EXPECT_FALSE(auth::verify_password("correct horse batterY", *h));
  EXPECT_FALSE(auth::verify_password("", *h));
  // Same password, new salt, new hash.
  EXPECT_NE(*auth::hash_password("correct horse battery"), *h);
}

TEST(Password, MalformedHashesNeverVerify) {
  for (const char* bad : {"", "plain", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$aGFzaA", "$argon2id$garbage"}) {
    EXPECT_FALSE(auth::verify_password("x", bad)) << bad;
  }
}

TEST(Password, GeneratedPasswordsAreLongAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto p = auth::generate_password();
    EXPECT_EQ(p.size(), 20u);
    EXPECT_FALSE(auth::check_password(p).has_value());
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(Tokens, RandomAndUrlSafe) {
  auto t = core::random_token(16);
  EXPECT_EQ(t.size(), 22u);  // 128 bits
  EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos);
  EXPECT_NE(core::random_token(16), t);
  EXPECT_EQ(core::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Curators, UsernameAndPasswordRules) {
  EXPECT_FALSE(auth::check_username("maria.ivanova"));
  EXPECT_TRUE(auth::check_username("ma"));
  EXPECT_TRUE(auth::check_username("Maria"));
  EXPECT_TRUE(auth::check_username("-maria"));
  EXPECT_TRUE(auth::check_username("мария"));
  EXPECT_TRUE(auth::check_password("short"));
  EXPECT_FALSE(auth::check_password("пароль-достаточный"));
}

TEST(LoginLimiter, BlocksAfterFailuresWithinTheWindowOnly) {
  auth::LoginLimiter l(3, 60);
  const int64_t t0 = 1'000'000;
  EXPECT_EQ(l.retry_after_s("1.2.3.4", t0), 0);
  for (int i = 0; i < 3; ++i) l.record_failure("1.2.3.4", t0 + i * 1000);
  EXPECT_GT(l.retry_after_s("1.2.3.4", t0 + 3000), 0);
  EXPECT_EQ(l.retry_after_s("5.6.7.8", t0 + 3000), 0);        // another address is not affected
  EXPECT_EQ(l.retry_after_s("1.2.3.4", t0 + 61'000), 0);      // the window moved on
}
