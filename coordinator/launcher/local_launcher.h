// LocalLauncher: the world is one mpirun started with fork/execve from an
// argv vector (never a shell), in its own process group, with stdout and
// stderr appended to the job's log file. Output lines carry Open MPI's
// "[jobid,rank]<stdout>:" tags (--tag-output) so logs can be attributed to
// ranks.
//
// With a placement (LaunchRequest::ranks) every rank is an mpirun app
// context of its own, so each gets its own environment and CPUs:
//   mpirun --allow-run-as-root --oversubscribe --tag-output --bind-to none
//     -np 1 -x NAME... -x CUDA_VISIBLE_DEVICES=<its GPUs>
//           -x FLYP_METRICS_ADDRESS=0.0.0.0:<its port> [taskset -c <its CPUs>] <worker> --spec S
//     : -np 1 ...
// (HostsLauncher adds --host <address>:<ranks there> per context and its
// pool's --mca settings). Without one: a single `-np N` context.
//
// Environment (LaunchEnvironment): the coordinator's own, plus FLYP_JOB_ID,
// FLYP_COORDINATOR, FLYP_WORKER_TOKEN, FLYP_ARTIFACT_DIR, FLYP_ATTEMPT,
// FLYP_COORDINATOR_CA / FLYP_COORDINATOR_SERVER_NAME when configured,
// OMP_WAIT_POLICY=PASSIVE unless set, and the rank's thread count pinned
// (OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = resources.threads_per_rank, or
// slots_per_rank for cpu ranks) — a BLAS that picks its own thread count per
// host changes the numbers. FLYP_METRICS_PORT is dropped: /metrics ports
// come from the placement only. Every FLYP_*, OMP_*, OPENBLAS_* variable,
// LD_LIBRARY_PATH and PATH is forwarded with -x (remote ranks get nothing
// else of it).
//
// Binding: mpirun binds nothing (--bind-to none: its own binding starts at
// core 0 on every launch, so two jobs on one host would share cores); with
// LaunchRequest::pin_cpus each rank runs under `taskset -c` of its CPUs
// (RankHost::cpus, which the coordinator derived from the rank's slots).
//
// Open MPI puts each rank in a process group of its own, so stopping a world
// signals mpirun's group (mpirun forwards SIGTERM to the ranks) and, when
// forced, every descendant of mpirun found in /proc.
//
// World handles are "local:<pid of mpirun>" (also its process group). A
// world cannot be adopted after a coordinator restart (mpirun was the old
// process's child; nobody can wait for its exit status), so Recover() stops
// it: StopOrphan() signals the recorded pid only while it still is an MPI
// launcher (a reused pid is left alone).
//
// Thread safety: all methods may be called from any thread (internally locked).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "coordinator/launcher/launcher.h"

namespace flyp::coord {

struct LocalLauncherOptions {
  std::string mpirun = "mpirun";             // absolute path preferred
  std::string worker_binary;                 // flyp-worker
  std::string taskset = "/usr/bin/taskset";  // util-linux; runs a rank pinned to its CPUs
  std::vector<std::string> extra_mpirun_args;
  // TLS of rank 0's reports, passed as FLYP_COORDINATOR_CA (an absolute path
  // of a PEM file; empty: plaintext) and FLYP_COORDINATOR_SERVER_NAME
  // (empty: the host of the coordinator address).
  std::string coordinator_ca;
  std::string coordinator_server_name;
};

class LocalLauncher : public Launcher {
 public:
  explicit LocalLauncher(LocalLauncherOptions opts) : LocalLauncher(std::move(opts), "local") {}

  StatusOr<WorldHandle> Launch(const LaunchRequest& req) override;
  std::optional<WorldExit> Poll(const WorldHandle& world) override;
  void Stop(const WorldHandle& world, bool force) override;
  Status StopOrphan(const WorldHandle& world, int64_t grace_ms) override;

  // The environment mpirun (and through it every rank) runs with.
  std::map<std::string, std::string> LaunchEnvironment(const LaunchRequest& req) const;
  // The argv Launch() executes with `env` (exposed for tests and logs).
  std::vector<std::string> Argv(const LaunchRequest& req,
                                const std::map<std::string, std::string>& env) const;
  std::vector<std::string> Argv(const LaunchRequest& req) const { return Argv(req, LaunchEnvironment(req)); }
  // The handle kind: "local" (HostsLauncher: "hosts").
  const std::string& kind() const { return kind_; }

 protected:
  LocalLauncher(LocalLauncherOptions opts, std::string kind)
      : opts_(std::move(opts)), kind_(std::move(kind)) {}
  // mpirun options for the whole world (after the common ones).
  virtual void AppendWorldArgs(const LaunchRequest& req, std::vector<std::string>* argv) const;
  // mpirun options of rank `rank`'s app context (before its -x list).
  virtual void AppendRankArgs(const LaunchRequest& req, int rank, std::vector<std::string>* argv) const;

  const LocalLauncherOptions& options() const { return opts_; }

 private:
  LocalLauncherOptions opts_;
  const std::string kind_;
  Mutex mu_;
  std::set<int> children_ FLYP_GUARDED_BY(mu_);  // mpirun pids started and not yet reaped
};

// Thread count a rank is pinned to (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS):
// threads_per_rank when set, else slots_per_rank for cpu ranks; 0: leave alone.
int PinnedThreads(const LaunchRequest& req);

// Every live descendant of `root` (children, grandchildren, ...), from /proc.
std::vector<int> ProcessDescendants(int root);

}  // namespace flyp::coord
