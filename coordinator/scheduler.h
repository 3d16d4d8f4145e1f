// Gang scheduler: pure bookkeeping of slots, no I/O and no threads, so it is
// unit-tested with a FakeClock.
//
// Pools of hosts (coordinator/inventory.h places a gang onto concrete
// hosts, CPU slots, GPUs and metrics ports). A gang needs world_size ranks
// of slots_per_rank CPU slots (device cpu) or GPUs (device cuda) in one pool
// and is admitted all at once or not at all. Within a pool and device the
// queue is ordered by priority (higher first), then submission order;
// admission is strict: when the head of a queue does not fit, nothing
// behind it in that queue is admitted (no backfill, so a large job cannot
// be starved by a stream of small ones).
//
// A pool whose launcher's own scheduler admits gangs (slurm,
// Launcher::AdmitsGangs; Inventory::AdmitsItself) is unlimited here:
// nothing is counted against a limit, every gang fits and is admitted at
// once in queue order, and an active deadline counts from StartDeadline()
// (when the launcher allocated the gang), not from admission here.
//
// Thread safety: none; the owner (JobManager) serialises calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/clock.h"
#include "coordinator/inventory.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp::coord {

// One host with this many CPU slots and GPUs (a pool "default" of one
// host "localhost"; tests and the flat flags), or unlimited: a pool
// "default" of launcher slurm, without hosts.
struct Capacity {
  int cpu_slots = 0;
  int gpus = 0;
  bool unlimited = false;  // cpu_slots and gpus are then ignored
  static Capacity Unlimited() { return Capacity{0, 0, true}; }
};

// The pool of `c` (launcher local, or slurm when unlimited).
std::vector<PoolConfig> PoolsFor(Capacity c);

struct GangRequest {
  std::string job_id;
  int priority = 0;
  int64_t seq = 0;  // submission order
  v1::Device device = v1::DEVICE_CPU;
  int units = 0;  // world_size x slots_per_rank
  GangShape shape;
  std::string requested_pool;      // resources.pool; empty: the first that fits
  int pool = -1;                   // the pool chosen (Scheduler::Resolve)
  int64_t active_deadline_ms = 0;  // 0: none; counted from the first admission
  int64_t first_admit_ms = -1;     // set by the scheduler; kept when a gang is queued again
};

// An admitted gang and where its ranks run.
struct Admission {
  GangRequest gang;
  Placement placement;
};

// The gang a spec asks for.
GangRequest GangFor(const std::string& job_id, int64_t seq, const v1::JobSpec& spec);

class Scheduler {
 public:
  Scheduler(std::vector<PoolConfig> pools, const Clock* clock)
      : inventory_(std::move(pools), clock), clock_(clock) {}
  Scheduler(Capacity capacity, const Clock* clock) : Scheduler(PoolsFor(capacity), clock) {}

  // Chooses g->pool (Inventory::ChoosePool): FAILED_PRECONDITION naming the
  // need and the capacity when the gang can never fit, however empty the
  // cluster; INVALID_ARGUMENT for an unknown resources.pool.
  Status Resolve(GangRequest* g) const;
  // Resolve() on a copy.
  Status CheckFits(const GangRequest& g) const;
  // Queues a gang (Resolve must have passed; an unresolved gang is resolved
  // here and, when it cannot fit, stays queued without ever being admitted).
  // Re-enqueueing an id replaces it.
  void Enqueue(const GangRequest& g);
  // Removes a queued gang; false when it was not queued.
  bool Dequeue(const std::string& job_id);
  bool IsQueued(const std::string& job_id) const { return queued_keys_.count(job_id) > 0; }
  // Admits every gang the strict order allows now, placing it and
  // reserving what its ranks hold; returns them in admission order.
  std::vector<Admission> Admit();
  // Places and reserves a gang outside the queue (recovery after a
  // restart); nullopt when it does not fit now. A gang admitted already
  // keeps its placement.
  std::optional<Placement> Reserve(const GangRequest& g);
  // Frees a running gang's hosts; no-op for an unknown id.
  void Release(const std::string& job_id);
  // Admitted gangs whose active deadline has passed.
  std::vector<std::string> Expired() const;
  // A gang of a pool whose launcher admits it (Inventory::AdmitsItself):
  // its active deadline counts from now (when the launcher allocated it).
  // No-op when it counts already (always, in other pools) or for an
  // unknown id.
  void StartDeadline(const std::string& job_id);
  // Where an admitted gang's ranks run; nullptr when it is not admitted.
  const Placement* PlacementOf(const std::string& job_id) const;

  int used(v1::Device d) const { return inventory_.used(d == v1::DEVICE_CUDA); }
  int free(v1::Device d) const { return total(d) - used(d); }
  int total(v1::Device d) const { return inventory_.total(d == v1::DEVICE_CUDA); }
  size_t queued() const { return queue_.size(); }
  bool IsAdmitted(const std::string& job_id) const { return running_.count(job_id) > 0; }
  // Every pool admits gangs itself (the whole cluster is Slurm's).
  bool unlimited() const;

  Inventory& inventory() { return inventory_; }
  const Inventory& inventory() const { return inventory_; }

 private:
  struct Running {
    GangRequest gang;  // first_admit_ms set
    Placement placement;
  };
  static constexpr int64_t kNotStarted = -1;
  // Queue key: (-priority, seq) sorts highest priority first, then FIFO.
  using Key = std::pair<int, int64_t>;

  // Records the gang as running on `p`; returns it with first_admit_ms set.
  const GangRequest& Take(const GangRequest& g, const Placement& p);

  Inventory inventory_;
  const Clock* clock_;
  std::map<Key, GangRequest> queue_;
  std::map<std::string, Key> queued_keys_;
  std::map<std::string, Running> running_;
};

}  // namespace flyp::coord
