#include "coordinator/store/sqlite_sweep_store.h"

#include <cstdio>

#include "common/numbers.h"
#include "coordinator/proto_time.h"
#include "coordinator/store/sqlite_db.h"

namespace flyp::coord {
namespace {

constexpr const char* kSweepColumns =
    "seq, id, spec, owner, state, create_time_ms, end_time_ms, cancel_requested, artifact_dir, "
    "idempotency_key";

SweepRecord ReadSweepRow(Stmt& s) {
  SweepRecord r;
  r.seq = s.Int(0);
  v1::Sweep& w = r.sweep;
  w.set_id(s.Text(1));
  w.mutable_spec()->ParseFromString(s.Text(2));
  w.set_owner(s.Text(3));
  auto* st = w.mutable_status();
  st->set_state(static_cast<v1::SweepState>(s.Int(4)));
  *st->mutable_create_time() = MillisToTimestamp(s.Int(5));
  if (s.Int(6)) *st->mutable_end_time() = MillisToTimestamp(s.Int(6));
  st->set_cancel_requested(s.Int(7) != 0);
  w.set_artifact_dir(s.Text(8));
  r.idempotency_key = s.Text(9);
  return r;
}

Status InsertTransition(sqlite3* db, const std::string& id, const v1::SweepTransition& t) {
  Stmt s(db,
         "INSERT INTO sweep_transitions (sweep_id, state, reason, message, time_ms) VALUES (?, ?, ?, ?, ?)");
  s.Bind(id).Bind(int64_t{t.state()}).Bind(t.reason()).Bind(t.message()).Bind(TimestampToMillis(t.time()));
  return s.Step() == SQLITE_DONE ? Status::Ok() : SqlError(db, "insert sweep transition");
}

Status NoSweep(const std::string& id) { return NotFoundError("sweep '" + QuoteForError(id) + "' not found"); }

}  // namespace

StatusOr<std::unique_ptr<SqliteSweepStore>> SqliteSweepStore::Open(const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(sqlite3 * db, OpenStoreDatabase(path));
  return std::unique_ptr<SqliteSweepStore>(new SqliteSweepStore(db));
}

SqliteSweepStore::~SqliteSweepStore() { sqlite3_close(db_); }

StatusOr<SweepRecord> SqliteSweepStore::CreateSweep(const NewSweep& sweep, bool* created) {
  MutexLock lock(&mu_);
  Txn txn(db_);
  FLYP_RETURN_IF_ERROR(txn.status());
  if (!sweep.idempotency_key.empty()) {
    Stmt s(db_, "SELECT id FROM sweeps WHERE idempotency_key = ?");
    s.Bind(sweep.idempotency_key);
    if (s.Step() == SQLITE_ROW) {
      const std::string id = s.Text(0);
      if (created) *created = false;
      return GetSweepLocked(id);
    }
  }
  std::string spec_bytes;
  sweep.spec.SerializeToString(&spec_bytes);
  {
    Stmt s(db_,
           "INSERT INTO sweeps (name, spec, owner, state, create_time_ms, artifact_dir, idempotency_key) "
           "VALUES (?, ?, ?, ?, ?, '', ?)");
    s.Bind(sweep.spec.name()).BindBlob(spec_bytes).Bind(sweep.owner).Bind(int64_t{v1::SWEEP_STATE_RUNNING});
    s.Bind(sweep.create_time_ms);
    if (sweep.idempotency_key.empty()) {
      s.BindNull();
    } else {
      s.Bind(sweep.idempotency_key);
    }
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert sweep");
  }
  const int64_t seq = sqlite3_last_insert_rowid(db_);
  char id[32];
  std::snprintf(id, sizeof(id), "sweep-%06lld", static_cast<long long>(seq));
  {
    Stmt s(db_, "UPDATE sweeps SET id = ?, artifact_dir = ? WHERE seq = ?");
    s.Bind(std::string(id))
        .Bind(sweep.artifact_root.empty() ? std::string() : sweep.artifact_root + "/" + id)
        .Bind(seq);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "assign sweep id");
  }
  v1::SweepTransition t;
  t.set_state(v1::SWEEP_STATE_RUNNING);
  t.set_reason("Submitted");
  *t.mutable_time() = MillisToTimestamp(sweep.create_time_ms);
  FLYP_RETURN_IF_ERROR(InsertTransition(db_, id, t));
  for (const NewTrial& nt : sweep.trials) {
    v1::Trial trial = nt.trial;
    trial.set_state(v1::TRIAL_STATE_PENDING);
    std::string trial_bytes, trial_spec;
    trial.SerializeToString(&trial_bytes);
    nt.spec.SerializeToString(&trial_spec);
    Stmt s(db_, "INSERT INTO sweep_trials (sweep_id, idx, trial, spec) VALUES (?, ?, ?, ?)");
    s.Bind(std::string(id)).Bind(int64_t{trial.index()}).BindBlob(trial_bytes).BindBlob(trial_spec);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert trial");
  }
  FLYP_ASSIGN_OR_RETURN(SweepRecord rec, GetSweepLocked(id));
  FLYP_RETURN_IF_ERROR(txn.Commit());
  if (created) *created = true;
  return rec;
}

StatusOr<SweepRecord> SqliteSweepStore::GetSweep(const std::string& id) {
  MutexLock lock(&mu_);
  return GetSweepLocked(id);
}

StatusOr<SweepRecord> SqliteSweepStore::GetSweepLocked(const std::string& id) {
  const std::string sql = std::string("SELECT ") + kSweepColumns + " FROM sweeps WHERE id = ?";
  Stmt s(db_, sql.c_str());
  s.Bind(id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return NoSweep(id);
  if (rc != SQLITE_ROW) return SqlError(db_, "get sweep");
  SweepRecord rec = ReadSweepRow(s);
  FLYP_RETURN_IF_ERROR(LoadDetailsLocked(&rec));
  return rec;
}

Status SqliteSweepStore::LoadDetailsLocked(SweepRecord* rec) {
  const std::string& id = rec->sweep.id();
  {
    Stmt s(db_,
           "SELECT state, reason, message, time_ms FROM sweep_transitions WHERE sweep_id = ? ORDER BY seq");
    s.Bind(id);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      auto* t = rec->sweep.mutable_status()->add_history();
      t->set_state(static_cast<v1::SweepState>(s.Int(0)));
      t->set_reason(s.Text(1));
      t->set_message(s.Text(2));
      *t->mutable_time() = MillisToTimestamp(s.Int(3));
    }
    if (rc != SQLITE_DONE) return SqlError(db_, "load sweep history");
  }
  Stmt s(db_, "SELECT trial FROM sweep_trials WHERE sweep_id = ? ORDER BY idx");
  s.Bind(id);
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) rec->sweep.add_trials()->ParseFromString(s.Text(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "load trials");
  return Status::Ok();
}

StatusOr<std::vector<SweepRecord>> SqliteSweepStore::ListSweeps(const SweepQuery& q) {
  MutexLock lock(&mu_);
  std::string sql = std::string("SELECT ") + kSweepColumns + " FROM sweeps WHERE seq > ?";
  if (!q.states.empty()) {
    sql += " AND state IN (";
    for (size_t i = 0; i < q.states.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
  }
  if (!q.owner.empty()) sql += " AND owner = ?";
  sql += " ORDER BY seq LIMIT ?";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return SqlError(db_, "list sweeps");
  s.Bind(q.after_seq);
  for (auto st : q.states) s.Bind(int64_t{st});
  if (!q.owner.empty()) s.Bind(q.owner);
  s.Bind(int64_t{q.limit});
  std::vector<SweepRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadSweepRow(s));
  if (rc != SQLITE_DONE) return SqlError(db_, "list sweeps");
  for (auto& r : out) FLYP_RETURN_IF_ERROR(LoadDetailsLocked(&r));
  return out;
}

Status SqliteSweepStore::UpdateSweep(const std::string& id, const SweepUpdate& u) {
  MutexLock lock(&mu_);
  Txn txn(db_);
  FLYP_RETURN_IF_ERROR(txn.status());
  {
    Stmt s(db_, "SELECT 1 FROM sweeps WHERE id = ?");
    s.Bind(id);
    const int rc = s.Step();
    if (rc == SQLITE_DONE) return NoSweep(id);
    if (rc != SQLITE_ROW) return SqlError(db_, "update sweep");
  }
  if (u.transition) {
    Stmt s(db_, "UPDATE sweeps SET state = ? WHERE id = ?");
    s.Bind(int64_t{u.transition->state()}).Bind(id);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "update sweep state");
    FLYP_RETURN_IF_ERROR(InsertTransition(db_, id, *u.transition));
  }
  if (u.end_time_ms) {
    Stmt s(db_, "UPDATE sweeps SET end_time_ms = ? WHERE id = ?");
    s.Bind(*u.end_time_ms).Bind(id);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "update sweep end time");
  }
  if (u.cancel_requested) {
    Stmt s(db_, "UPDATE sweeps SET cancel_requested = ? WHERE id = ?");
    s.Bind(int64_t{*u.cancel_requested ? 1 : 0}).Bind(id);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "update sweep cancel");
  }
  return txn.Commit();
}

Status SqliteSweepStore::UpdateTrial(const std::string& sweep_id, int index, const TrialUpdate& u) {
  MutexLock lock(&mu_);
  Txn txn(db_);
  FLYP_RETURN_IF_ERROR(txn.status());
  v1::Trial trial;
  {
    Stmt s(db_, "SELECT trial FROM sweep_trials WHERE sweep_id = ? AND idx = ?");
    s.Bind(sweep_id).Bind(int64_t{index});
    const int rc = s.Step();
    if (rc == SQLITE_DONE) {
      return NotFoundError("sweep '" + QuoteForError(sweep_id) + "' has no trial " + std::to_string(index));
    }
    if (rc != SQLITE_ROW) return SqlError(db_, "get trial");
    trial.ParseFromString(s.Text(0));
  }
  ApplyTrialUpdate(u, &trial);
  std::string bytes;
  trial.SerializeToString(&bytes);
  Stmt s(db_, "UPDATE sweep_trials SET trial = ? WHERE sweep_id = ? AND idx = ?");
  s.BindBlob(bytes).Bind(sweep_id).Bind(int64_t{index});
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "update trial");
  return txn.Commit();
}

StatusOr<v1::JobSpec> SqliteSweepStore::GetTrialSpec(const std::string& sweep_id, int index) {
  MutexLock lock(&mu_);
  Stmt s(db_, "SELECT spec FROM sweep_trials WHERE sweep_id = ? AND idx = ?");
  s.Bind(sweep_id).Bind(int64_t{index});
  const int rc = s.Step();
  if (rc == SQLITE_DONE) {
    return NotFoundError("sweep '" + QuoteForError(sweep_id) + "' has no trial " + std::to_string(index));
  }
  if (rc != SQLITE_ROW) return SqlError(db_, "get trial spec");
  v1::JobSpec spec;
  spec.ParseFromString(s.Text(0));
  return spec;
}

}  // namespace flyp::coord
