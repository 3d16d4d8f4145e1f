// SlurmCluster: a real Slurm cluster (Debian's slurm-wlm and munge) on the
// hosts of a NetnsHosts, for tests of what runs through Slurm.
//
//   munged      in the test's namespace, with a key and socket of its own
//   slurmctld   in the test's namespace (host name "ctl", the bridge address)
//   slurmd      one per host, as node h1, h2, ... (its host's name), entered
//               with nsenter --net plus unshare --mount --uts (not `ip netns
//               exec`, which remounts /sys without cgroups), with a private
//               tmpfs /tmp: the hosts share one file system, and Slurm's PMIx
//               plugin and Open MPI keep per-node state under /tmp. The test's
//               folders under /tmp (TempDir, and the build, source and data
//               folders when they live there) are bound back in, so a node
//               sees the same paths as the test ("shared storage").
//
// Everything is per test process: the key, the munge socket, the state and
// spool folders (under `dir`, named flyp<pid>-slurm), and the controller and
// node ports (free ones, picked at start). Two test processes, or a test and
// the machine's own Slurm, never share a daemon. The destructor stops every
// daemon it started (by pid) and waits for them, also when the test failed;
// Start() first stops the daemons of a test process that died without its
// destructor.
//
// Needs root and the packages (slurmctld, slurmd, slurm-client, munge):
// Start() returns FAILED_PRECONDITION saying what is missing otherwise (for
// GTEST_SKIP); a daemon that does not come up is INTERNAL with its logs (a
// test failure, not a skip).
//
// Thread safety: none; one test thread drives it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/testing/netns_hosts.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {

struct SlurmClusterOptions {
  int cpus_per_node = 1;
  // Slurm's KillWait: seconds between scancel's SIGTERM and SIGKILL.
  int kill_wait_s = 2;
};

class SlurmCluster {
 public:
  // One node per host of `hosts` (which must outlive the cluster), state
  // under `dir`/flyp<pid>-slurm (created).
  static StatusOr<std::unique_ptr<SlurmCluster>> Start(NetnsHosts* hosts, const std::string& dir,
                                                       SlurmClusterOptions options = {});
  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  // slurm.conf, for SLURM_CONF.
  const std::string& conf() const { return conf_; }
  // "SLURM_CONF=<conf>", for the environment of a process that runs Slurm's
  // commands (a coordinator).
  std::string EnvEntry() const { return "SLURM_CONF=" + conf_; }
  // Node names: h1, h2, ...
  const std::vector<std::string>& nodes() const { return nodes_; }
  // Runs a shell command line with this cluster's SLURM_CONF (squeue,
  // sbatch --wrap, scontrol, ...).
  CommandResult Command(const std::string& command_line) const;
  // squeue's state of a job (PENDING, RUNNING, ...); "" when squeue does not
  // list it.
  std::string JobState(const std::string& slurm_job_id) const;
  // Where the daemons log (for failure messages).
  std::string Logs() const;

 private:
  SlurmCluster() = default;
  bool WaitForNodes(std::string* error);
  void Shutdown();

  NetnsHosts* hosts_ = nullptr;
  std::string dir_;
  std::string conf_;
  std::vector<std::string> nodes_;
  std::vector<std::string> pid_files_;  // munged, slurmctld, slurmd per node
};

}  // namespace flyp::testing
