// LauncherSet: the one Launcher the JobManager talks to when pools use
// different launchers. Launch goes to the launcher of the request's pool;
// Poll, Stop, Recover and StopOrphan go to the launcher of the handle's
// kind ("local", "hosts", "k8s", ...), so a recorded world reaches the
// right launcher after a restart whatever pool it came from.
//
// Thread safety: configured before use (Add*), then every method may be
// called from any thread (the launchers are).
#pragma once

#include <map>
#include <string>

#include "coordinator/launcher/launcher.h"

namespace flyp::coord {

class LauncherSet : public Launcher {
 public:
  // `launcher` (not owned; must outlive the set) makes worlds whose handles
  // are of `kind`.
  void AddKind(const std::string& kind, Launcher* launcher) { by_kind_[kind] = launcher; }
  // Worlds of `pool` are launched by `launcher` (added with AddKind).
  void AddPool(const std::string& pool, Launcher* launcher) { by_pool_[pool] = launcher; }

  // FAILED_PRECONDITION for a pool no launcher was added for.
  StatusOr<WorldHandle> Launch(const LaunchRequest& req) override;
  // A handle of an unknown kind reports exit code 255 (as an unknown world does).
  std::optional<WorldExit> Poll(const WorldHandle& world) override;
  void Stop(const WorldHandle& world, bool force) override;
  // FAILED_PRECONDITION for a handle of an unknown kind.
  StatusOr<Recovery> Recover(const WorldHandle& world, const LaunchRequest& req, int64_t grace_ms) override;
  Status StopOrphan(const WorldHandle& world, int64_t grace_ms) override;
  // The launcher of resources.pool; without a pool, the launcher of every
  // pool when they all share one (else OK: the scheduler chooses the pool
  // later, and the launch reports what does not fit). An unknown pool is
  // the scheduler's to refuse.
  Status CheckResources(const v1::ResourceSpec& resources) const override;
  // True when every pool's launcher admits gangs itself (the coordinator's
  // configuration allows a slurm pool only on its own).
  bool AdmitsGangs() const override;
  WorldState Observe(const WorldHandle& world) override;

 private:
  Launcher* ForKind(const WorldHandle& world) const;

  std::map<std::string, Launcher*> by_kind_;
  std::map<std::string, Launcher*> by_pool_;
};

}  // namespace flyp::coord
