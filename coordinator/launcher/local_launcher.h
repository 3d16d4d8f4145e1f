// LocalLauncher: the world is `mpirun ... -np N <worker> --spec <spec.yaml>`
// started with fork/execve from an argv vector (never a shell), in its own
// process group, with stdout and stderr appended to the job's log file. Output
// lines carry Open MPI's "[jobid,rank]<stdout>:" tags (--tag-output) so logs
// can be attributed to ranks.
//
// Environment: FLYP_JOB_ID, FLYP_COORDINATOR, FLYP_WORKER_TOKEN,
// FLYP_ARTIFACT_DIR, FLYP_ATTEMPT, and FLYP_COORDINATOR_CA /
// FLYP_COORDINATOR_SERVER_NAME when configured, each also forwarded with
// mpirun -x.
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

#include <set>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "coordinator/launcher/launcher.h"

namespace flyp::coord {

struct LocalLauncherOptions {
  std::string mpirun = "mpirun";  // absolute path preferred
  std::string worker_binary;      // flyp-worker
  std::vector<std::string> extra_mpirun_args;
  // TLS of rank 0's reports, passed as FLYP_COORDINATOR_CA (an absolute path
  // of a PEM file; empty: plaintext) and FLYP_COORDINATOR_SERVER_NAME
  // (empty: the host of the coordinator address).
  std::string coordinator_ca;
  std::string coordinator_server_name;
};

class LocalLauncher : public Launcher {
 public:
  explicit LocalLauncher(LocalLauncherOptions opts) : opts_(std::move(opts)) {}

  StatusOr<WorldHandle> Launch(const LaunchRequest& req) override;
  std::optional<WorldExit> Poll(const WorldHandle& world) override;
  void Stop(const WorldHandle& world, bool force) override;
  Status StopOrphan(const WorldHandle& world, int64_t grace_ms) override;

  // The argv Launch() executes (exposed for tests and logs).
  std::vector<std::string> Argv(const LaunchRequest& req) const;

 private:
  LocalLauncherOptions opts_;
  Mutex mu_;
  std::set<int> children_ FLYP_GUARDED_BY(mu_);  // mpirun pids started and not yet reaped
};

// Every live descendant of `root` (children, grandchildren, ...), from /proc.
std::vector<int> ProcessDescendants(int root);

}  // namespace flyp::coord
