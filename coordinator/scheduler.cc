#include "coordinator/scheduler.h"

#include <algorithm>
#include <climits>
#include <set>

namespace flyp::coord {

std::vector<PoolConfig> PoolsFor(Capacity c) {
  PoolConfig pool;
  pool.name = "default";
  if (c.unlimited) {
    pool.launcher = LauncherKind::kSlurm;
    return {pool};
  }
  pool.launcher = LauncherKind::kLocal;
  HostConfig h;
  h.name = "localhost";
  h.address = "127.0.0.1";
  h.cpu_slots = c.cpu_slots;
  for (int g = 0; g < c.gpus; ++g) h.gpus.push_back(g);
  pool.hosts.push_back(h);
  return {pool};
}

GangRequest GangFor(const std::string& job_id, int64_t seq, const v1::JobSpec& spec) {
  GangRequest g;
  g.job_id = job_id;
  g.seq = seq;
  g.priority = spec.priority();
  g.device = spec.resources().device() == v1::DEVICE_CUDA ? v1::DEVICE_CUDA : v1::DEVICE_CPU;
  // In 64 bits, saturated: validation bounds both factors, but a stored spec
  // from an older coordinator was validated by older rules (a product that
  // does not fit can never fit the capacity either).
  const int64_t units = int64_t{spec.resources().world_size()} * spec.resources().slots_per_rank();
  g.units = static_cast<int>(std::clamp<int64_t>(units, 0, INT_MAX));
  g.shape.world_size = std::max(1, spec.resources().world_size());
  g.shape.slots_per_rank = std::max(1, spec.resources().slots_per_rank());
  g.shape.ranks_per_host = std::max(0, spec.resources().ranks_per_host());
  g.shape.cuda = g.device == v1::DEVICE_CUDA;
  g.requested_pool = spec.resources().pool();
  const auto& d = spec.run_policy().active_deadline();
  // |seconds| is at most kMaxDurationSeconds (validation): no overflow.
  const int64_t seconds = std::clamp<int64_t>(d.seconds(), 0, INT64_MAX / 1000 - 1);
  g.active_deadline_ms = seconds * 1000 + d.nanos() / 1000000;
  return g;
}

Status Scheduler::Resolve(GangRequest* g) const {
  FLYP_ASSIGN_OR_RETURN(g->pool, inventory_.ChoosePool(g->requested_pool, g->shape));
  return Status::Ok();
}

Status Scheduler::CheckFits(const GangRequest& g) const {
  GangRequest copy = g;
  return Resolve(&copy);
}

void Scheduler::Enqueue(const GangRequest& g) {
  Dequeue(g.job_id);
  GangRequest q = g;
  if (q.pool < 0) (void)Resolve(&q);  // still -1 when it cannot fit: never admitted
  Key k{-q.priority, q.seq};
  queue_[k] = q;
  queued_keys_[q.job_id] = k;
}

bool Scheduler::Dequeue(const std::string& job_id) {
  auto it = queued_keys_.find(job_id);
  if (it == queued_keys_.end()) return false;
  queue_.erase(it->second);
  queued_keys_.erase(it);
  return true;
}

const GangRequest& Scheduler::Take(const GangRequest& g, const Placement& p) {
  inventory_.Take(g.job_id, p);
  Running& r = running_[g.job_id];
  r.gang = g;
  // In a pool whose launcher admits gangs the deadline starts when the
  // launcher allocates the world (StartDeadline).
  if (r.gang.first_admit_ms < 0 && !inventory_.AdmitsItself(p.pool))
    r.gang.first_admit_ms = clock_->NowMillis();
  r.placement = p;
  return r.gang;
}

std::vector<Admission> Scheduler::Admit() {
  std::vector<Admission> admitted;
  std::set<std::pair<int, bool>> blocked;  // (pool, cuda) whose head did not fit
  for (auto it = queue_.begin(); it != queue_.end();) {
    const GangRequest& g = it->second;
    const std::pair<int, bool> lane{g.pool, g.shape.cuda};
    if (g.pool < 0 || blocked.count(lane)) {
      ++it;
      continue;
    }
    std::optional<Placement> p = inventory_.Place(g.pool, g.shape);
    if (!p) {
      blocked.insert(lane);
      ++it;
      continue;
    }
    admitted.push_back(Admission{Take(g, *p), *p});
    queued_keys_.erase(g.job_id);
    it = queue_.erase(it);
  }
  return admitted;
}

std::optional<Placement> Scheduler::Reserve(const GangRequest& g) {
  if (auto it = running_.find(g.job_id); it != running_.end()) return it->second.placement;
  GangRequest r = g;
  if (r.pool < 0 && !Resolve(&r).ok()) return std::nullopt;
  std::optional<Placement> p = inventory_.Place(r.pool, r.shape);
  if (!p) return std::nullopt;
  Dequeue(r.job_id);
  Take(r, *p);
  return p;
}

void Scheduler::Release(const std::string& job_id) {
  auto it = running_.find(job_id);
  if (it == running_.end()) return;
  inventory_.Free(job_id);
  running_.erase(it);
}

std::vector<std::string> Scheduler::Expired() const {
  std::vector<std::string> out;
  int64_t now = clock_->NowMillis();
  for (const auto& [id, r] : running_) {
    if (r.gang.first_admit_ms < 0) continue;  // not allocated yet (StartDeadline)
    if (r.gang.active_deadline_ms > 0 && now - r.gang.first_admit_ms >= r.gang.active_deadline_ms)
      out.push_back(id);
  }
  return out;
}

void Scheduler::StartDeadline(const std::string& job_id) {
  auto it = running_.find(job_id);
  if (it != running_.end() && it->second.gang.first_admit_ms < 0)
    it->second.gang.first_admit_ms = clock_->NowMillis();
}

bool Scheduler::unlimited() const {
  for (size_t p = 0; p < inventory_.pools().size(); ++p)
    if (!inventory_.AdmitsItself(static_cast<int>(p))) return false;
  return !inventory_.pools().empty();
}

const Placement* Scheduler::PlacementOf(const std::string& job_id) const {
  auto it = running_.find(job_id);
  return it == running_.end() ? nullptr : &it->second.placement;
}

}  // namespace flyp::coord
