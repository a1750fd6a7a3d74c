#include "server/store/db.h"

#include <utility>

namespace sreda::store {

Db::Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}
Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

core::Result<Db> Db::open(const std::string& path) {
  Db db;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db.db_ ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    return core::Error{"store_open", "cannot open database " + path + ": " + msg, ""};
  }
  sqlite3_busy_timeout(db.db_, 5000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    if (auto r = db.exec(pragma); !r)
      return core::Error{"store_open", "cannot set up database " + path + ": " + r.error().message, ""};
  }
  // journal_mode answers with a row; check it really is WAL (e.g. not on a filesystem that refuses it).
  Stmt mode(db.db_, "PRAGMA journal_mode");
  if (mode.step() && mode.text(0) != "wal")
    return core::Error{"store_open", "database " + path + " cannot use WAL mode (journal_mode=" + mode.text(0) + ")",
                       ""};
  return db;
}

core::Result<void> Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return core::Error{"store", msg, ""};
  }
  return {};
}

Stmt Db::prepare(std::string_view sql) { return Stmt(db_, sql); }
int64_t Db::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
    throw StoreError(std::string("prepare failed: ") + sqlite3_errmsg(db) + " in: " + std::string(sql));
}
Stmt::Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)) {}
Stmt::~Stmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw StoreError(std::string("step failed: ") + sqlite3_errmsg(db_));
}
void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }
std::string Stmt::text(int col) const {
  auto p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
}
bool Stmt::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Transaction::Transaction(Db& db) : db_(db) {
  if (auto r = db_.exec("BEGIN IMMEDIATE"); !r) throw StoreError("begin failed: " + r.error().message);
}
Transaction::~Transaction() {
  if (!done_) (void)db_.exec("ROLLBACK");
}
void Transaction::commit() {
  if (auto r = db_.exec("COMMIT"); !r) throw StoreError("commit failed: " + r.error().message);
  done_ = true;
}

}  // namespace sreda::store
