#include "coordinator/store/memory_job_store.h"

#include <algorithm>
#include <cstdio>

#include "common/numbers.h"
#include "coordinator/proto_time.h"

namespace flyp::coord {

StatusOr<JobRecord> MemoryJobStore::CreateJob(const NewJob& job, bool* created) {
  MutexLock lock(&mu_);
  if (!job.idempotency_key.empty()) {
    auto it = by_key_.find(job.idempotency_key);
    if (it != by_key_.end()) {
      if (created) *created = false;
      return rows_.at(it->second).rec;
    }
  }
  const int64_t seq = next_seq_++;
  char id[32];
  std::snprintf(id, sizeof(id), "job-%06lld", static_cast<long long>(seq));
  Row row;
  JobRecord& r = row.rec;
  r.seq = seq;
  r.spec_yaml = job.spec_yaml;
  r.idempotency_key = job.idempotency_key;
  r.worker_token = job.worker_token;
  r.job.set_id(id);
  *r.job.mutable_spec() = job.spec;
  r.job.set_owner(job.owner);
  r.job.set_sweep_id(job.sweep_id);
  r.job.set_artifact_dir(job.artifact_root.empty() ? std::string() : job.artifact_root + "/" + id);
  auto* st = r.job.mutable_status();
  st->set_state(v1::JOB_STATE_QUEUED);
  *st->mutable_create_time() = MillisToTimestamp(job.create_time_ms);
  auto* t = st->add_history();
  t->set_state(v1::JOB_STATE_QUEUED);
  t->set_reason("Submitted");
  *t->mutable_time() = MillisToTimestamp(job.create_time_ms);
  if (!job.idempotency_key.empty()) by_key_[job.idempotency_key] = id;
  by_seq_[seq] = id;
  JobRecord out = r;
  rows_.emplace(id, std::move(row));
  if (created) *created = true;
  return out;
}

StatusOr<JobRecord> MemoryJobStore::GetJob(const std::string& id) {
  MutexLock lock(&mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return NotFoundError("job '" + QuoteForError(id) + "' not found");
  return it->second.rec;
}

StatusOr<std::vector<JobRecord>> MemoryJobStore::ListJobs(const ListQuery& q) {
  MutexLock lock(&mu_);
  std::vector<JobRecord> out;
  for (auto it = by_seq_.upper_bound(q.after_seq); it != by_seq_.end(); ++it) {
    if (q.limit >= 0 && static_cast<int64_t>(out.size()) >= q.limit) break;
    const JobRecord& r = rows_.at(it->second).rec;
    if (!q.states.empty() &&
        std::find(q.states.begin(), q.states.end(), r.job.status().state()) == q.states.end()) {
      continue;
    }
    if (!q.name_contains.empty() && r.job.spec().name().find(q.name_contains) == std::string::npos) continue;
    if (!q.sweep_id.empty() && r.job.sweep_id() != q.sweep_id) continue;
    if (!q.owner.empty() && r.job.owner() != q.owner) continue;
    out.push_back(r);
  }
  return out;
}

Status MemoryJobStore::UpdateJob(const std::string& id, const JobUpdate& u) {
  MutexLock lock(&mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return NotFoundError("job '" + QuoteForError(id) + "' not found");
  JobRecord& r = it->second.rec;
  auto* st = r.job.mutable_status();
  if (u.expect_state && *u.expect_state != st->state()) {
    return FailedPreconditionError("job '" + id + "' is " + v1::JobState_Name(st->state()) + ", not " +
                                   v1::JobState_Name(*u.expect_state));
  }
  if (u.transition) {
    st->set_state(u.transition->state());
    *st->add_history() = *u.transition;
  }
  if (u.restarts) st->set_restarts(*u.restarts);
  if (u.attempt) r.attempt = *u.attempt;
  if (u.world) r.world = *u.world;
  if (u.start_time_ms) {
    if (*u.start_time_ms)
      *st->mutable_start_time() = MillisToTimestamp(*u.start_time_ms);
    else
      st->clear_start_time();
  }
  if (u.end_time_ms) {
    if (*u.end_time_ms)
      *st->mutable_end_time() = MillisToTimestamp(*u.end_time_ms);
    else
      st->clear_end_time();
  }
  if (u.last_checkpoint) r.last_checkpoint = *u.last_checkpoint;
  return Status::Ok();
}

Status MemoryJobStore::AddProgress(const std::string& id, const v1::ProgressPoint& point) {
  MutexLock lock(&mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return NotFoundError("job '" + QuoteForError(id) + "' not found");
  v1::JobStatus* st = it->second.rec.job.mutable_status();
  *st->mutable_latest_progress() = MergeProgress(st->latest_progress(), point);
  it->second.progress.push_back(point);
  return Status::Ok();
}

StatusOr<std::vector<v1::ProgressPoint>> MemoryJobStore::GetProgress(const std::string& id, int64_t from) {
  MutexLock lock(&mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return std::vector<v1::ProgressPoint>();
  const auto& points = it->second.progress;
  const size_t begin = static_cast<size_t>(std::clamp<int64_t>(from, 0, static_cast<int64_t>(points.size())));
  return std::vector<v1::ProgressPoint>(points.begin() + static_cast<std::ptrdiff_t>(begin), points.end());
}

}  // namespace flyp::coord
