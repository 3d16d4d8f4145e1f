#include "coordinator/scheduler.h"

#include <algorithm>
#include <climits>

namespace flyp::coord {

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
  const auto& d = spec.run_policy().active_deadline();
  // |seconds| is at most kMaxDurationSeconds (validation): no overflow.
  const int64_t seconds = std::clamp<int64_t>(d.seconds(), 0, INT64_MAX / 1000 - 1);
  g.active_deadline_ms = seconds * 1000 + d.nanos() / 1000000;
  return g;
}

Status Scheduler::CheckFits(const GangRequest& g) const {
  int cap = total(g.device);
  if (g.units <= cap) return Status::Ok();
  const char* pool = g.device == v1::DEVICE_CUDA ? "GPUs" : "CPU slots";
  return FailedPreconditionError(
      "the gang needs " + std::to_string(g.units) + " " + pool +
      " (resources.world_size x resources.slots_per_rank) but the coordinator has only " +
      std::to_string(cap));
}

void Scheduler::Enqueue(const GangRequest& g) {
  Dequeue(g.job_id);
  Key k{-g.priority, g.seq};
  queue_[k] = g;
  queued_keys_[g.job_id] = k;
}

bool Scheduler::Dequeue(const std::string& job_id) {
  auto it = queued_keys_.find(job_id);
  if (it == queued_keys_.end()) return false;
  queue_.erase(it->second);
  queued_keys_.erase(it);
  return true;
}

void Scheduler::Take(const GangRequest& g) {
  (g.device == v1::DEVICE_CUDA ? used_gpus_ : used_cpu_) += g.units;
  running_[g.job_id] = Running{g, clock_->NowMillis()};
}

std::vector<GangRequest> Scheduler::Admit() {
  std::vector<GangRequest> admitted;
  bool blocked_cpu = false, blocked_gpu = false;
  for (auto it = queue_.begin(); it != queue_.end();) {
    const GangRequest& g = it->second;
    bool& blocked = g.device == v1::DEVICE_CUDA ? blocked_gpu : blocked_cpu;
    if (blocked || g.units > free(g.device)) {
      blocked = true;
      ++it;
      continue;
    }
    Take(g);
    admitted.push_back(g);
    queued_keys_.erase(g.job_id);
    it = queue_.erase(it);
  }
  return admitted;
}

bool Scheduler::Reserve(const GangRequest& g) {
  if (running_.count(g.job_id)) return true;
  if (g.units > free(g.device)) return false;
  Dequeue(g.job_id);
  Take(g);
  return true;
}

void Scheduler::Release(const std::string& job_id) {
  auto it = running_.find(job_id);
  if (it == running_.end()) return;
  (it->second.gang.device == v1::DEVICE_CUDA ? used_gpus_ : used_cpu_) -= it->second.gang.units;
  running_.erase(it);
}

std::vector<std::string> Scheduler::Expired() const {
  std::vector<std::string> out;
  int64_t now = clock_->NowMillis();
  for (const auto& [id, r] : running_) {
    if (r.gang.active_deadline_ms > 0 && now - r.admit_ms >= r.gang.active_deadline_ms) out.push_back(id);
  }
  return out;
}

}  // namespace flyp::coord
