// A thin RAII layer over one SQLite connection. Owned and used by the store thread only
// (and by start-up code before the store thread runs).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/core/result.h"

namespace sreda::store {

class Stmt;

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  Db(Db&&) noexcept;
  Db& operator=(Db&&) noexcept;
  ~Db();

  // Opens (creating) the file; WAL, synchronous=NORMAL, foreign keys on, busy timeout.
  static core::Result<Db> open(const std::string& path);

  // Runs one or more statements without results. Throws nothing: returns the SQLite message on failure.
  core::Result<void> exec(std::string_view sql);
  Stmt prepare(std::string_view sql);
  int64_t last_insert_id() const;
  int changes() const;
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A prepared statement. bind() is 1-based like SQLite. step() returns true while there is a row.
// Any SQLite error inside is a programming error in our SQL or a broken database: it throws
// StoreError, which the store thread turns into a 500 for that one request.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  Stmt(const Stmt&) = delete;
  Stmt(Stmt&&) noexcept;
  ~Stmt();

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind_null(int i);
  Stmt& bind(int i, const std::optional<int64_t>& v) { return v ? bind(i, *v) : bind_null(i); }

  // Index of a named parameter (":name"), 0 when the statement has none.
  int param_index(const char* name) const { return sqlite3_bind_parameter_index(stmt_, name); }

  bool step();
  void run() { step(); }
  void reset();

  int64_t int64(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// BEGIN IMMEDIATE … COMMIT, rolled back if not committed (e.g. an exception or an early return).
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace sreda::store
