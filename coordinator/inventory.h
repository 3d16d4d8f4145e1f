// Inventory: the hosts of every pool, what the ranks of each admitted gang
// hold on them (CPU slots, GPUs, a /metrics port), and each host's health.
// Pure bookkeeping, like the Scheduler that owns it: no I/O, no threads,
// time from the Clock. The JobManager probes hosts and reports the outcome
// here (MarkDown / MarkUp); placement only uses hosts that are up.
//
// Placement of a gang (Place):
//  - a rank needs slots_per_rank CPU slots (device cpu) or GPUs (cuda) on
//    one host; a host holds floor(free / slots_per_rank) more ranks;
//  - with resources.ranks_per_host = k every host used gets exactly k
//    ranks (the k-rank hosts with the least room first, so big holes stay
//    whole); otherwise the ranks go onto the fewest hosts: one host when one
//    has room (the tightest fit), else the roomiest hosts first and the
//    tightest fit for the rest;
//  - never partial: all ranks or nothing;
//  - ranks are numbered host by host in configuration order, consecutive
//    ranks on the same host; each takes the lowest free CPU slots (slot i is
//    CPU i of the host), the lowest free GPUs (in the order the host lists
//    them) and the lowest free port of the pool's worker_metrics_ports on
//    its host (0 when the pool has none or all are taken: that rank has no
//    /metrics).
//
// A pool whose launcher admits gangs itself (slurm) has no hosts here:
// every gang fits it and is placed at once, holding nothing.
//
// Health: hosts of `hosts` pools start up; MarkDown records the reason and
// schedules a re-probe after the pool's probe_backoff_s, doubled on every
// failed probe up to probe_backoff_max_s; MarkUp clears it. Hosts of other
// launchers (local, kubernetes) are never probed and stay up.
//
// Thread safety: none; the owner serialises calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/clock.h"
#include "coordinator/config.h"

namespace flyp::coord {

// What one gang asks for.
struct GangShape {
  int world_size = 1;
  int slots_per_rank = 1;  // CPU slots (cpu) or GPUs (cuda) per rank
  int ranks_per_host = 0;  // 0: any
  bool cuda = false;
};

// One rank's share of a host.
struct RankPlacement {
  int host = -1;          // index into Inventory::hosts()
  std::vector<int> cpus;  // CPU slot indices (device cpu)
  std::vector<int> gpus;  // CUDA device indices (device cuda)
  int metrics_port = 0;   // 0: no /metrics
};

struct Placement {
  int pool = -1;
  std::vector<RankPlacement> ranks;  // by world rank
  // The distinct hosts, in rank order.
  std::vector<int> hosts() const;
};

enum class HostState { kUp, kDown };

class Inventory {
 public:
  struct Host {
    int pool = 0;
    HostConfig config;
    // Health.
    HostState state = HostState::kUp;
    std::string reason;         // why it is down
    int64_t since_ms = 0;       // last change of state
    int failed_probes = 0;      // since it went down
    int64_t next_probe_ms = 0;  // down: when to probe again
    bool probing = false;       // a probe is in flight
    // Usage: owner job id per CPU slot ("" free), per GPU and per port.
    std::vector<std::string> cpu_owner;
    std::map<int, std::string> gpu_owner;  // device index -> job ("" free)
    std::map<int, std::string> port_owner;
  };

  Inventory(std::vector<PoolConfig> pools, const Clock* clock);

  const std::vector<PoolConfig>& pools() const { return pools_; }
  const std::vector<Host>& hosts() const { return hosts_; }
  // -1 when there is no such pool.
  int PoolIndex(const std::string& name) const;
  // Whether hosts of the pool are probed (launcher hosts).
  bool Probed(int pool) const;
  // Whether the pool's launcher admits and places gangs itself (slurm): the
  // pool has no hosts, every gang fits, and a placement holds nothing
  // (no ranks: the launcher's own placement).
  bool AdmitsItself(int pool) const;

  // The pool a gang runs in: `requested` (resources.pool) when set, else
  // the first pool it can ever fit. FAILED_PRECONDITION with the reason
  // when it can never fit (however empty the cluster, down hosts counted as
  // up), INVALID_ARGUMENT for an unknown pool.
  StatusOr<int> ChoosePool(const std::string& requested, const GangShape& g) const;
  // OK when the gang fits the pool when every host is empty and up;
  // FAILED_PRECONDITION saying which constraint it cannot meet otherwise.
  Status CheckFits(int pool, const GangShape& g) const;
  // A placement on the free capacity of the pool's hosts that are up, or
  // nullopt. Changes nothing.
  std::optional<Placement> Place(int pool, const GangShape& g) const;
  // Marks the placement's slots, GPUs and ports as `job`'s.
  void Take(const std::string& job, const Placement& p);
  // Frees everything `job` holds; no-op for a job that holds nothing.
  void Free(const std::string& job);
  // Units (CPU slots or GPUs) used and total, over every pool.
  int used(bool gpus) const;
  int total(bool gpus) const;

  // Health (hosts of probed pools; others are ignored).
  void MarkDown(int host, const std::string& reason);
  void MarkUp(int host);
  bool IsUp(int host) const { return hosts_.at(static_cast<size_t>(host)).state == HostState::kUp; }
  // Down hosts whose re-probe is due and not in flight; marks them in flight.
  std::vector<int> TakeDueProbes();
  // A probe of `host` (from TakeDueProbes, or any other) finished.
  void ProbeFinished(int host) { hosts_.at(static_cast<size_t>(host)).probing = false; }
  // When the next re-probe falls due; nullopt when none is scheduled.
  std::optional<int64_t> NextProbeMs() const;
  // Jobs holding something on `host`.
  std::set<std::string> JobsOn(int host) const;
  // Bumped by every change of usage or health.
  uint64_t version() const { return version_; }

 private:
  // Ranks `h` can take now (free capacity), or when empty (`empty`).
  int Room(const Host& h, const GangShape& g, bool empty) const;
  std::optional<Placement> PlaceOn(int pool, const GangShape& g, bool empty) const;
  int64_t ProbeBackoffMs(const Host& h) const;

  std::vector<PoolConfig> pools_;
  std::vector<Host> hosts_;
  const Clock* clock_;
  uint64_t version_ = 0;
};

}  // namespace flyp::coord
