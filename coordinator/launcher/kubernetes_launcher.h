// KubernetesLauncher: each job attempt is a Kubeflow MPIJob (kubeflow.org/
// v2beta1, MPI Operator v0.8.x) created through the in-cluster Kubernetes
// API; coordinator/launcher/mpijob.h says what the MPIJob holds.
//
// It works like a controller: two threads list and then watch (?watch=true
// from the list's resourceVersion, relisting after a 410 or a broken stream)
// the MPIJobs and the launcher pods this coordinator manages (label
// app.kubernetes.io/managed-by=flyp-coordinator), so a world's phase and its
// launcher's exit code arrive as events, not by polling; a third thread
// deletes stopped worlds and follows each launcher pod's log with
// sinceTime/timestamps (only new lines, none twice) into the job's log file.
// MPIJob conditions map to world exits: Succeeded -> exit 0, Failed -> the
// launcher pod's exit code (so worker exit codes 3/4 stay permanent
// failures), deleted -> killed by SIGTERM/SIGKILL (asked) or 255 (not
// asked). Stop deletes the MPIJob (foreground propagation).
//
// World handles are "k8s:<namespace>/<MPIJob name>", so a restarted
// coordinator finds an orphaned MPIJob from the stored handle alone.
// Recover() deletes it (the default of Launcher) and the job restarts from
// its checkpoint. Handles "local:<N>" are what a coordinator before schema 3
// of the store recorded for MPIJobs (N = job number * 1000 + attempt);
// StopOrphan() still finds those, for an upgrade with jobs running.
//
// Thread safety: all methods may be called from any thread. Launch() and
// StopOrphan() block on the API server; Poll(), Stop() and Phase() only
// touch memory. No API call is made while mu_ is held, so a hanging API
// server delays launches and events, never a caller of Poll() or Stop().
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/json.h"
#include "common/mutex.h"
#include "coordinator/launcher/kube_api.h"
#include "coordinator/launcher/launcher.h"
#include "coordinator/launcher/mpijob.h"

namespace flyp::coord {

struct KubernetesLauncherOptions {
  KubeApiOptions api;
  MpiJobOptions mpijob;  // its ns is where MPIJobs, pods and Secrets live
  // How often the log follower runs, and how long a failed list or watch
  // waits before it tries again.
  int64_t poll_ms = 2000;
  // Server-side bound of one watch request (timeoutSeconds); the watch is
  // then resumed from the last resourceVersion.
  int64_t watch_timeout_s = 300;
};

// "k8s:<ns>/<name>" and back; INVALID_ARGUMENT for any other handle.
WorldHandle MpiJobHandle(const std::string& ns, const std::string& name);
struct MpiJobRef {
  std::string ns, name;
};
StatusOr<MpiJobRef> ParseMpiJobHandle(const WorldHandle& world);

// One line of a log read with timestamps=true: "<RFC 3339 nano> <text>".
struct LogLine {
  int64_t seconds = 0;  // since the epoch
  int32_t nanos = 0;
  std::string text;
};
// false when the line does not start with a timestamp.
bool ParseLogLine(const std::string& line, LogLine* out);

class KubernetesLauncher : public Launcher {
 public:
  explicit KubernetesLauncher(KubernetesLauncherOptions opts);
  // Ends the watches (within kStreamPollMs) and joins its threads; a delete
  // or log read in flight on a hung API server ends by its timeout
  // (api.timeout_s).
  ~KubernetesLauncher() override;

  StatusOr<WorldHandle> Launch(const LaunchRequest& req) override;
  std::optional<WorldExit> Poll(const WorldHandle& world) override;
  void Stop(const WorldHandle& world, bool force) override;
  Status StopOrphan(const WorldHandle& world, int64_t grace_ms) override;
  // INVALID_ARGUMENT when a spec with these resources cannot become an
  // MPIJob here (PlanPods over the merged defaults: e.g. a cuda world_size
  // that is not a multiple of slots_per_rank), so SubmitJob refuses it with
  // the reason.
  Status CheckResources(const v1::ResourceSpec& resources) const override;

  // Last phase seen (kPending before the first event).
  MpiJobPhase Phase(const WorldHandle& world);

 private:
  struct World {
    std::string name, log_path;
    MpiJobPhase phase = MpiJobPhase::kPending;
    bool seen = false;  // the MPIJob appeared in a list or watch
    bool gone = false;  // then it disappeared
    int stop = 0;       // 0 running, 1 delete requested, 2 forced, 3 delete sent
    bool force_sent = false;
    std::string pod;              // the launcher pod, once seen
    std::optional<int> pod_exit;  // its container's exit code, once terminated
    bool pod_started = false;     // its container ran (a log exists)
    // Log following: the newest line appended, and how many lines carried
    // exactly that timestamp (the next read starts at its second).
    int64_t log_seconds = -1;
    int32_t log_nanos = 0;
    int log_same = 0;
    std::chrono::steady_clock::time_point log_synced{};  // last read of the log
    std::optional<WorldExit> exit;
  };

  // List then watch `collection` (labelSelector `selector`) until shutdown.
  void WatchLoop(const std::string& collection, const std::string& selector, bool pods) FLYP_EXCLUDES(mu_);
  void OnMpiJob(const std::string& type, const Json& object) FLYP_EXCLUDES(mu_);
  void OnPod(const std::string& type, const Json& object) FLYP_EXCLUDES(mu_);
  // A fresh list: worlds seen before and absent now are gone.
  void OnMpiJobList(const std::vector<Json>& items) FLYP_EXCLUDES(mu_);
  void WorkLoop() FLYP_EXCLUDES(mu_);
  // Appends the lines after the last one appended; `w` is a copy taken
  // under mu_ and its log fields are advanced.
  void SyncLog(World* w);
  // Reads the launcher pod of `w` once (when its events have not come yet).
  void FindLauncherPod(World* w);
  Status Delete(const std::string& ns, const std::string& name, bool force);
  // Waits up to poll_ms (or until shutdown); false when shutting down.
  bool Nap() FLYP_EXCLUDES(mu_);
  // Records what a launcher pod object says about its world.
  void NotePod(const Json& pod, World* w);

  const KubernetesLauncherOptions opts_;
  const KubeApi api_;
  std::atomic<bool> stopping_{false};  // read by the watch streams' cancel checks
  Mutex mu_;
  CondVar wake_;  // the worker: a world was added or asked to stop, an event came, or shutdown
  std::map<WorldHandle, World> worlds_ FLYP_GUARDED_BY(mu_);
  std::thread mpijob_watcher_, pod_watcher_, worker_;
};

}  // namespace flyp::coord
