// Versioned schema migrations, applied in order at start-up (before the store thread runs).
// The version lives in PRAGMA user_version. A database newer than this binary is refused.
#pragma once

#include "server/core/result.h"
#include "server/store/db.h"

namespace sreda::store {

// The newest schema version this binary knows.
int latest_schema_version();

// Brings the database to latest_schema_version() (or to `up_to`, for tests of a step), each step in its
// own transaction, with foreign keys off while migrating and checked before each step commits.
// Returns the version found before migrating.
core::Result<int> migrate(Db& db, int up_to = -1);

}  // namespace sreda::store
