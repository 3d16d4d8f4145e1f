// The coordinator's SQLite database, shared by its stores (SqliteJobStore,
// SqliteSweepStore): opening it (WAL, busy timeout, foreign keys) with its
// versioned schema migrated, and the small statement helpers both use.
// Every store opens its own connection to the same file; SQLite serialises
// their writes (busy timeout 10 s).
//
// Thread safety: a sqlite3 connection is used by one thread at a time (its
// owner guards it with a mutex); the helpers hold no state of their own.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace flyp::coord {

// The schema version this code writes (table schema_version): 1 jobs and
// transitions, 2 progress, 3 world handles, 4 sweeps and jobs.sweep_id.
inline constexpr int kStoreSchemaVersion = 4;

// Opens (creating if needed) the database at `path` and applies the missing
// migrations in one transaction. UNAVAILABLE when it cannot be opened,
// FAILED_PRECONDITION for a schema newer than kStoreSchemaVersion. The caller
// owns the connection (sqlite3_close).
StatusOr<sqlite3*> OpenStoreDatabase(const std::string& path);

// The connection's last error as a Status: UNAVAILABLE for busy/locked,
// INTERNAL otherwise.
Status SqlError(sqlite3* db, const std::string& what);

// Runs SQL without results.
Status Exec(sqlite3* db, const char* sql);

// A prepared statement with positional binding; finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int64_t v) {
    sqlite3_bind_int64(st_, ++n_, v);
    return *this;
  }
  Stmt& Bind(const std::string& v) {
    sqlite3_bind_text(st_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(const std::string& v) {
    sqlite3_bind_blob(st_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindNull() {
    sqlite3_bind_null(st_, ++n_);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(st_); }
  int64_t Int(int col) { return sqlite3_column_int64(st_, col); }
  std::string Text(int col) {
    const void* p = sqlite3_column_blob(st_, col);
    int n = sqlite3_column_bytes(st_, col);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }

 private:
  sqlite3_stmt* st_ = nullptr;
  int rc_;
  int n_ = 0;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless Commit() succeeded.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) { status_ = Exec(db, "BEGIN IMMEDIATE"); }
  ~Txn() {
    if (status_.ok() && !done_) (void)Exec(db_, "ROLLBACK");
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  const Status& status() const { return status_; }
  Status Commit() {
    done_ = true;
    return Exec(db_, "COMMIT");
  }

 private:
  sqlite3* db_;
  Status status_;
  bool done_ = false;
};

}  // namespace flyp::coord
