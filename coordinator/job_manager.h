// JobManager: the coordinator's brain. Owns the lifecycle of every job:
// submission (store + queue), admission (Scheduler), launching and watching
// worlds (Launcher), restarts with backoff, cancellation, deadlines, worker
// reports, and recovery after a coordinator restart. The gRPC services are
// thin adapters over it.
//
// Lock discipline. mu_ guards the in-memory state of the unfinished jobs
// (jobs_, the scheduler) and is held only to read and change that state:
// no store, launcher or filesystem call ever runs under it, so an RPC never
// waits for a database, a process start or an API server. Decisions are
// taken under mu_ and their effects run after it is released:
//  - store writes go through a queue per job: the decision appends its
//    JobUpdate under mu_, then the deciding thread drains the queue without
//    mu_; one thread drains a job's queue at a time, so the job's state
//    transitions reach the store in the order they were decided;
//  - each Launcher::Launch runs on a thread of its own (it may block for as
//    long as a Kubernetes API call takes to time out); the job is in phase
//    kLaunching meanwhile, and a cancel or deadline that arrives then is
//    recorded and applied the moment the launch returns;
//  - Launcher::Poll and Stop are called by Step() between its locked parts.
// The worker token of every unfinished job is cached in memory, so
// WorkerService calls of running jobs never read the store.
//
// The store stays the source of truth for recovery: a decision is in the
// store once its queue drained, an attempt number is recorded before its
// world is launched and the world's handle right after Launch returns.
//
// A launcher that admits gangs itself (Launcher::AdmitsGangs: Slurm) gets an
// unlimited scheduler: every job goes to it at once, and the job's state
// mirrors the launcher's admission — QUEUED (with the launcher's pending
// reason, e.g. "Slurm job 42 pending (Resources)") until Observe() reports
// the world allocated, then ADMITTED and STARTING; a restart's world stays
// RESTARTING until its ranks report. Its active deadline counts from that
// allocation.
//
// Hosts. The Scheduler places each gang onto hosts of a pool
// (coordinator/inventory.h). For pools whose launcher reaches hosts over an
// rsh agent, the hosts are probed (HostProber, on a thread like a launch)
// before a world is launched on them and after a world on them failed; a
// host that does not answer is marked down with the reason, placement
// skips it, and it is probed again with backoff until it answers. A job
// whose restart finds a host of its placement down gives its hosts back
// and waits in the queue (RESTARTING WaitingForHosts) until the gang fits
// on the hosts that are up; a job whose launch-time probe fails goes back
// to the queue the same way (HostUnavailable).
//
// A rank whose collective watchdog fires reports it (ReportState FAILED
// with collective_timeout); when the world has not ended grace_ms later the
// manager kills it (mpirun can hang for many minutes on a host lost with its
// link) and the job restarts (CollectiveTimeout).
//
// Driving it. Start() recovers and runs Step() on a loop thread (every
// tick_ms, or at once when something changed). Tests call Recover() and
// Step() themselves, with a FakeClock and `inline_launches`, to run the
// lifecycle step by step in virtual time.
//
// Thread safety: all public methods are thread-safe, except that Step()
// must not run on two threads at once (the loop thread, or a test, owns it).
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "coordinator/clock.h"
#include "coordinator/launcher/host_prober.h"
#include "coordinator/launcher/launcher.h"
#include "coordinator/metrics.h"
#include "coordinator/scheduler.h"
#include "coordinator/store/job_store.h"
#include "flyp/v1/cluster.pb.h"
#include "flyp/v1/service.pb.h"

namespace flyp::coord {

struct JobManagerOptions {
  Capacity capacity{4, 0};        // used when `pools` is empty: one local host
  std::vector<PoolConfig> pools;  // the cluster (EffectivePools)
  // Probes hosts of `hosts` pools; nullptr: hosts are never probed (always up).
  HostProber* prober = nullptr;  // must outlive the manager
  // Prometheus file_sd JSON of the live ranks' /metrics, rewritten
  // atomically when it changes; empty: not written.
  std::string worker_targets_file;
  std::string artifact_root;            // <root>/<job-id>/{spec.yaml,logs/world.log,...}
  std::string coordinator_address;      // what workers dial (FLYP_COORDINATOR)
  std::vector<std::string> data_roots;  // what workers may read (FLYP_DATA_ROOTS); empty: not confined
  int64_t grace_ms = 10000;             // SIGTERM -> SIGKILL
  // A world launched by this coordinator (launchers that do not admit
  // gangs) whose rank 0 has not reported STARTED this long after the
  // launch is killed and the attempt restarts (StartTimeout): mpirun waits
  // without end on a daemon that never called back. 0: no limit.
  int64_t start_timeout_ms = 600000;
  int64_t backoff_base_ms = 1000;  // first restart delay, doubled each time
  int64_t backoff_max_ms = 60000;
  int64_t tick_ms = 50;
  CoordinatorMetrics* metrics = nullptr;  // optional; must outlive the manager
  // Tests: Step() runs each launch on the calling thread, after its locked
  // part, instead of on a thread per launch (deterministic order).
  bool inline_launches = false;
};

class JobManager {
 public:
  // `store`, `launcher` and `clock` must outlive the manager.
  JobManager(JobManagerOptions opts, JobStore* store, Launcher* launcher, const Clock* clock);
  ~JobManager();  // Stop()s

  // Recover(), then the loop thread. Call once, after coordinator_address is
  // known.
  Status Start();
  // Stops the loop thread and waits for launches in flight (their worlds
  // are recorded). Running worlds are left alone (a later Start() recovers
  // them).
  void Stop();
  // Before Start(): what workers dial.
  void set_coordinator_address(const std::string& a) { opts_.coordinator_address = a; }

  // Reconciles the store (docs/coordinator.md, "Recovery"): queued jobs are
  // queued again; a job that had a world gets its slots back and the
  // launcher's Recover() adopts the world or stops it (then the job restarts
  // from its checkpoint). Blocks while orphaned worlds stop (grace_ms
  // each), without holding mu_. Start() calls it; tests call it directly.
  Status Recover();
  // One pass of the loop: polls the worlds, applies their exits, starts due
  // restarts, enforces deadlines, admits what fits, sends stop signals, and
  // runs the resulting store writes, Stop()s and launches (launches on their
  // own threads unless `inline_launches`).
  void Step();

  // `spec` must be normalised, validated and path-resolved. FAILED_PRECONDITION
  // when the gang can never fit. With an idempotency key `owner` used before returns the
  // existing job. `sweep_id`: the sweep the job is a trial of (SweepManager).
  StatusOr<v1::Job> Submit(const v1::JobSpec& spec, const std::string& spec_yaml, const std::string& owner,
                           const std::string& idempotency_key, const std::string& sweep_id = "");
  // What Submit checks before storing anything: the launcher can lay the
  // resources out, the gang can ever fit. For a sweep, before its trials
  // exist.
  Status CheckSubmittable(const v1::JobSpec& spec) FLYP_EXCLUDES(mu_);
  // Asks the job to stop, without waiting: a queued job, or one waiting to
  // restart, is CANCELLED at once; one being launched or running is stopped
  // (TERM, KILL after grace_ms) and CANCELLED once its world is gone.
  // FAILED_PRECONDITION for a finished job, NOT_FOUND for an unknown one.
  Status RequestCancel(const std::string& id, const std::string& reason);
  // RequestCancel with another reason than the user's (the job ends
  // CANCELLED `reason_code`, e.g. "EarlyStopped" from the SweepManager).
  Status RequestStop(const std::string& id, const std::string& reason_code, const std::string& message);
  // RequestCancel(), then blocks until the job's final state is in the store
  // (at most the grace period plus a few seconds) and returns the job as it
  // is then.
  StatusOr<v1::Job> Cancel(const std::string& id, const std::string& reason);

  // WorkerService. PERMISSION_DENIED for a wrong worker token, and (with the
  // same message) for a job that does not exist. Sets *stop when
  // the world should stop (job cancelled, or the report comes from a
  // superseded attempt). Never waits for a launch or the loop.
  Status ReportState(const v1::ReportStateRequest& req, const std::string& token, bool* stop);
  Status ReportProgress(const v1::ReportProgressRequest& req, const std::string& token, bool* stop);

  // The store and the launcher are reached only through store() and
  // launcher(), which the thread-safety analysis refuses under mu_: a store
  // or launcher call made while holding the lock does not compile in
  // scripts/check-thread-safety.
  JobStore* store() FLYP_EXCLUDES(mu_) { return store_; }
  const JobManagerOptions& options() const { return opts_; }

  // Change notification for watchers: a counter bumped on every state change
  // or progress point recorded in the store. Blocks until it differs from
  // `seen` or `timeout_ms` passed; returns the current value.
  uint64_t WaitForChange(uint64_t seen, int64_t timeout_ms);
  uint64_t version() const { return changes_.version(); }

  // Every host with its usage and health (ClusterService.ListNodes); from
  // memory, never waits.
  std::vector<v1::Node> ListNodes(const std::string& pool = "");
  // The live ranks' /metrics endpoints as Prometheus service discovery JSON
  // (file_sd and http_sd share the format): one target group per rank with
  // labels flyp_job, rank, host, pool and attempt. From memory.
  std::string WorkerTargetsJson();

 private:
  // Where an unfinished job is in its lifecycle.
  enum class Phase {
    kQueued,     // waiting for admission (in the scheduler's queue)
    kBackoff,    // admitted, no world: the next launch is due at restart_at_ms
    kLaunching,  // Launcher::Launch in flight for `attempt`
    kRunning,    // `world` is up (or being stopped)
  };
  // Why and how a job ends once its world is gone (cancel, deadline).
  struct StopIntent {
    v1::JobState state;
    std::string reason, message;
  };
  // An unfinished job as the manager sees it.
  struct Job {
    GangRequest gang;
    std::string worker_token;
    int backoff_limit = 0;
    int64_t create_ms = 0;
    bool started = false;  // start_time recorded
    v1::JobState state{};  // the latest state decided (the store follows in order)
    Phase phase = Phase::kQueued;
    int attempt = 0;  // FLYP_ATTEMPT of the current or last world
    int restarts = 0;
    int64_t restart_at_ms = 0;  // kBackoff
    WorldHandle world;          // kRunning
    std::optional<StopIntent> stop;
    bool term_sent = false;
    bool kill_sent = false;
    int64_t term_ms = 0;
    // The launcher's last Observe() of `world` (AdmitsGangs launchers), and
    // how many transitions the observations of this attempt recorded.
    WorldState observed;
    int observed_transitions = 0;
    // What rank 0 of `attempt` reported.
    bool reported_permanent = false;
    bool reported_completed = false;
    std::string fail_message;
    // When a rank of `attempt` reported a collective timeout; -1: none.
    int64_t timeout_report_ms = -1;
    // When the world of `attempt` was launched (or adopted); -1: none yet.
    // Until its rank 0 reports STARTED the job is not RUNNING; the start
    // timeout is measured from here. Whether that timeout killed the world.
    int64_t launched_ms = -1;
    bool start_timed_out = false;
    // Where the ranks run (the scheduler's reservation; empty while queued).
    Placement placement;
    int probes_pending = 0;  // post-failure probes of the placement's hosts in flight
  };
  struct LaunchPlan {
    std::string job_id;
    int attempt = 0;
    uint64_t attempt_write = 0;  // the write recording `attempt`; durable before Launch
    std::string pool;
    bool pin_cpus = false;
    std::vector<RankHost> ranks;
    // Hosts probed before the launch (probed pools only): inventory index and target.
    std::vector<std::pair<int, HostProber::Target>> probe;
  };
  // Probes of hosts (RunProbes): before nothing (a down host's re-probe) or
  // after `job`'s world failed.
  struct ProbePlan {
    std::string job;      // empty: re-probes of down hosts
    std::string context;  // what the reason of a failed probe adds
    std::vector<std::pair<int, HostProber::Target>> hosts;
  };
  struct PendingWrite {
    uint64_t seq = 0;
    JobUpdate update;
    std::optional<v1::JobState> before;  // for metrics, with a transition
  };
  struct WriteQueue {
    std::deque<PendingWrite> pending;  // the front one is being written, or next
    bool draining = false;
  };
  // What a locked section decided to do once mu_ is released.
  struct Effects {
    std::vector<std::string> writes;                  // jobs whose write queue grew
    std::vector<std::pair<WorldHandle, bool>> stops;  // world, force
    std::vector<LaunchPlan> launches;
    std::vector<ProbePlan> probes;
    bool targets_changed = false;  // the worker targets file must be rewritten
  };

  Launcher* launcher() FLYP_EXCLUDES(mu_) { return launcher_; }
  void Loop() FLYP_EXCLUDES(mu_);
  void Wake() FLYP_EXCLUDES(mu_);
  void Notify() { changes_.Bump(); }
  // Runs `fx` (store writes, then stops, then launches). Never under mu_.
  void RunEffects(Effects fx) FLYP_EXCLUDES(mu_);
  // Writes the job's queued updates in order unless another thread already
  // does; returns when the queue is empty or that other thread owns it.
  void DrainWrites(const std::string& id) FLYP_EXCLUDES(mu_);
  // Blocks until the write `seq` of job `id` is done (DrainWrites first).
  void WaitWritten(const std::string& id, uint64_t seq) FLYP_EXCLUDES(mu_);
  // Launch thread (or Step() with inline_launches): waits for the attempt
  // to be recorded, writes spec.yaml, calls Launcher::Launch, records the
  // result.
  void RunLaunch(const LaunchPlan& plan) FLYP_EXCLUDES(mu_);
  StatusOr<WorldHandle> StartWorld(const LaunchPlan& plan) FLYP_EXCLUDES(mu_);
  LaunchRequest RequestFor(const JobRecord& rec, int attempt) const;
  // Runs `fn` on a thread of its own (joined by a later Step or Stop).
  void SpawnThread(std::function<void()> fn) FLYP_EXCLUDES(mu_);
  void JoinFinishedThreads() FLYP_EXCLUDES(mu_);
  // Probes the plan's hosts (concurrently), then applies the outcomes.
  void RunProbes(const ProbePlan& plan) FLYP_EXCLUDES(mu_);
  // Probes `targets` concurrently; one status per target.
  std::vector<Status> ProbeAll(const std::vector<std::pair<int, HostProber::Target>>& targets)
      FLYP_EXCLUDES(mu_);
  void WriteTargetsFile() FLYP_EXCLUDES(mu_, targets_mu_);
  // FAILED_PRECONDITION / NOT_FOUND / UNAVAILABLE for a job not in jobs_
  // (finished, unknown, or not registered yet); reads the store.
  Status NotActiveStatus(const std::string& id) FLYP_EXCLUDES(mu_);
  // For a job not in jobs_: PERMISSION_DENIED or NOT_FOUND, else OK with
  // *stop = true. Reads the store.
  Status CheckFinishedWorker(const std::string& job_id, const std::string& token, bool* stop)
      FLYP_EXCLUDES(mu_);

  // Locked decisions; each appends what must happen afterwards to `fx`.
  Job& RegisterLocked(const JobRecord& rec) FLYP_REQUIRES(mu_);
  void EnqueueWriteLocked(const std::string& id, JobUpdate u, std::optional<v1::JobState> before, Effects* fx,
                          uint64_t* seq = nullptr) FLYP_REQUIRES(mu_);
  void TransitionLocked(const std::string& id, Job& job, v1::JobState state, const std::string& reason,
                        const std::string& message, JobUpdate extra, Effects* fx) FLYP_REQUIRES(mu_);
  // Records the final state and forgets the job (`job` dangles afterwards).
  void FinishLocked(const std::string& id, Job& job, v1::JobState state, const std::string& reason,
                    const std::string& message, Effects* fx) FLYP_REQUIRES(mu_);
  void PlanLaunchLocked(const std::string& id, Job& job, Effects* fx) FLYP_REQUIRES(mu_);
  void CompleteLaunchLocked(const LaunchPlan& plan, const StatusOr<WorldHandle>& world, Effects* fx)
      FLYP_REQUIRES(mu_);
  // The launch-time probe of `plan` found hosts down: mark them, give the
  // job's hosts back and queue it again.
  void HostsUnavailableLocked(const LaunchPlan& plan, const std::vector<Status>& probes, Effects* fx)
      FLYP_REQUIRES(mu_);
  // The placement the scheduler holds for `id` becomes the job's.
  void AdoptPlacementLocked(const std::string& id, Job& job) FLYP_REQUIRES(mu_);
  // Gives the job's hosts back and queues it again (state stays as decided by the caller).
  void RequeueLocked(const std::string& id, Job& job) FLYP_REQUIRES(mu_);
  // Probe targets of the job's hosts in a probed pool (empty otherwise).
  std::vector<std::pair<int, HostProber::Target>> ProbeTargetsLocked(const Placement& p) const
      FLYP_REQUIRES(mu_);
  // "h1 (ranks 0-1), h2 (rank 2)".
  std::string DescribePlacementLocked(const Placement& p) const FLYP_REQUIRES(mu_);
  void PublishNodesLocked() FLYP_REQUIRES(mu_);
  void OnWorldExitLocked(const std::string& id, Job& job, const WorldExit& exit, Effects* fx)
      FLYP_REQUIRES(mu_);
  // A launcher that admits gangs said where `job`'s world is.
  void ObserveWorldLocked(const std::string& id, Job& job, const WorldState& state, int64_t now, Effects* fx)
      FLYP_REQUIRES(mu_);
  // QUEUED -> ADMITTED -> STARTING for a job its launcher admitted.
  void AdmittedByLauncherLocked(const std::string& id, Job& job, const std::string& message, int64_t now,
                                Effects* fx) FLYP_REQUIRES(mu_);
  void RequestStopLocked(const std::string& id, Job& job, v1::JobState final_state, const std::string& reason,
                         const std::string& message, Effects* fx) FLYP_REQUIRES(mu_);
  // OK with *stop for a job in jobs_; nullopt when the job is not there.
  std::optional<Status> CheckWorkerLocked(const std::string& job_id, int attempt, const std::string& token,
                                          bool* stop) FLYP_REQUIRES(mu_);

  JobManagerOptions opts_;    // set before Start(); read-only afterwards
  JobStore* const store_;     // through store() only
  Launcher* const launcher_;  // through launcher() only
  const Clock* const clock_;
  const bool launcher_admits_;  // launcher_->AdmitsGangs(), asked once

  Mutex mu_;
  CondVar wake_;     // the loop: something changed, or stop
  CondVar written_;  // a queued store write finished
  Scheduler scheduler_ FLYP_GUARDED_BY(mu_);
  std::map<std::string, Job> jobs_ FLYP_GUARDED_BY(mu_);  // every unfinished job, by id
  std::map<std::string, WriteQueue> writes_ FLYP_GUARDED_BY(mu_);
  uint64_t next_write_ FLYP_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, std::thread> threads_ FLYP_GUARDED_BY(mu_);  // launches and probes
  std::vector<uint64_t> finished_threads_ FLYP_GUARDED_BY(mu_);
  uint64_t next_thread_ FLYP_GUARDED_BY(mu_) = 1;
  uint64_t targets_version_ FLYP_GUARDED_BY(mu_) = 0;             // bumped when the live endpoints change
  uint64_t nodes_published_ FLYP_GUARDED_BY(mu_) = ~uint64_t{0};  // inventory version in the metrics
  bool wake_pending_ FLYP_GUARDED_BY(mu_) = false;
  bool stop_ FLYP_GUARDED_BY(mu_) = false;
  std::thread loop_;  // Start() and Stop() only

  Mutex targets_mu_;  // orders writes of the worker targets file (no other lock is held with it)
  uint64_t targets_written_ FLYP_GUARDED_BY(targets_mu_) = 0;

  ChangeCounter changes_;
};

}  // namespace flyp::coord
