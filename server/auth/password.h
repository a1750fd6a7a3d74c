// Password hashing with Argon2id (libargon2), PHC string format ("$argon2id$v=19$m=…").
// Pure and thread-safe; costs ~20 ms of CPU per call with the default parameters.
#pragma once

#include <string>

#include "server/core/result.h"

namespace sreda::auth {

struct Argon2Params {
  uint32_t time_cost = 2;
  uint32_t memory_kib = 19 * 1024;  // OWASP's minimum for Argon2id
  uint32_t parallelism = 1;
};

core::Result<std::string> hash_password(const std::string& password, const Argon2Params& p = {});
// False for a wrong password or a malformed hash.
bool verify_password(const std::string& password, const std::string& encoded);

// A password a curator can type: 20 characters, no look-alikes.
std::string generate_password();

}  // namespace sreda::auth
