// Gang scheduler: pure bookkeeping of slots, no I/O and no threads, so it is
// unit-tested with a FakeClock.
//
// Two pools: CPU slots (device cpu) and GPUs (device cuda). A gang needs
// world_size x slots_per_rank units of its pool and is admitted all at once
// or not at all. Within a pool the queue is ordered by priority (higher
// first), then submission order; admission is strict: when the head of a
// pool's queue does not fit, nothing behind it in that pool is admitted (no
// backfill, so a large job cannot be starved by a stream of small ones).
//
// Unlimited capacity is for a launcher whose own scheduler admits gangs
// (Slurm, Launcher::AdmitsGangs): nothing is counted against a limit here,
// every gang fits and is admitted at once in queue order, and an active
// deadline counts from StartDeadline() (when the launcher allocated the
// gang), not from admission here.
//
// Thread safety: none; the owner (JobManager) serialises calls.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/clock.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp::coord {

struct Capacity {
  int cpu_slots = 0;
  int gpus = 0;
  bool unlimited = false;  // see above; cpu_slots and gpus are then ignored
  static Capacity Unlimited() { return Capacity{0, 0, true}; }
};

struct GangRequest {
  std::string job_id;
  int priority = 0;
  int64_t seq = 0;  // submission order
  v1::Device device = v1::DEVICE_CPU;
  int units = 0;                   // world_size x slots_per_rank
  int64_t active_deadline_ms = 0;  // 0: none; counted from admission
};

// The gang a spec asks for.
GangRequest GangFor(const std::string& job_id, int64_t seq, const v1::JobSpec& spec);

class Scheduler {
 public:
  Scheduler(Capacity capacity, const Clock* clock) : capacity_(capacity), clock_(clock) {}

  // FAILED_PRECONDITION naming the need and the capacity when the gang can
  // never fit, however empty the cluster.
  Status CheckFits(const GangRequest& g) const;
  // Queues a gang (CheckFits must have passed). Re-enqueueing an id replaces it.
  void Enqueue(const GangRequest& g);
  // Removes a queued gang; false when it was not queued.
  bool Dequeue(const std::string& job_id);
  // Admits every gang the strict order allows now, reserving its units;
  // returns them in admission order.
  std::vector<GangRequest> Admit();
  // Reserves units for a gang outside the queue (recovery after a restart).
  // False when it does not fit now.
  bool Reserve(const GangRequest& g);
  // Frees a running gang's units; no-op for an unknown id.
  void Release(const std::string& job_id);
  // Admitted gangs whose active deadline has passed.
  std::vector<std::string> Expired() const;
  // Unlimited capacity: the gang's deadline counts from now. No-op when it
  // counts already (always, with a limited capacity) or for an unknown id.
  void StartDeadline(const std::string& job_id);

  int used(v1::Device d) const { return d == v1::DEVICE_CUDA ? used_gpus_ : used_cpu_; }
  int free(v1::Device d) const { return total(d) - used(d); }  // meaningless when unlimited()
  int total(v1::Device d) const { return d == v1::DEVICE_CUDA ? capacity_.gpus : capacity_.cpu_slots; }
  size_t queued() const { return queue_.size(); }
  bool IsAdmitted(const std::string& job_id) const { return running_.count(job_id) > 0; }
  bool unlimited() const { return capacity_.unlimited; }

 private:
  struct Running {
    GangRequest gang;
    int64_t admit_ms;  // kNotStarted: the deadline does not count yet (unlimited)
  };
  static constexpr int64_t kNotStarted = -1;
  // Queue key: (-priority, seq) sorts highest priority first, then FIFO.
  using Key = std::pair<int, int64_t>;

  void Take(const GangRequest& g);

  Capacity capacity_;
  const Clock* clock_;
  std::map<Key, GangRequest> queue_;
  std::map<std::string, Key> queued_keys_;
  std::map<std::string, Running> running_;
  int used_cpu_ = 0;
  int used_gpus_ = 0;
};

}  // namespace flyp::coord
