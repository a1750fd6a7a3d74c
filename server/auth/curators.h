// Curator accounts and login sessions in SQLite. Store thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/store/db.h"

namespace sreda::auth {

struct Curator {
  int64_t id = 0;
  std::string username;
  std::string role;  // "admin" | "curator"
  int64_t created_at = 0;
};

nlohmann::json to_json(const Curator& c);

int64_t count_curators(store::Db& db);
std::vector<Curator> list_curators(store::Db& db);
std::optional<Curator> find_curator(store::Db& db, int64_t id);
// The stored Argon2id hash too, for login.
std::optional<std::pair<Curator, std::string>> find_curator_for_login(store::Db& db, const std::string& username);
Curator insert_curator(store::Db& db, const std::string& username, const std::string& password_hash,
                       const std::string& role, int64_t now);
void delete_curator(store::Db& db, int64_t id);
int64_t count_admins(store::Db& db);

// Sessions: only the SHA-256 of a token is stored.
struct NewSession {
  std::string token;
  int64_t expires_at;
};
NewSession create_session(store::Db& db, int64_t curator_id, int64_t now, int64_t ttl_s);
std::optional<Curator> find_session(store::Db& db, const std::string& token, int64_t now);
void delete_session(store::Db& db, const std::string& token);
int purge_expired_sessions(store::Db& db, int64_t now);

// Username rules: 3–40 of [a-z0-9._-], starting with a letter or digit.
std::optional<std::string> check_username(const std::string& username);
// Password rules: 10–200 characters.
std::optional<std::string> check_password(const std::string& password);

}  // namespace sreda::auth
