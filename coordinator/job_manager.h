// JobManager: the coordinator's brain. Owns the lifecycle of every job:
// submission (store + queue), admission (Scheduler), launching and watching
// worlds (Launcher), restarts with backoff, cancellation, deadlines, worker
// reports, and recovery after a coordinator restart. The gRPC services are
// thin adapters over it.
//
// One loop thread drives worlds and the scheduler (every tick_ms, or sooner
// when something changed); RPC threads call the public methods.
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/clock.h"
#include "coordinator/launcher/launcher.h"
#include "coordinator/metrics.h"
#include "coordinator/scheduler.h"
#include "coordinator/store/job_store.h"
#include "flyp/v1/service.pb.h"

namespace flyp::coord {

struct JobManagerOptions {
  Capacity capacity{4, 0};
  std::string artifact_root;        // <root>/<job-id>/{spec.yaml,logs/world.log,...}
  std::string coordinator_address;  // what workers dial (FLYP_COORDINATOR)
  int64_t grace_ms = 10000;         // SIGTERM -> SIGKILL
  int64_t backoff_base_ms = 1000;   // first restart delay, doubled each time
  int64_t backoff_max_ms = 60000;
  int64_t tick_ms = 50;
  CoordinatorMetrics* metrics = nullptr;  // optional; must outlive the manager
};

class JobManager {
 public:
  // `store`, `launcher` and `clock` must outlive the manager.
  JobManager(JobManagerOptions opts, JobStore* store, Launcher* launcher, const Clock* clock);
  ~JobManager();  // Stop()s

  // Reconciles the store (see docs/coordinator.md, "Recovery") and starts the
  // loop thread. Call once, after coordinator_address is known.
  Status Start();
  // Stops the loop thread. Running worlds are left alone (a later Start()
  // recovers them); use Shutdown semantics of your own if they must die.
  void Stop();
  void set_coordinator_address(const std::string& a) { opts_.coordinator_address = a; }

  // `spec` must be normalised, validated and path-resolved. FAILED_PRECONDITION
  // when the gang can never fit. With a used idempotency key returns the
  // existing job.
  StatusOr<v1::Job> Submit(const v1::JobSpec& spec, const std::string& spec_yaml, const std::string& owner,
                           const std::string& idempotency_key);
  // Stops the job. Blocks until its world is gone (at most the grace period
  // plus a few seconds) and returns the job as it is then.
  // FAILED_PRECONDITION for a finished job.
  StatusOr<v1::Job> Cancel(const std::string& id, const std::string& reason);

  // WorkerService. PERMISSION_DENIED for a wrong worker token. Sets *stop when
  // the world should stop (job cancelled, or the report comes from a
  // superseded attempt).
  Status ReportState(const v1::ReportStateRequest& req, const std::string& token, bool* stop);
  Status ReportProgress(const v1::ReportProgressRequest& req, const std::string& token, bool* stop);

  JobStore* store() { return store_; }
  const JobManagerOptions& options() const { return opts_; }

  // Change notification for watchers: a counter bumped on every state change
  // or progress point. Blocks until it differs from `seen` or `timeout_ms`
  // passed; returns the current value.
  uint64_t WaitForChange(uint64_t seen, int64_t timeout_ms);
  uint64_t version() const { return version_.load(); }

 private:
  // A job admitted and not yet finished.
  struct Active {
    GangRequest gang;
    int64_t world = 0;  // 0: no world right now
    int attempt = 0;
    int restarts = 0;
    int backoff_limit = 0;
    int64_t restart_at_ms = -1;  // >= 0: relaunch due then
    bool stopping = false;       // SIGTERM sent
    int64_t term_ms = 0;
    bool killed = false;
    v1::JobState stop_state = v1::JOB_STATE_CANCELLED;  // final state once the world is gone
    std::string stop_reason, stop_message;
    bool reported_permanent = false;
    bool reported_completed = false;
    std::string fail_message;
  };

  void Loop();
  void TickLocked();
  void OnWorldExitLocked(const std::string& id, Active& a, const WorldExit& exit);
  Status LaunchLocked(const std::string& id, Active& a);
  void RequestStopLocked(const std::string& id, Active& a, v1::JobState final_state,
                         const std::string& reason, const std::string& message);
  Status TransitionLocked(const std::string& id, v1::JobState state, const std::string& reason,
                          const std::string& message, JobUpdate extra = {});
  void FinishLocked(const std::string& id, v1::JobState state, const std::string& reason,
                    const std::string& message);
  Status CheckWorker(const std::string& job_id, int attempt, const std::string& token, bool* stop);
  void Notify();

  JobManagerOptions opts_;
  JobStore* store_;
  Launcher* launcher_;
  const Clock* clock_;

  std::mutex mu_;
  std::condition_variable wake_;          // loop wake-up
  Scheduler scheduler_;                   // guarded by mu_
  std::map<std::string, Active> active_;  // guarded by mu_
  bool stop_ = false;
  std::thread loop_;

  std::mutex change_mu_;
  std::condition_variable changed_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace flyp::coord
