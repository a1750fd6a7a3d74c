#include "server/auth/password.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <vector>

namespace sreda::auth {

core::Result<std::string> hash_password(const std::string& password, const Argon2Params& p) {
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof salt) != 1) return core::Error{"internal", "no randomness for the salt", ""};
  size_t len = argon2_encodedlen(p.time_cost, p.memory_kib, p.parallelism, sizeof salt, 32, Argon2_id);
  std::vector<char> encoded(len);
  int rc = argon2id_hash_encoded(p.time_cost, p.memory_kib, p.parallelism, password.data(), password.size(), salt,
                                 sizeof salt, 32, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return core::Error{"internal", std::string("argon2: ") + argon2_error_message(rc), ""};
  return std::string(encoded.data());
}

bool verify_password(const std::string& password, const std::string& encoded) {
  if (encoded.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

std::string generate_password() {
  static const char kAlphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";  // 54 symbols
  const size_t n = sizeof kAlphabet - 1;
  std::string out;
  while (out.size() < 20) {
    unsigned char b;
    if (RAND_bytes(&b, 1) != 1) continue;
    if (b >= 256 - 256 % n) continue;  // no modulo bias
    out += kAlphabet[b % n];
  }
  return out;
}

}  // namespace sreda::auth
