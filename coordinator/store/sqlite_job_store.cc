#include "coordinator/store/sqlite_job_store.h"

#include <sqlite3.h>

#include <cstdio>

#include "common/numbers.h"
#include "coordinator/proto_time.h"
#include "coordinator/store/sqlite_db.h"

namespace flyp::coord {
namespace {

constexpr const char* kJobColumns =
    "seq, id, spec, spec_yaml, state, owner, create_time_ms, start_time_ms, end_time_ms, restarts, attempt, "
    "world, artifact_dir, idempotency_key, worker_token, last_checkpoint, latest_progress, sweep_id";

static_assert(SqliteJobStore::kSchemaVersion == kStoreSchemaVersion);

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
  r.job.set_sweep_id(s.Text(17));
  return r;
}

}  // namespace

bool IsTerminal(v1::JobState s) {
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED || s == v1::JOB_STATE_CANCELLED;
}

StatusOr<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(sqlite3 * db, OpenStoreDatabase(path));
  return std::unique_ptr<SqliteJobStore>(new SqliteJobStore(db));
}

SqliteJobStore::~SqliteJobStore() { sqlite3_close(db_); }

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
           "idempotency_key, worker_token, sweep_id) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)");
    s.Bind(job.spec.name()).BindBlob(spec_bytes).Bind(job.spec_yaml).Bind(int64_t{v1::JOB_STATE_QUEUED});
    s.Bind(job.owner).Bind(int64_t{job.spec.priority()}).Bind(job.create_time_ms);
    if (job.idempotency_key.empty())
      s.BindNull();
    else
      s.Bind(job.idempotency_key);
    s.Bind(job.worker_token).Bind(job.sweep_id);
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
  if (!q.sweep_id.empty()) sql += " AND sweep_id = ?";
  if (!q.owner.empty()) sql += " AND owner = ?";
  sql += " ORDER BY seq LIMIT ?";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return SqlError(db_, "list jobs");
  s.Bind(q.after_seq);
  for (auto st : q.states) s.Bind(int64_t{st});
  if (!q.name_contains.empty()) s.Bind(q.name_contains);
  if (!q.sweep_id.empty()) s.Bind(q.sweep_id);
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
  v1::ProgressPoint latest;
  {
    Stmt s(db_, "SELECT latest_progress FROM jobs WHERE id = ?");
    s.Bind(id);
    const int rc = s.Step();
    if (rc == SQLITE_DONE) return NotFoundError("job '" + id + "' not found");
    if (rc != SQLITE_ROW) return SqlError(db_, "read progress");
    const std::string blob = s.Text(0);
    if (!blob.empty()) latest.ParseFromString(blob);
  }
  std::string merged, bytes;
  MergeProgress(latest, point).SerializeToString(&merged);
  point.SerializeToString(&bytes);
  {
    Stmt s(db_, "UPDATE jobs SET latest_progress = ? WHERE id = ?");
    s.BindBlob(merged).Bind(id);
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
