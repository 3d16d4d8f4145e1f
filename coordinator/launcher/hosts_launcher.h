// HostsLauncher: the world of a `hosts` pool is one mpirun on the
// coordinator's machine that starts Open MPI's daemons on the placed hosts
// through the pool's rsh agent (default `ssh -o BatchMode=yes`), one app
// context per rank (LocalLauncher's argv) with
//   --mca plm_rsh_agent <agent> --mca plm_rsh_no_tree_spawn 1
//   [--mca oob_tcp_if_include <oob_interface>] [--mca btl_tcp_if_include <btl_interface>]
//   [--mca NAME VALUE ...]                       the pool's further settings
//   -np 1 --host <address>:<ranks on that host> ...   per rank
// No tree spawn: the coordinator's machine logs into every host itself, so
// hosts need no keys to each other. The environment every rank depends on
// is forwarded with -x (remote ranks see nothing else of the coordinator's
// environment); the worker binary, Open MPI and the spec's paths must be at
// the same paths on every host (shared storage, docs/cluster.md).
//
// Handles are "hosts:<pid of mpirun>"; like local worlds they cannot be
// adopted after a coordinator restart (Recover stops mpirun, and the remote
// daemons end their ranks once mpirun is gone).
//
// Thread safety: as LocalLauncher.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/launcher/local_launcher.h"

namespace flyp::coord {

// A hosts pool's launch settings (cluster.pools[] of launcher hosts).
struct HostsPoolSettings {
  std::string rsh_agent = "ssh -o BatchMode=yes";
  std::string oob_interface;  // interface names or CIDRs; empty: Open MPI's choice
  std::string btl_interface;
  std::vector<std::pair<std::string, std::string>> mca;
};

class HostsLauncher : public LocalLauncher {
 public:
  // `pools`: the settings of every pool this launcher starts worlds in.
  HostsLauncher(LocalLauncherOptions opts, std::map<std::string, HostsPoolSettings> pools)
      : LocalLauncher(std::move(opts), "hosts"), pools_(std::move(pools)) {}

  // FAILED_PRECONDITION for a pool it has no settings for or a request
  // without a placement (every rank needs a host); then as LocalLauncher.
  StatusOr<WorldHandle> Launch(const LaunchRequest& req) override;

 protected:
  void AppendWorldArgs(const LaunchRequest& req, std::vector<std::string>* argv) const override;
  void AppendRankArgs(const LaunchRequest& req, int rank, std::vector<std::string>* argv) const override;

 private:
  const std::map<std::string, HostsPoolSettings> pools_;
};

}  // namespace flyp::coord
