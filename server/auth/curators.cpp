#include "server/auth/curators.h"

#include "server/core/clock.h"
#include "server/core/random.h"
#include "server/core/text.h"

namespace sreda::auth {
namespace {
Curator read(const store::Stmt& st) { return Curator{st.int64(0), st.text(1), st.text(2), st.int64(3)}; }
}  // namespace

nlohmann::json to_json(const Curator& c) {
  return {{"id", c.id}, {"username", c.username}, {"role", c.role}, {"created_at", core::format_rfc3339(c.created_at)}};
}

int64_t count_curators(store::Db& db) {
  auto st = db.prepare("SELECT COUNT(*) FROM curators");
  st.step();
  return st.int64(0);
}

int64_t count_admins(store::Db& db) {
  auto st = db.prepare("SELECT COUNT(*) FROM curators WHERE role = 'admin'");
  st.step();
  return st.int64(0);
}

std::vector<Curator> list_curators(store::Db& db) {
  auto st = db.prepare("SELECT id, username, role, created_at FROM curators ORDER BY username");
  std::vector<Curator> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

std::optional<Curator> find_curator(store::Db& db, int64_t id) {
  auto st = db.prepare("SELECT id, username, role, created_at FROM curators WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::optional<std::pair<Curator, std::string>> find_curator_for_login(store::Db& db, const std::string& username) {
  auto st = db.prepare("SELECT id, username, role, created_at, password_hash FROM curators WHERE username = ?");
  st.bind(1, username);
  if (!st.step()) return std::nullopt;
  return std::make_pair(read(st), st.text(4));
}

Curator insert_curator(store::Db& db, const std::string& username, const std::string& password_hash,
                       const std::string& role, int64_t now) {
  db.prepare("INSERT INTO curators (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)")
      .bind(1, username)
      .bind(2, password_hash)
      .bind(3, role)
      .bind(4, now)
      .run();
  return Curator{db.last_insert_id(), username, role, now};
}

void delete_curator(store::Db& db, int64_t id) { db.prepare("DELETE FROM curators WHERE id = ?").bind(1, id).run(); }

NewSession create_session(store::Db& db, int64_t curator_id, int64_t now, int64_t ttl_s) {
  NewSession s{core::random_token(32), now + ttl_s};  // 256 bits
  db.prepare("INSERT INTO sessions (token_hash, curator_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .bind(1, core::sha256_hex(s.token))
      .bind(2, curator_id)
      .bind(3, now)
      .bind(4, s.expires_at)
      .run();
  return s;
}

std::optional<Curator> find_session(store::Db& db, const std::string& token, int64_t now) {
  if (token.empty() || token.size() > 200) return std::nullopt;
  auto st = db.prepare(
      "SELECT c.id, c.username, c.role, c.created_at FROM sessions s JOIN curators c ON c.id = s.curator_id "
      "WHERE s.token_hash = ? AND s.expires_at > ?");
  st.bind(1, core::sha256_hex(token)).bind(2, now);
  if (!st.step()) return std::nullopt;
  return read(st);
}

void delete_session(store::Db& db, const std::string& token) {
  db.prepare("DELETE FROM sessions WHERE token_hash = ?").bind(1, core::sha256_hex(token)).run();
}

int purge_expired_sessions(store::Db& db, int64_t now) {
  db.prepare("DELETE FROM sessions WHERE expires_at <= ?").bind(1, now).run();
  return db.changes();
}

std::optional<std::string> check_username(const std::string& u) {
  if (u.size() < 3 || u.size() > 40) return "username must be 3 to 40 characters";
  for (char c : u) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return "username may use only lower-case latin letters, digits, '.', '_' and '-'";
  }
  if (u[0] == '.' || u[0] == '_' || u[0] == '-') return "username must start with a letter or a digit";
  return std::nullopt;
}

std::optional<std::string> check_password(const std::string& p) {
  if (!core::valid_utf8(p)) return "password is not valid UTF-8";
  size_t n = core::utf8_length(p);
  if (n < 10) return "password must be at least 10 characters";
  if (n > 200) return "password must be at most 200 characters";
  return std::nullopt;
}

}  // namespace sreda::auth
