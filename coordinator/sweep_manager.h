// SweepManager: runs sweeps beside the JobManager. A sweep's trials are
// ordinary jobs: the manager submits each trial's job through
// JobManager::Submit (idempotency key "<sweep-id>/t<index>", Job.sweep_id
// set), at most max_concurrent_trials at a time, watches them through the
// job store, applies early stopping to the evaluations they report, reads
// each finished trial's report.json for the objective, and ends the sweep
// (writing its report first) when every trial has.
//
// Lock discipline (as the JobManager's). mu_ guards the in-memory state of
// the unfinished sweeps and is held only to read and change it: no sweep
// store, job store, JobManager or file call runs under it. Decisions are
// taken under mu_; their store writes go through a queue per sweep that one
// thread drains at a time, so a sweep's writes reach the store in the order
// they were decided (a cancel asked for on an RPC thread and the loop's
// decisions included). Job submissions, stops and report files run on the
// thread that took the decision, after it released mu_.
//
// Durability (docs/sweeps.md): a trial is recorded STARTING
// before its job is submitted and RUNNING with its job id after, so after a
// crash a STARTING trial is submitted again with the same idempotency key,
// which returns the job if it was created: no trial is lost or duplicated.
// Values at early-stopping rungs are recorded before the decision acts; a
// cancel is recorded before any trial is stopped.
//
// Early stopping (successive_halving): trials report evaluations at the end
// of epochs as progress points (ProgressPoint.epoch > 0). At a rung epoch
// min_epochs * eta^k, the trial's value of the metric is compared with
// those its group recorded at that rung before: it continues when it is
// among the best ceil(n / eta) of the n values (ties in its favour), else
// its job is stopped (CANCELLED "EarlyStopped") and the trial is
// EARLY_STOPPED with the comparison as its message.
//
// Driving it. Start() recovers and runs Step() on a loop thread (every
// tick_ms, or at once when woken). Tests call Recover() and Step()
// themselves with a FakeClock, as job_manager_test does.
//
// Thread safety: public methods are thread-safe, except that Step() must
// not run on two threads at once.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/spec/sweep_spec.h"
#include "coordinator/clock.h"
#include "coordinator/job_manager.h"
#include "coordinator/metrics.h"
#include "coordinator/store/sweep_store.h"

namespace flyp::coord {

struct SweepManagerOptions {
  std::string artifact_root;  // <root>/<sweep-id>/report.{md,json,svg}
  int64_t tick_ms = 200;
  // How long Cancel() waits for the trials' jobs to be gone.
  int64_t cancel_wait_ms = 15000;
  CoordinatorMetrics* metrics = nullptr;  // optional; must outlive the manager
};

class SweepManager {
 public:
  // `store`, `jobs` and `clock` must outlive the manager; `jobs` is the
  // JobManager its trials run on (its store is where the jobs are).
  SweepManager(SweepManagerOptions opts, SweepStore* store, JobManager* jobs, const Clock* clock);
  ~SweepManager();  // Stop()s

  // Recover(), then the loop thread.
  Status Start();
  // Stops the loop thread. Trials' jobs keep running (a later Start()
  // picks their sweeps up again).
  void Stop();
  // Loads every unfinished sweep from the store (its trials, their jobs,
  // the values recorded at rungs, a cancel asked for).
  Status Recover();
  // One pass: observes the trials' jobs, applies early stopping, records
  // finished trials, stops trials of cancelled sweeps, submits trials while
  // fewer than max_concurrent_trials are active, and ends finished sweeps.
  void Step();

  // `load` must be ok() and its trial specs path-resolved (the service does
  // both). With an idempotency key `owner` used before, returns that sweep.
  StatusOr<v1::Sweep> Submit(const SweepLoad& load, const std::string& owner,
                             const std::string& idempotency_key);
  // Records the cancel (durable before it returns) and wakes the loop,
  // which stops the running trials; pending trials never start.
  // FAILED_PRECONDITION for a finished sweep, NOT_FOUND for an unknown one.
  Status RequestCancel(const std::string& id, const std::string& reason);
  // RequestCancel(), then waits (up to cancel_wait_ms) until the sweep has
  // ended, i.e. its trials' jobs are gone, and returns it.
  StatusOr<v1::Sweep> Cancel(const std::string& id, const std::string& reason);

  // Reached only outside mu_ (the analysis refuses them under it).
  SweepStore* store() FLYP_EXCLUDES(mu_) { return store_; }
  JobManager* jobs() FLYP_EXCLUDES(mu_) { return jobs_; }

  // Change notification for watchers: bumped on every sweep store write.
  uint64_t WaitForChange(uint64_t seen, int64_t timeout_ms);
  uint64_t version() const { return changes_.version(); }

 private:
  struct TrialMem {
    v1::TrialState state = v1::TRIAL_STATE_PENDING;
    std::string job_id;
    std::string group;
    bool job_done = false;      // its job reached a final state (or it never had one)
    bool submitting = false;    // a submission is planned or in flight
    bool stop_sent = false;     // its job was asked to stop
    int64_t progress_seen = 0;  // progress points of the job already judged
    std::set<int> rungs;        // rungs recorded
  };
  struct SweepMem {
    std::string owner;
    v1::SweepSpec spec;
    std::vector<TrialMem> trials;
    bool cancel_requested = false;
    std::string cancel_message;
    // Early stopping: group -> rung -> values recorded there.
    std::map<std::string, std::map<int, std::vector<double>>> rung_values;
    bool finishing = false;  // the final state is decided; its report is being written
  };
  // A store write of one sweep: the sweep row or one trial.
  struct PendingWrite {
    std::optional<SweepUpdate> sweep;
    int trial = -1;
    TrialUpdate trial_update;
    std::optional<v1::TrialState> before;  // metrics, with a trial state change
  };
  struct WriteQueue {
    std::deque<PendingWrite> pending;
    bool draining = false;
  };
  // What a trial's job looked like when Step() read it.
  struct Observation {
    std::string sweep_id;
    int trial = 0;
    std::string job_id;
    int64_t progress_from = 0;     // TrialMem::progress_seen when planned
    std::string metric;            // early stopping's; empty: no progress wanted
    std::string objective_metric;  // the split read from report.json
    StatusOr<JobRecord> job = UnavailableError("not read yet");
    std::vector<v1::ProgressPoint> progress;  // new points since progress_from
    std::optional<double> objective;          // a succeeded job's report.json
    std::string report_problem;               // why there is no objective
  };
  struct Submission {
    std::string sweep_id;
    int trial = 0;
  };
  struct Finish {
    std::string sweep_id;
    v1::SweepState state{};
    std::string reason, message;
  };
  // What a locked section decided to do once mu_ is released.
  struct Effects {
    std::vector<std::string> writes;                           // sweeps whose write queue grew
    std::vector<std::pair<std::string, std::string>> stops;    // job id, message ("EarlyStopped")
    std::vector<std::pair<std::string, std::string>> cancels;  // job id, message (sweep cancelled)
    std::vector<Submission> submissions;
    std::vector<Finish> finishes;
  };

  void Loop() FLYP_EXCLUDES(mu_);
  void Wake() FLYP_EXCLUDES(mu_);
  void Notify() { changes_.Bump(); }
  void RunEffects(Effects fx) FLYP_EXCLUDES(mu_);
  void DrainWrites(const std::string& id) FLYP_EXCLUDES(mu_);
  // Submits a trial's job (its STARTING is in the store), records the result.
  void SubmitTrial(const Submission& s) FLYP_EXCLUDES(mu_);
  // Writes the report, then the final transition.
  void FinishSweep(const Finish& f) FLYP_EXCLUDES(mu_);
  void Observe(Observation* o) FLYP_EXCLUDES(mu_);
  SweepMem RegisterFrom(const SweepRecord& rec) const;

  void EnqueueLocked(const std::string& id, PendingWrite w, Effects* fx) FLYP_REQUIRES(mu_);
  void SetTrialStateLocked(const std::string& id, SweepMem& s, int trial, v1::TrialState state,
                           const std::string& reason, const std::string& message, TrialUpdate extra,
                           Effects* fx) FLYP_REQUIRES(mu_);
  void ApplyObservationLocked(const Observation& o, Effects* fx) FLYP_REQUIRES(mu_);
  // The early-stopping rule for one evaluation at the end of `epoch`:
  // records the value at its rung and, when `may_stop`, stops the trial
  // that does not make the cut.
  void JudgeRungLocked(const std::string& id, SweepMem& s, int trial, int epoch, double value, bool may_stop,
                       Effects* fx) FLYP_REQUIRES(mu_);
  void PlanLocked(const std::string& id, SweepMem& s, Effects* fx) FLYP_REQUIRES(mu_);

  SweepManagerOptions opts_;
  SweepStore* const store_;  // through store() only
  JobManager* const jobs_;   // through jobs() only
  const Clock* const clock_;

  Mutex mu_;
  CondVar wake_;
  std::map<std::string, SweepMem> sweeps_ FLYP_GUARDED_BY(mu_);  // the unfinished ones, by id
  std::map<std::string, WriteQueue> writes_ FLYP_GUARDED_BY(mu_);
  CondVar written_;  // a write queue emptied
  bool wake_pending_ FLYP_GUARDED_BY(mu_) = false;
  bool stop_ FLYP_GUARDED_BY(mu_) = false;
  std::thread loop_;  // Start() and Stop() only

  ChangeCounter changes_;
};

// The idempotency key of a trial's job: "<sweep-id>/t<index>".
std::string TrialJobKey(const std::string& sweep_id, int index);

}  // namespace flyp::coord
