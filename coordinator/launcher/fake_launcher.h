// FakeLauncher: a scriptable Launcher for tests of what sits above the seam
// (JobManager, the gRPC services). Nothing runs: a world is an entry in a
// table, "fake:<n>" with n counting successful launches from 1. It lives
// until the test ends it (Exit) or a Stop() ends it (see set_exit_on_term).
// Every call is recorded. Constructed with admits_gangs, it stands in for a
// launcher with its own scheduler (Slurm): Observe() reports what the test
// set with SetState().
//
// Thread safety: every method may be called from any thread; Launch() may be
// held (blocked) while the others go on.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "coordinator/launcher/host_prober.h"
#include "coordinator/launcher/launcher.h"

namespace flyp::coord {

class FakeLauncher : public Launcher {
 public:
  explicit FakeLauncher(bool admits_gangs = false) : admits_gangs_(admits_gangs) {}

  StatusOr<WorldHandle> Launch(const LaunchRequest& req) override;
  std::optional<WorldExit> Poll(const WorldHandle& world) override;
  void Stop(const WorldHandle& world, bool force) override;
  // Records the call; then adopts the world (set_recovery(kAdopted): it is
  // live again, as if launched by this object) or stops it as StopOrphan does.
  StatusOr<Recovery> Recover(const WorldHandle& world, const LaunchRequest& req, int64_t grace_ms) override;
  // Records the world in orphans_stopped(); FAILED_PRECONDITION for a handle
  // that is not "fake:...".
  Status StopOrphan(const WorldHandle& world, int64_t grace_ms) override;
  bool AdmitsGangs() const override { return admits_gangs_; }
  // What SetState() said last (kUnknown before, and for unknown worlds).
  WorldState Observe(const WorldHandle& world) override;

  // Scripting.
  // The next Launch() returns `status` instead of a world (once).
  void FailNextLaunch(Status status);
  // From now on Launch() blocks after recording its call, until
  // ReleaseLaunches() or `at_most` passed.
  void HoldLaunches(std::chrono::milliseconds at_most = std::chrono::hours(1));
  void ReleaseLaunches();
  // Waits until `n` Launch() calls are blocked; false after `timeout`.
  bool WaitForHeldLaunches(int n, std::chrono::milliseconds timeout);
  // The world ends: the next Poll() reports `exit`. No-op for a world that
  // is not live.
  void Exit(const WorldHandle& world, WorldExit exit);
  // Whether a graceful Stop() ends the world (with SIGTERM; default true).
  // A forced Stop() always ends it (with SIGKILL).
  void set_exit_on_term(bool exit_on_term);
  // What Recover() does (default kGone).
  void set_recovery(Recovery recovery);
  // What Observe() reports for a live world from now on.
  void SetState(const WorldHandle& world, WorldState state);

  // Records.
  struct StopCall {
    WorldHandle world;
    bool force;
  };
  // Every Launch() call in order, also the failed and the held ones.
  std::vector<LaunchRequest> launches();
  std::vector<StopCall> stops();
  std::vector<WorldHandle> recovered();
  std::vector<WorldHandle> orphans_stopped();
  // Worlds launched or adopted whose exit Poll() has not reported yet.
  std::vector<WorldHandle> live();
  int held();

 private:
  struct World {
    std::optional<WorldExit> exit;
    WorldState state;
  };

  const bool admits_gangs_;
  Mutex mu_;
  CondVar cv_;  // hold released; a launch became held
  std::vector<LaunchRequest> launches_ FLYP_GUARDED_BY(mu_);
  std::vector<StopCall> stops_ FLYP_GUARDED_BY(mu_);
  std::vector<WorldHandle> recovered_ FLYP_GUARDED_BY(mu_);
  std::vector<WorldHandle> orphans_stopped_ FLYP_GUARDED_BY(mu_);
  std::map<WorldHandle, World> worlds_ FLYP_GUARDED_BY(mu_);
  std::optional<Status> fail_next_ FLYP_GUARDED_BY(mu_);
  bool hold_ FLYP_GUARDED_BY(mu_) = false;
  std::chrono::milliseconds hold_at_most_ FLYP_GUARDED_BY(mu_){0};
  int held_ FLYP_GUARDED_BY(mu_) = 0;
  int next_world_ FLYP_GUARDED_BY(mu_) = 1;
  bool exit_on_term_ FLYP_GUARDED_BY(mu_) = true;
  Recovery recovery_ FLYP_GUARDED_BY(mu_) = Recovery::kGone;
};

// FakeHostProber: a host answers unless the test cut it off (SetReachable);
// every probe is recorded.
//
// Thread safety: every method may be called from any thread.
class FakeHostProber : public HostProber {
 public:
  Status Probe(const Target& t) override;
  void SetReachable(const std::string& host, bool reachable);
  std::vector<std::string> probed();  // host names, in probe order

 private:
  Mutex mu_;
  std::set<std::string> unreachable_ FLYP_GUARDED_BY(mu_);
  std::vector<std::string> probed_ FLYP_GUARDED_BY(mu_);
};

}  // namespace flyp::coord
