#include "coordinator/store/sqlite_db.h"

namespace flyp::coord {
namespace {

// Migration i (1-based) takes the schema from version i-1 to i. Never edit a
// shipped migration; append a new one.
const char* const kMigrations[] = {
    // 1: jobs and their state history.
    "CREATE TABLE jobs ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT UNIQUE,"
    "  name TEXT NOT NULL,"
    "  spec BLOB NOT NULL,"
    "  spec_yaml TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  priority INTEGER NOT NULL,"
    "  create_time_ms INTEGER NOT NULL,"
    "  start_time_ms INTEGER NOT NULL DEFAULT 0,"
    "  end_time_ms INTEGER NOT NULL DEFAULT 0,"
    "  restarts INTEGER NOT NULL DEFAULT 0,"
    "  attempt INTEGER NOT NULL DEFAULT 0,"
    "  pgid INTEGER NOT NULL DEFAULT 0,"
    "  artifact_dir TEXT NOT NULL,"
    "  idempotency_key TEXT UNIQUE,"
    "  worker_token TEXT NOT NULL,"
    "  last_checkpoint TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX jobs_state ON jobs(state);"
    "CREATE TABLE transitions ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL);"
    "CREATE INDEX transitions_job ON transitions(job_id, seq);",
    // 2: progress points.
    "CREATE TABLE progress ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job_id TEXT NOT NULL,"
    "  point BLOB NOT NULL);"
    "CREATE INDEX progress_job ON progress(job_id, seq);"
    "ALTER TABLE jobs ADD COLUMN latest_progress BLOB;",
    // 3: the current world as its launcher's opaque handle (TEXT) instead of
    // a process group id; a recorded pgid N was mpirun's pid: "local:N".
    "ALTER TABLE jobs ADD COLUMN world TEXT NOT NULL DEFAULT '';"
    "UPDATE jobs SET world = 'local:' || pgid WHERE pgid > 0;"
    "ALTER TABLE jobs DROP COLUMN pgid;",
    // 4: sweeps (SqliteSweepStore): the sweep, its transitions, its trials
    // (each a v1::Trial and the trial's normalised JobSpec); jobs know the
    // sweep they are a trial of.
    "ALTER TABLE jobs ADD COLUMN sweep_id TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX jobs_sweep ON jobs(sweep_id);"
    "CREATE TABLE sweeps ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT UNIQUE,"
    "  name TEXT NOT NULL,"
    "  spec BLOB NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  create_time_ms INTEGER NOT NULL,"
    "  end_time_ms INTEGER NOT NULL DEFAULT 0,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,"
    "  artifact_dir TEXT NOT NULL,"
    "  idempotency_key TEXT UNIQUE);"
    "CREATE INDEX sweeps_state ON sweeps(state);"
    "CREATE TABLE sweep_transitions ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  sweep_id TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL);"
    "CREATE INDEX sweep_transitions_sweep ON sweep_transitions(sweep_id, seq);"
    "CREATE TABLE sweep_trials ("
    "  sweep_id TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  trial BLOB NOT NULL,"
    "  spec BLOB NOT NULL,"
    "  PRIMARY KEY (sweep_id, idx));",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kStoreSchemaVersion);

Status Migrate(sqlite3* db) {
  Txn txn(db);
  FLYP_RETURN_IF_ERROR(txn.status());
  FLYP_RETURN_IF_ERROR(Exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  int64_t version = 0;
  {
    Stmt s(db, "SELECT version FROM schema_version");
    if (s.Step() == SQLITE_ROW) {
      version = s.Int(0);
    } else {
      FLYP_RETURN_IF_ERROR(Exec(db, "INSERT INTO schema_version VALUES (0)"));
    }
  }
  if (version > kStoreSchemaVersion) {
    return FailedPreconditionError("schema version " + std::to_string(version) +
                                   " is newer than this coordinator understands (" +
                                   std::to_string(kStoreSchemaVersion) + ")");
  }
  for (int64_t v = version; v < kStoreSchemaVersion; ++v) {
    FLYP_RETURN_IF_ERROR(Exec(db, kMigrations[v]));
  }
  Stmt s(db, "UPDATE schema_version SET version = ?");
  s.Bind(int64_t{kStoreSchemaVersion});
  if (s.Step() != SQLITE_DONE) return SqlError(db, "schema_version");
  return txn.Commit();
}

}  // namespace

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return UnavailableError(msg);
  return InternalError(msg);
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    int code = sqlite3_errcode(db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return UnavailableError(std::string(sql) + ": " + msg);
    return InternalError(std::string("sqlite: ") + msg + " in: " + sql);
  }
  return Status::Ok();
}

StatusOr<sqlite3*> OpenStoreDatabase(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return UnavailableError("cannot open job store '" + path + "': " + msg);
  }
  sqlite3_busy_timeout(db, 10000);
  Status s = Exec(db, "PRAGMA journal_mode=WAL");
  if (s.ok()) s = Exec(db, "PRAGMA synchronous=NORMAL");
  if (s.ok()) s = Exec(db, "PRAGMA foreign_keys=ON");
  if (s.ok()) s = Migrate(db).WithContext("job store '" + path + "'");
  if (!s.ok()) {
    sqlite3_close(db);
    return s;
  }
  return db;
}

}  // namespace flyp::coord
