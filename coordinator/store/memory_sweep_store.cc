#include "coordinator/store/memory_sweep_store.h"

#include <algorithm>
#include <cstdio>

#include "common/numbers.h"
#include "coordinator/proto_time.h"

namespace flyp::coord {

StatusOr<SweepRecord> MemorySweepStore::CreateSweep(const NewSweep& sweep, bool* created) {
  MutexLock lock(&mu_);
  if (!sweep.idempotency_key.empty()) {
    auto it = by_key_.find(sweep.idempotency_key);
    if (it != by_key_.end()) {
      if (created) *created = false;
      return rows_.at(it->second).rec;
    }
  }
  const int64_t seq = next_seq_++;
  char id[32];
  std::snprintf(id, sizeof(id), "sweep-%06lld", static_cast<long long>(seq));
  Row row;
  SweepRecord& r = row.rec;
  r.seq = seq;
  r.idempotency_key = sweep.idempotency_key;
  v1::Sweep& s = r.sweep;
  s.set_id(id);
  *s.mutable_spec() = sweep.spec;
  s.set_owner(sweep.owner);
  s.set_artifact_dir(sweep.artifact_root.empty() ? std::string() : sweep.artifact_root + "/" + id);
  auto* st = s.mutable_status();
  st->set_state(v1::SWEEP_STATE_RUNNING);
  *st->mutable_create_time() = MillisToTimestamp(sweep.create_time_ms);
  auto* t = st->add_history();
  t->set_state(v1::SWEEP_STATE_RUNNING);
  t->set_reason("Submitted");
  *t->mutable_time() = MillisToTimestamp(sweep.create_time_ms);
  for (const NewTrial& nt : sweep.trials) {
    v1::Trial* trial = s.add_trials();
    *trial = nt.trial;
    trial->set_state(v1::TRIAL_STATE_PENDING);
    row.specs.push_back(nt.spec);
  }
  if (!sweep.idempotency_key.empty()) by_key_[sweep.idempotency_key] = id;
  by_seq_[seq] = id;
  SweepRecord out = r;
  rows_.emplace(id, std::move(row));
  if (created) *created = true;
  return out;
}

StatusOr<SweepRecord> MemorySweepStore::GetSweep(const std::string& id) {
  MutexLock lock(&mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return NotFoundError("sweep '" + QuoteForError(id) + "' not found");
  return it->second.rec;
}

StatusOr<std::vector<SweepRecord>> MemorySweepStore::ListSweeps(const SweepQuery& q) {
  MutexLock lock(&mu_);
  std::vector<SweepRecord> out;
  for (auto it = by_seq_.upper_bound(q.after_seq); it != by_seq_.end(); ++it) {
    if (q.limit >= 0 && static_cast<int64_t>(out.size()) >= q.limit) break;
    const SweepRecord& r = rows_.at(it->second).rec;
    if (!q.states.empty() &&
        std::find(q.states.begin(), q.states.end(), r.sweep.status().state()) == q.states.end()) {
      continue;
    }
    if (!q.owner.empty() && r.sweep.owner() != q.owner) continue;
    out.push_back(r);
  }
  return out;
}

Status MemorySweepStore::UpdateSweep(const std::string& id, const SweepUpdate& u) {
  MutexLock lock(&mu_);
  auto it = rows_.find(id);
  if (it == rows_.end()) return NotFoundError("sweep '" + QuoteForError(id) + "' not found");
  auto* st = it->second.rec.sweep.mutable_status();
  if (u.transition) {
    st->set_state(u.transition->state());
    *st->add_history() = *u.transition;
  }
  if (u.end_time_ms) *st->mutable_end_time() = MillisToTimestamp(*u.end_time_ms);
  if (u.cancel_requested) st->set_cancel_requested(*u.cancel_requested);
  return Status::Ok();
}

Status MemorySweepStore::UpdateTrial(const std::string& sweep_id, int index, const TrialUpdate& u) {
  MutexLock lock(&mu_);
  auto it = rows_.find(sweep_id);
  if (it == rows_.end()) return NotFoundError("sweep '" + QuoteForError(sweep_id) + "' not found");
  v1::Sweep& s = it->second.rec.sweep;
  if (index < 0 || index >= s.trials_size()) {
    return NotFoundError("sweep '" + sweep_id + "' has no trial " + std::to_string(index));
  }
  ApplyTrialUpdate(u, s.mutable_trials(index));
  return Status::Ok();
}

StatusOr<v1::JobSpec> MemorySweepStore::GetTrialSpec(const std::string& sweep_id, int index) {
  MutexLock lock(&mu_);
  auto it = rows_.find(sweep_id);
  if (it == rows_.end()) return NotFoundError("sweep '" + QuoteForError(sweep_id) + "' not found");
  if (index < 0 || index >= static_cast<int>(it->second.specs.size())) {
    return NotFoundError("sweep '" + sweep_id + "' has no trial " + std::to_string(index));
  }
  return it->second.specs[index];
}

}  // namespace flyp::coord
