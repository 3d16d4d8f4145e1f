#include "coordinator/store/sqlite_job_store.h"

#include <sqlite3.h>

#include <cstdio>

#include "common/numbers.h"
#include "coordinator/proto_time.h"

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
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == SqliteJobStore::kSchemaVersion);

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return UnavailableError(msg);
  return InternalError(msg);
}

// A prepared statement with positional binding; finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Stmt() { sqlite3_finalize(st_); }
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
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
  int n_ = 0;
};

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

// BEGIN IMMEDIATE ... COMMIT, rolled back unless Commit() succeeded.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) { status_ = Exec(db, "BEGIN IMMEDIATE"); }
  ~Txn() {
    if (status_.ok() && !done_) (void)Exec(db_, "ROLLBACK");
  }
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

constexpr const char* kJobColumns =
    "seq, id, spec, spec_yaml, state, owner, create_time_ms, start_time_ms, end_time_ms, restarts, attempt, "
    "world, artifact_dir, idempotency_key, worker_token, last_checkpoint, latest_progress";

JobRecord ReadJobRow(Stmt& s) {
  JobRecord r;
  r.seq = s.Int(0);
  r.job.set_id(s.Text(1));
  r.job.mutable_spec()->ParseFromString(s.Text(2));
  r.spec_yaml = s.Text(3);
  auto* st = r.job.mutable_status();
  st->set_state(static_cast<v1::JobState>(s.Int(4)));
  r.job.set_owner(s.Text(5));
  *st->mutable_create_time() = MillisToTimestamp(s.Int(6));
  if (s.Int(7)) *st->mutable_start_time() = MillisToTimestamp(s.Int(7));
  if (s.Int(8)) *st->mutable_end_time() = MillisToTimestamp(s.Int(8));
  st->set_restarts(static_cast<int32_t>(s.Int(9)));
  r.attempt = static_cast<int>(s.Int(10));
  r.world = s.Text(11);
  r.job.set_artifact_dir(s.Text(12));
  r.idempotency_key = s.Text(13);
  r.worker_token = s.Text(14);
  r.last_checkpoint = s.Text(15);
  std::string progress = s.Text(16);
  if (!progress.empty()) st->mutable_latest_progress()->ParseFromString(progress);
  return r;
}

}  // namespace

bool IsTerminal(v1::JobState s) {
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED || s == v1::JOB_STATE_CANCELLED;
}

StatusOr<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return UnavailableError("cannot open job store '" + path + "': " + msg);
  }
  std::unique_ptr<SqliteJobStore> store(new SqliteJobStore(db));
  sqlite3_busy_timeout(db, 10000);
  FLYP_RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode=WAL"));
  FLYP_RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous=NORMAL"));
  FLYP_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys=ON"));
  FLYP_RETURN_IF_ERROR(store->Migrate().WithContext("job store '" + path + "'"));
  return store;
}

SqliteJobStore::~SqliteJobStore() { sqlite3_close(db_); }

Status SqliteJobStore::Migrate() {
  MutexLock lock(&mu_);
  Txn txn(db_);
  FLYP_RETURN_IF_ERROR(txn.status());
  FLYP_RETURN_IF_ERROR(Exec(db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  int64_t version = 0;
  {
    Stmt s(db_, "SELECT version FROM schema_version");
    if (s.Step() == SQLITE_ROW) {
      version = s.Int(0);
    } else {
      FLYP_RETURN_IF_ERROR(Exec(db_, "INSERT INTO schema_version VALUES (0)"));
    }
  }
  if (version > kSchemaVersion) {
    return FailedPreconditionError("schema version " + std::to_string(version) +
                                   " is newer than this coordinator understands (" +
                                   std::to_string(kSchemaVersion) + ")");
  }
  for (int64_t v = version; v < kSchemaVersion; ++v) {
    FLYP_RETURN_IF_ERROR(Exec(db_, kMigrations[v]));
  }
  Stmt s(db_, "UPDATE schema_version SET version = ?");
  s.Bind(int64_t{kSchemaVersion});
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "schema_version");
  return txn.Commit();
}

StatusOr<JobRecord> SqliteJobStore::CreateJob(const NewJob& job, bool* created) {
  MutexLock lock(&mu_);
  Txn txn(db_);
  FLYP_RETURN_IF_ERROR(txn.status());
  if (!job.idempotency_key.empty()) {
    Stmt s(db_, "SELECT id FROM jobs WHERE idempotency_key = ?");
    s.Bind(job.idempotency_key);
    if (s.Step() == SQLITE_ROW) {
      std::string id = s.Text(0);
      if (created) *created = false;
      return GetJobLocked(id);
    }
  }
  std::string spec_bytes;
  job.spec.SerializeToString(&spec_bytes);
  {
    Stmt s(db_,
           "INSERT INTO jobs (name, spec, spec_yaml, state, owner, priority, create_time_ms, artifact_dir, "
           "idempotency_key, worker_token) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?)");
    s.Bind(job.spec.name()).BindBlob(spec_bytes).Bind(job.spec_yaml).Bind(int64_t{v1::JOB_STATE_QUEUED});
    s.Bind(job.owner).Bind(int64_t{job.spec.priority()}).Bind(job.create_time_ms);
    if (job.idempotency_key.empty())
      s.BindNull();
    else
      s.Bind(job.idempotency_key);
    s.Bind(job.worker_token);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert job");
  }
  int64_t seq = sqlite3_last_insert_rowid(db_);
  char id[32];
  std::snprintf(id, sizeof(id), "job-%06lld", static_cast<long long>(seq));
  {
    Stmt s(db_, "UPDATE jobs SET id = ?, artifact_dir = ? WHERE seq = ?");
    s.Bind(std::string(id))
        .Bind(job.artifact_root.empty() ? std::string() : job.artifact_root + "/" + id)
        .Bind(seq);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "assign job id");
  }
  {
    Stmt s(db_,
           "INSERT INTO transitions (job_id, state, reason, message, time_ms) VALUES (?, ?, 'Submitted', '', "
           "?)");
    s.Bind(std::string(id)).Bind(int64_t{v1::JOB_STATE_QUEUED}).Bind(job.create_time_ms);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert transition");
  }
  FLYP_ASSIGN_OR_RETURN(JobRecord rec, GetJobLocked(id));
  FLYP_RETURN_IF_ERROR(txn.Commit());
  if (created) *created = true;
  return rec;
}

StatusOr<JobRecord> SqliteJobStore::GetJob(const std::string& id) {
  MutexLock lock(&mu_);
  return GetJobLocked(id);
}

StatusOr<JobRecord> SqliteJobStore::GetJobLocked(const std::string& id) {
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?";
  Stmt s(db_, sql.c_str());
  s.Bind(id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return NotFoundError("job '" + QuoteForError(id) + "' not found");
  if (rc != SQLITE_ROW) return SqlError(db_, "get job");
  JobRecord rec = ReadJobRow(s);
  FLYP_RETURN_IF_ERROR(LoadHistoryLocked(&rec));
  return rec;
}

Status SqliteJobStore::LoadHistoryLocked(JobRecord* rec) {
  Stmt s(db_, "SELECT state, reason, message, time_ms FROM transitions WHERE job_id = ? ORDER BY seq");
  s.Bind(rec->job.id());
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    auto* t = rec->job.mutable_status()->add_history();
    t->set_state(static_cast<v1::JobState>(s.Int(0)));
    t->set_reason(s.Text(1));
    t->set_message(s.Text(2));
    *t->mutable_time() = MillisToTimestamp(s.Int(3));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "load history");
  return Status::Ok();
}

StatusOr<std::vector<JobRecord>> SqliteJobStore::ListJobs(const ListQuery& q) {
  MutexLock lock(&mu_);
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE seq > ?";
  if (!q.states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < q.states.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  if (!q.name_contains.empty()) sql += " AND instr(name, ?) > 0";
  if (!q.owner.empty()) sql += " AND owner = ?";
  sql += " ORDER BY seq LIMIT ?";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return SqlError(db_, "list jobs");
  s.Bind(q.after_seq);
  for (auto st : q.states) s.Bind(int64_t{st});
  if (!q.name_contains.empty()) s.Bind(q.name_contains);
  if (!q.owner.empty()) s.Bind(q.owner);
  s.Bind(int64_t{q.limit});
  std::vector<JobRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadJobRow(s));
  if (rc != SQLITE_DONE) return SqlError(db_, "list jobs");
  for (auto& r : out) FLYP_RETURN_IF_ERROR(LoadHistoryLocked(&r));
  return out;
}

Status SqliteJobStore::UpdateJob(const std::string& id, const JobUpdate& u) {
  MutexLock lock(&mu_);
  Txn txn(db_);
  FLYP_RETURN_IF_ERROR(txn.status());
  int64_t state;
  {
    Stmt s(db_, "SELECT state FROM jobs WHERE id = ?");
    s.Bind(id);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return NotFoundError("job '" + QuoteForError(id) + "' not found");
    if (rc != SQLITE_ROW) return SqlError(db_, "update job");
    state = s.Int(0);
  }
  if (u.expect_state && *u.expect_state != state) {
    return FailedPreconditionError("job '" + id + "' is " +
                                   v1::JobState_Name(static_cast<v1::JobState>(state)) + ", not " +
                                   v1::JobState_Name(*u.expect_state));
  }
  // Runs within this locked scope (the analysis does not follow lambdas, so
  // the connection is captured here, under mu_).
  auto set_int = [&, db = db_](const char* col, int64_t v) -> Status {
    std::string sql = std::string("UPDATE jobs SET ") + col + " = ? WHERE id = ?";
    Stmt s(db, sql.c_str());
    s.Bind(v).Bind(id);
    return s.Step() == SQLITE_DONE ? Status::Ok() : SqlError(db, std::string("update ") + col);
  };
  if (u.transition) {
    FLYP_RETURN_IF_ERROR(set_int("state", u.transition->state()));
    Stmt s(db_, "INSERT INTO transitions (job_id, state, reason, message, time_ms) VALUES (?, ?, ?, ?, ?)");
    s.Bind(id)
        .Bind(int64_t{u.transition->state()})
        .Bind(u.transition->reason())
        .Bind(u.transition->message());
    s.Bind(TimestampToMillis(u.transition->time()));
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert transition");
  }
  if (u.restarts) FLYP_RETURN_IF_ERROR(set_int("restarts", *u.restarts));
  if (u.attempt) FLYP_RETURN_IF_ERROR(set_int("attempt", *u.attempt));
  if (u.world) {
    Stmt s(db_, "UPDATE jobs SET world = ? WHERE id = ?");
    s.Bind(*u.world).Bind(id);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "update world");
  }
  if (u.start_time_ms) FLYP_RETURN_IF_ERROR(set_int("start_time_ms", *u.start_time_ms));
  if (u.end_time_ms) FLYP_RETURN_IF_ERROR(set_int("end_time_ms", *u.end_time_ms));
  if (u.last_checkpoint) {
    Stmt s(db_, "UPDATE jobs SET last_checkpoint = ? WHERE id = ?");
    s.Bind(*u.last_checkpoint).Bind(id);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "update last_checkpoint");
  }
  return txn.Commit();
}

Status SqliteJobStore::AddProgress(const std::string& id, const v1::ProgressPoint& point) {
  MutexLock lock(&mu_);
  Txn txn(db_);
  FLYP_RETURN_IF_ERROR(txn.status());
  std::string bytes;
  point.SerializeToString(&bytes);
  {
    Stmt s(db_, "UPDATE jobs SET latest_progress = ? WHERE id = ?");
    s.BindBlob(bytes).Bind(id);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "update progress");
    if (sqlite3_changes(db_) == 0) return NotFoundError("job '" + QuoteForError(id) + "' not found");
  }
  Stmt s(db_, "INSERT INTO progress (job_id, point) VALUES (?, ?)");
  s.Bind(id).BindBlob(bytes);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert progress");
  return txn.Commit();
}

StatusOr<std::vector<v1::ProgressPoint>> SqliteJobStore::GetProgress(const std::string& id, int64_t from) {
  MutexLock lock(&mu_);
  Stmt s(db_, "SELECT point FROM progress WHERE job_id = ? ORDER BY seq LIMIT -1 OFFSET ?");
  s.Bind(id).Bind(from);
  std::vector<v1::ProgressPoint> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.emplace_back().ParseFromString(s.Text(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "get progress");
  return out;
}

}  // namespace flyp::coord
