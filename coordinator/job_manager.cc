#include "coordinator/job_manager.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include "common/exception_edge.h"
#include "common/file_util.h"
#include "common/json.h"
#include "common/logging.h"
#include "common/numbers.h"
#include "coordinator/proto_time.h"

namespace flyp::coord {
namespace {

std::string RandomToken() {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 32; ++i) t += kHex[rd() % 16];
  return t;
}

// Compares in time independent of where the tokens differ.
bool WorkerTokenMatches(const std::string& given, const std::string& expected) {
  if (given.empty() || given.size() != expected.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

Status WorkerTokenMismatch(const std::string& job_id) {
  return PermissionDeniedError("worker token does not match job " + QuoteForError(job_id));
}

// How long RequestCancel waits for a job the store has and the manager does
// not know yet (a Submit or Recover registering it right now).
constexpr int kRegisterWaitRounds = 20;
constexpr int64_t kRegisterWaitMs = 100;

// At most this many transitions record a launcher's observations of one
// attempt (a Slurm job whose pending reason keeps changing must not grow
// the job's history without bound).
constexpr int kMaxObservedTransitions = 16;

}  // namespace

JobManager::JobManager(JobManagerOptions opts, JobStore* store, Launcher* launcher, const Clock* clock)
    : opts_(std::move(opts)),
      store_(store),
      launcher_(launcher),
      clock_(clock),
      launcher_admits_(launcher->AdmitsGangs()),
      scheduler_(launcher_admits_      ? PoolsFor(Capacity::Unlimited())
                 : opts_.pools.empty() ? PoolsFor(opts_.capacity)
                                       : opts_.pools,
                 clock) {}

JobManager::~JobManager() { Stop(); }

uint64_t JobManager::WaitForChange(uint64_t seen, int64_t timeout_ms) {
  return changes_.WaitForChange(seen, timeout_ms);
}

void JobManager::Wake() {
  {
    MutexLock lock(&mu_);
    wake_pending_ = true;
  }
  wake_.SignalAll();
}

// ------------------------------------------------------------ store writes

void JobManager::EnqueueWriteLocked(const std::string& id, JobUpdate u, std::optional<v1::JobState> before,
                                    Effects* fx, uint64_t* seq) {
  PendingWrite w;
  w.seq = next_write_++;
  w.update = std::move(u);
  w.before = before;
  if (seq) *seq = w.seq;
  writes_[id].pending.push_back(std::move(w));
  fx->writes.push_back(id);
}

void JobManager::DrainWrites(const std::string& id) {
  {
    MutexLock lock(&mu_);
    auto it = writes_.find(id);
    if (it == writes_.end() || it->second.draining) return;
    it->second.draining = true;
  }
  for (;;) {
    PendingWrite w;
    {
      MutexLock lock(&mu_);
      WriteQueue& q = writes_.at(id);
      if (q.pending.empty()) {
        writes_.erase(id);
        written_.SignalAll();
        return;
      }
      w = q.pending.front();
    }
    Status s = store()->UpdateJob(id, w.update);
    if (w.update.transition) {
      const v1::StateTransition& t = *w.update.transition;
      if (!s.ok()) {
        FLYP_LOG(ERROR) << id << ": cannot record " << v1::JobState_Name(t.state()) << ": " << s;
      } else {
        FLYP_LOG(INFO) << id << ": " << v1::JobState_Name(t.state()) << " " << t.reason()
                       << (t.message().empty() ? "" : ": ") << t.message();
        if (opts_.metrics) opts_.metrics->OnTransition(w.before, t.state());
      }
    } else if (!s.ok()) {
      FLYP_LOG(ERROR) << id << ": cannot record an update: " << s;
    }
    Notify();
    {
      MutexLock lock(&mu_);
      writes_.at(id).pending.pop_front();
    }
    written_.SignalAll();
  }
}

void JobManager::WaitWritten(const std::string& id, uint64_t seq) {
  DrainWrites(id);
  MutexLock lock(&mu_);
  for (;;) {
    auto it = writes_.find(id);
    if (it == writes_.end() || it->second.pending.empty() || it->second.pending.front().seq > seq) return;
    written_.Wait(&mu_);
  }
}

void JobManager::RunEffects(Effects fx) {
  for (const std::string& id : fx.writes) DrainWrites(id);
  for (const auto& [world, force] : fx.stops) launcher()->Stop(world, force);
  for (const ProbePlan& plan : fx.probes) {
    if (opts_.inline_launches) {
      RunProbes(plan);
    } else {
      SpawnThread([this, plan] { RunProbes(plan); });
    }
  }
  for (const LaunchPlan& plan : fx.launches) {
    if (opts_.inline_launches) {
      RunLaunch(plan);
    } else {
      SpawnThread([this, plan] { RunLaunch(plan); });
    }
  }
  if (fx.targets_changed) WriteTargetsFile();
}

// ------------------------------------------------------- locked decisions

JobManager::Job& JobManager::RegisterLocked(const JobRecord& rec) {
  Job& j = jobs_[rec.job.id()];
  j = Job();
  j.gang = GangFor(rec.job.id(), rec.seq, rec.job.spec());
  (void)scheduler_.Resolve(&j.gang);  // pool stays -1 when it cannot fit (Recover fails such a job)
  j.worker_token = rec.worker_token;
  j.backoff_limit = rec.job.spec().run_policy().backoff_limit();
  j.create_ms = TimestampToMillis(rec.job.status().create_time());
  j.started = rec.job.status().has_start_time();
  j.state = rec.job.status().state();
  j.attempt = rec.attempt;
  j.restarts = rec.job.status().restarts();
  return j;
}

void JobManager::TransitionLocked(const std::string& id, Job& job, v1::JobState state,
                                  const std::string& reason, const std::string& message, JobUpdate extra,
                                  Effects* fx) {
  v1::StateTransition t;
  t.set_state(state);
  t.set_reason(reason);
  t.set_message(message);
  *t.mutable_time() = MillisToTimestamp(clock_->NowMillis());
  extra.transition = t;
  const v1::JobState before = job.state;
  job.state = state;
  EnqueueWriteLocked(id, std::move(extra), before, fx);
}

void JobManager::FinishLocked(const std::string& id, Job& job, v1::JobState state, const std::string& reason,
                              const std::string& message, Effects* fx) {
  JobUpdate u;
  u.end_time_ms = clock_->NowMillis();
  u.world = "";
  TransitionLocked(id, job, state, reason, message, u, fx);
  if (!job.world.empty() || job.phase == Phase::kRunning) {
    ++targets_version_;
    fx->targets_changed = true;
  }
  scheduler_.Release(id);
  scheduler_.Dequeue(id);
  jobs_.erase(id);
}

void JobManager::PlanLaunchLocked(const std::string& id, Job& job, Effects* fx) {
  job.phase = Phase::kLaunching;
  job.attempt += 1;
  job.world = WorldHandle();
  job.term_sent = job.kill_sent = false;
  job.reported_completed = job.reported_permanent = false;
  job.fail_message.clear();
  job.observed = WorldState();
  job.observed_transitions = 0;
  job.timeout_report_ms = -1;
  job.launched_ms = -1;
  job.start_timed_out = false;
  LaunchPlan plan;
  plan.job_id = id;
  plan.attempt = job.attempt;
  const Inventory& inv = scheduler_.inventory();
  if (job.placement.pool >= 0) {
    const PoolConfig& pool = inv.pools().at(static_cast<size_t>(job.placement.pool));
    plan.pool = pool.name;
    plan.pin_cpus = pool.binding == CpuBinding::kCores && !job.gang.shape.cuda;
    for (const RankPlacement& r : job.placement.ranks) {
      const Inventory::Host& h = inv.hosts().at(static_cast<size_t>(r.host));
      // Slots become the host's CPUs (slot i is CPU i, or the i-th of its `cpus`).
      std::vector<int> cpus;
      for (int slot : r.cpus) {
        const int cpu =
            h.config.cpus.empty() ? slot : h.config.cpus[static_cast<size_t>(slot) % h.config.cpus.size()];
        if (std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) cpus.push_back(cpu);
      }
      std::sort(cpus.begin(), cpus.end());
      plan.ranks.push_back(RankHost{h.config.name, h.config.address, cpus, r.gpus, r.metrics_port});
    }
    plan.probe = ProbeTargetsLocked(job.placement);
  }
  JobUpdate u;
  u.attempt = job.attempt;  // before the launch: an attempt number is never reused
  EnqueueWriteLocked(id, u, std::nullopt, fx, &plan.attempt_write);
  fx->launches.push_back(std::move(plan));
}

void JobManager::CompleteLaunchLocked(const LaunchPlan& plan, const StatusOr<WorldHandle>& world,
                                      Effects* fx) {
  auto it = jobs_.find(plan.job_id);
  if (it == jobs_.end() || it->second.phase != Phase::kLaunching || it->second.attempt != plan.attempt) {
    // Only a launch's own completion moves a job out of kLaunching.
    FLYP_LOG(ERROR) << plan.job_id << ": launch of attempt " << plan.attempt << " returned for a job in "
                    << "another phase; stopping its world";
    if (world.ok()) fx->stops.emplace_back(*world, true);
    return;
  }
  Job& j = it->second;
  if (!world.ok()) {
    if (j.stop) {
      const StopIntent stop = *j.stop;
      FinishLocked(plan.job_id, j, stop.state, stop.reason, stop.message + " (the launch failed too)", fx);
    } else {
      FinishLocked(plan.job_id, j, v1::JOB_STATE_FAILED, "LaunchFailed", world.status().message(), fx);
    }
    return;
  }
  j.phase = Phase::kRunning;
  j.world = *world;
  j.launched_ms = clock_->NowMillis();
  ++targets_version_;
  fx->targets_changed = true;
  JobUpdate u;
  u.world = world->text();
  if (!j.started && !launcher_admits_) {  // else once the launcher allocated it
    u.start_time_ms = clock_->NowMillis();
    j.started = true;
  }
  EnqueueWriteLocked(plan.job_id, u, std::nullopt, fx);
  FLYP_LOG(INFO) << plan.job_id << ": attempt " << j.attempt << " launched as world " << j.world
                 << (j.stop ? "; stopping it (" + j.stop->reason + ")" : "");
}

void JobManager::OnWorldExitLocked(const std::string& id, Job& a, const WorldExit& exit, Effects* fx) {
  a.world = WorldHandle();
  ++targets_version_;
  fx->targets_changed = true;
  if (a.stop) {
    const StopIntent stop = *a.stop;
    FinishLocked(id, a, stop.state, stop.reason, stop.message, fx);
    return;
  }
  ExitClass c = a.reported_completed ? ExitClass::kSucceeded : ClassifyExit(exit, a.reported_permanent);
  std::string what = "world exited: " + exit.ToString();
  if (!a.fail_message.empty()) what += "; worker said: " + a.fail_message;
  if (a.start_timed_out) {
    // Killed by us: whatever the exit says, the attempt never began.
    c = ExitClass::kRetryable;
    what = "no rank reported started within " + std::to_string(opts_.start_timeout_ms / 1000) +
           " s of the launch (--start-timeout-s), so the world was killed (" + exit.ToString() +
           "); mpirun waits without end on a daemon that never called back: check the hosts' ssh and the "
           "oob_interface";
  }
  switch (c) {
    case ExitClass::kSucceeded:
      FinishLocked(id, a, v1::JOB_STATE_SUCCEEDED, "Completed", exit.exit_code ? what : "", fx);
      return;
    case ExitClass::kPermanent:
      FinishLocked(id, a, v1::JOB_STATE_FAILED, "PermanentFailure", what + " (retrying cannot help)", fx);
      return;
    case ExitClass::kRetryable:
      break;
  }
  if (a.restarts >= a.backoff_limit) {
    FinishLocked(id, a, v1::JOB_STATE_FAILED, "BackoffLimitExceeded",
                 what + "; run_policy.backoff_limit " + std::to_string(a.backoff_limit) + " reached", fx);
    return;
  }
  ++a.restarts;
  if (opts_.metrics) opts_.metrics->OnRestart();
  int64_t delay = BackoffMillis(a.restarts, opts_.backoff_base_ms, opts_.backoff_max_ms);
  a.phase = Phase::kBackoff;
  a.restart_at_ms = clock_->NowMillis() + delay;
  // Was it a host? Probe the placement's hosts before the restart uses them.
  if (opts_.prober) {
    ProbePlan probe;
    probe.job = id;
    probe.context = "found after " + id + " attempt " + std::to_string(a.attempt) + " failed (" + what + ")";
    probe.hosts = ProbeTargetsLocked(a.placement);
    if (!probe.hosts.empty()) {
      a.probes_pending = 1;
      fx->probes.push_back(std::move(probe));
    }
  }
  JobUpdate u;
  u.restarts = a.restarts;
  u.world = "";
  TransitionLocked(id, a, v1::JOB_STATE_RESTARTING,
                   a.start_timed_out          ? "StartTimeout"
                   : a.timeout_report_ms >= 0 ? "CollectiveTimeout"
                                              : "RankExited",
                   what + "; restart " + std::to_string(a.restarts) + " of " +
                       std::to_string(a.backoff_limit) + " in " + std::to_string(delay) +
                       " ms from the last checkpoint",
                   u, fx);
}

void JobManager::AdmittedByLauncherLocked(const std::string& id, Job& job, const std::string& message,
                                          int64_t now, Effects* fx) {
  scheduler_.StartDeadline(id);
  if (job.state != v1::JOB_STATE_QUEUED) return;
  if (opts_.metrics && job.attempt == 1) opts_.metrics->ObserveQueueWait((now - job.create_ms) / 1000.0);
  JobUpdate u;
  if (!job.started) {
    u.start_time_ms = now;
    job.started = true;
  }
  TransitionLocked(id, job, v1::JOB_STATE_ADMITTED, "GangAdmitted", message, u, fx);
  TransitionLocked(id, job, v1::JOB_STATE_STARTING, "WorldAllocated", "waiting for rank 0", {}, fx);
}

void JobManager::ObserveWorldLocked(const std::string& id, Job& job, const WorldState& state, int64_t now,
                                    Effects* fx) {
  if (state.phase == WorldState::Phase::kUnknown || state == job.observed || job.stop) return;
  job.observed = state;
  const bool waiting = job.state == v1::JOB_STATE_QUEUED || job.state == v1::JOB_STATE_RESTARTING;
  if (state.phase == WorldState::Phase::kAllocated) {
    if (job.state == v1::JOB_STATE_QUEUED) {
      AdmittedByLauncherLocked(id, job, state.message, now, fx);
      return;
    }
    scheduler_.StartDeadline(id);
  }
  // A restart's world pending or allocated, a first world pending: the state
  // stays, the transition says where the world is.
  if (!waiting || job.observed_transitions >= kMaxObservedTransitions) return;
  ++job.observed_transitions;
  TransitionLocked(id, job, job.state, state.reason, state.message, {}, fx);
}

void JobManager::RequestStopLocked(const std::string& id, Job& job, v1::JobState final_state,
                                   const std::string& reason, const std::string& message, Effects* fx) {
  if (job.stop) return;  // the first reason to stop wins
  switch (job.phase) {
    case Phase::kQueued:
    case Phase::kBackoff:  // no world: nothing to wait for
      FinishLocked(id, job, final_state, reason, message, fx);
      return;
    case Phase::kLaunching:  // applied when the launch returns
    case Phase::kRunning:    // Step() sends TERM, then KILL after the grace period
      job.stop = StopIntent{final_state, reason, message};
      FLYP_LOG(INFO) << id << ": stopping (" << reason << ")";
      return;
  }
}

// ------------------------------------------------------------------ loop

Status JobManager::Start() {
  FLYP_RETURN_IF_ERROR(Recover());
  {
    MutexLock lock(&mu_);
    stop_ = false;
  }
  loop_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void JobManager::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  wake_.SignalAll();
  if (loop_.joinable()) loop_.join();
  // Launches in flight finish (and record their world) before the store and
  // the launcher may go away.
  std::map<uint64_t, std::thread> threads;
  {
    MutexLock lock(&mu_);
    threads.swap(threads_);
    finished_threads_.clear();
  }
  for (auto& [n, t] : threads) t.join();
}

void JobManager::Loop() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (stop_) return;
      wake_pending_ = false;
    }
    // An exception from a store or launcher bug is logged and the loop goes
    // on: the next Step() starts from the recorded state.
    CatchAtThread("job manager loop", [this] { Step(); });
    MutexLock lock(&mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.tick_ms);
    while (!stop_ && !wake_pending_ && wake_.WaitUntil(&mu_, deadline)) {
    }
  }
}

void JobManager::Step() {
  JoinFinishedThreads();
  // 1. Poll every world, without the lock.
  std::vector<std::pair<std::string, WorldHandle>> worlds;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, j] : jobs_)
      if (j.phase == Phase::kRunning) worlds.emplace_back(id, j.world);
  }
  std::vector<std::pair<size_t, WorldExit>> exits;
  std::vector<std::pair<size_t, WorldState>> observed;
  for (size_t i = 0; i < worlds.size(); ++i) {
    if (auto exit = launcher()->Poll(worlds[i].second)) {
      exits.emplace_back(i, *exit);
    } else if (launcher_admits_) {
      observed.emplace_back(i, launcher()->Observe(worlds[i].second));
    }
  }
  // 2. Decide.
  Effects fx;
  {
    MutexLock lock(&mu_);
    const int64_t now = clock_->NowMillis();
    for (const auto& [i, exit] : exits) {
      const auto& [id, world] = worlds[i];
      auto it = jobs_.find(id);
      if (it != jobs_.end() && it->second.phase == Phase::kRunning && it->second.world == world)
        OnWorldExitLocked(id, it->second, exit, &fx);
    }
    for (const auto& [i, state] : observed) {
      const auto& [id, world] = worlds[i];
      auto it = jobs_.find(id);
      if (it != jobs_.end() && it->second.phase == Phase::kRunning && it->second.world == world)
        ObserveWorldLocked(id, it->second, state, now, &fx);
    }
    // Deadlines before restarts: no world is launched only to be stopped.
    for (const std::string& id : scheduler_.Expired()) {
      auto it = jobs_.find(id);
      if (it == jobs_.end() || it->second.stop) continue;
      RequestStopLocked(id, it->second, v1::JOB_STATE_FAILED, "DeadlineExceeded",
                        "run_policy.active_deadline of " +
                            std::to_string(it->second.gang.active_deadline_ms / 1000) + "s passed",
                        &fx);
    }
    std::vector<std::string> due;
    for (const auto& [id, j] : jobs_)
      if (j.phase == Phase::kBackoff && now >= j.restart_at_ms && j.probes_pending == 0) due.push_back(id);
    for (const std::string& id : due) {
      Job& j = jobs_.at(id);
      std::string down;
      for (int h : j.placement.hosts()) {
        const Inventory::Host& host = scheduler_.inventory().hosts().at(static_cast<size_t>(h));
        if (host.state != HostState::kUp)
          down += (down.empty() ? "" : "; ") + host.config.name + " is down: " + host.reason;
      }
      if (down.empty()) {
        PlanLaunchLocked(id, j, &fx);
        continue;
      }
      // Its hosts go back; it waits in the queue (ahead of later jobs) until
      // the gang fits on hosts that are up.
      RequeueLocked(id, j);
      TransitionLocked(id, j, v1::JOB_STATE_RESTARTING, "WaitingForHosts",
                       down + "; waiting until the gang fits on the hosts that are up", {}, &fx);
    }
    if (opts_.prober) {
      ProbePlan reprobe;
      for (int h : scheduler_.inventory().TakeDueProbes()) {
        const Inventory::Host& host = scheduler_.inventory().hosts().at(static_cast<size_t>(h));
        reprobe.hosts.push_back(
            {h, HostProber::Target{scheduler_.inventory().pools().at(static_cast<size_t>(host.pool)).name,
                                   host.config.name, host.config.address}});
      }
      if (!reprobe.hosts.empty()) fx.probes.push_back(std::move(reprobe));
    }
    for (const Admission& a : scheduler_.Admit()) {
      const GangRequest& g = a.gang;
      auto it = jobs_.find(g.job_id);
      if (it == jobs_.end()) {  // cannot happen: queued jobs are registered
        FLYP_LOG(ERROR) << g.job_id << ": admitted but unknown";
        scheduler_.Release(g.job_id);
        continue;
      }
      Job& j = it->second;
      j.gang = g;
      j.placement = a.placement;
      if (launcher_admits_) {  // the launcher admits it; QUEUED until it says so
        PlanLaunchLocked(g.job_id, j, &fx);
        continue;
      }
      if (opts_.metrics && j.attempt == 0) opts_.metrics->ObserveQueueWait((now - j.create_ms) / 1000.0);
      const std::string reserved = std::to_string(g.units) +
                                   (g.device == v1::DEVICE_CUDA ? " GPUs" : " CPU slots") + " reserved on " +
                                   DescribePlacementLocked(a.placement);
      if (j.state == v1::JOB_STATE_RESTARTING) {
        // Back from WaitingForHosts or HostUnavailable: new hosts for the restart.
        TransitionLocked(g.job_id, j, v1::JOB_STATE_RESTARTING, "Replaced", reserved, {}, &fx);
      } else {
        TransitionLocked(g.job_id, j, v1::JOB_STATE_ADMITTED, "GangAdmitted", reserved, {}, &fx);
        TransitionLocked(g.job_id, j, v1::JOB_STATE_STARTING, "Launching", "", {}, &fx);
      }
      PlanLaunchLocked(g.job_id, j, &fx);
    }
    for (auto& [id, j] : jobs_) {
      if (j.phase != Phase::kRunning) continue;
      // RUNNING is rank 0's STARTED report for this attempt (WorkerStarted).
      if (!j.stop && !launcher_admits_ && opts_.start_timeout_ms > 0 && j.state != v1::JOB_STATE_RUNNING &&
          !j.kill_sent && j.launched_ms >= 0 && now - j.launched_ms >= opts_.start_timeout_ms) {
        FLYP_LOG(WARNING) << id << ": world " << j.world << " of attempt " << j.attempt
                          << ": no rank reported started within " << opts_.start_timeout_ms
                          << " ms of the launch; killing it";
        fx.stops.emplace_back(j.world, true);
        j.start_timed_out = j.term_sent = j.kill_sent = true;
        j.term_ms = now;
        continue;
      }
      if (!j.stop && j.timeout_report_ms >= 0 && !j.kill_sent &&
          now - j.timeout_report_ms >= opts_.grace_ms) {
        // MPI_Abort did not end the world: mpirun waits on a daemon it lost.
        FLYP_LOG(WARNING) << id << ": world " << j.world << " still up " << (now - j.timeout_report_ms)
                          << " ms after a rank reported a collective timeout; killing it";
        fx.stops.emplace_back(j.world, true);
        j.term_sent = j.kill_sent = true;
        j.term_ms = now;
        continue;
      }
      if (!j.stop) continue;
      if (!j.term_sent) {
        FLYP_LOG(INFO) << id << ": stopping world " << j.world << " (" << j.stop->reason << ")";
        fx.stops.emplace_back(j.world, false);
        j.term_sent = true;
        j.term_ms = now;
      } else if (!j.kill_sent && now - j.term_ms >= opts_.grace_ms) {
        FLYP_LOG(WARNING) << id << ": world " << j.world << " still alive after the grace period; killing it";
        fx.stops.emplace_back(j.world, true);
        j.kill_sent = true;
      }
    }
    if (opts_.metrics && !launcher_admits_) {  // the launcher's slots are its own to count
      opts_.metrics->SetSlots(false, scheduler_.free(v1::DEVICE_CPU), scheduler_.used(v1::DEVICE_CPU));
      opts_.metrics->SetSlots(true, scheduler_.free(v1::DEVICE_CUDA), scheduler_.used(v1::DEVICE_CUDA));
      PublishNodesLocked();
    }
  }
  // 3. Act.
  RunEffects(std::move(fx));
}

// --------------------------------------------------------------- placement

void JobManager::AdoptPlacementLocked(const std::string& id, Job& job) {
  const Placement* p = scheduler_.PlacementOf(id);
  job.placement = p ? *p : Placement();
}

void JobManager::RequeueLocked(const std::string& id, Job& job) {
  scheduler_.Release(id);
  job.placement = Placement();
  job.phase = Phase::kQueued;
  job.world = WorldHandle();
  scheduler_.Enqueue(job.gang);
}

std::vector<std::pair<int, HostProber::Target>> JobManager::ProbeTargetsLocked(const Placement& p) const {
  std::vector<std::pair<int, HostProber::Target>> out;
  const Inventory& inv = scheduler_.inventory();
  if (p.pool < 0 || !opts_.prober || !inv.Probed(p.pool)) return out;
  for (int h : p.hosts()) {
    const Inventory::Host& host = inv.hosts().at(static_cast<size_t>(h));
    out.push_back({h, HostProber::Target{inv.pools().at(static_cast<size_t>(p.pool)).name, host.config.name,
                                         host.config.address}});
  }
  return out;
}

std::string JobManager::DescribePlacementLocked(const Placement& p) const {
  std::string out;
  const auto& hosts = scheduler_.inventory().hosts();
  for (size_t r = 0; r < p.ranks.size();) {
    size_t e = r;
    while (e + 1 < p.ranks.size() && p.ranks[e + 1].host == p.ranks[r].host) ++e;
    out += (out.empty() ? "" : ", ") + hosts.at(static_cast<size_t>(p.ranks[r].host)).config.name +
           (e == r ? " (rank " + std::to_string(r) + ")"
                   : " (ranks " + std::to_string(r) + "-" + std::to_string(e) + ")");
    r = e + 1;
  }
  return out;
}

void JobManager::HostsUnavailableLocked(const LaunchPlan& plan, const std::vector<Status>& probes,
                                        Effects* fx) {
  std::string down;
  for (size_t i = 0; i < probes.size(); ++i) {
    if (probes[i].ok()) continue;
    const std::string reason = probes[i].message() + "; found before launching " + plan.job_id + " attempt " +
                               std::to_string(plan.attempt);
    scheduler_.inventory().MarkDown(plan.probe[i].first, reason);
    FLYP_LOG(WARNING) << "host " << plan.probe[i].second.host << " is down: " << reason;
    down += (down.empty() ? "" : "; ") + plan.probe[i].second.host + ": " + probes[i].message();
  }
  auto it = jobs_.find(plan.job_id);
  if (it == jobs_.end() || it->second.phase != Phase::kLaunching || it->second.attempt != plan.attempt)
    return;
  Job& j = it->second;
  if (j.stop) {
    const StopIntent stop = *j.stop;
    FinishLocked(plan.job_id, j, stop.state, stop.reason, stop.message, fx);
    return;
  }
  const v1::JobState state =
      j.state == v1::JOB_STATE_RESTARTING ? v1::JOB_STATE_RESTARTING : v1::JOB_STATE_QUEUED;
  RequeueLocked(plan.job_id, j);
  TransitionLocked(plan.job_id, j, state, "HostUnavailable", down + "; the gang waits for hosts that answer",
                   {}, fx);
}

void JobManager::PublishNodesLocked() {
  const uint64_t v = scheduler_.inventory().version();
  if (v == nodes_published_) return;
  nodes_published_ = v;
  std::vector<CoordinatorMetrics::NodeUsage> nodes;
  for (const Inventory::Host& h : scheduler_.inventory().hosts()) {
    CoordinatorMetrics::NodeUsage n;
    n.node = h.config.name;
    n.pool = scheduler_.inventory().pools().at(static_cast<size_t>(h.pool)).name;
    n.up = h.state == HostState::kUp;
    n.cpu_total = h.config.cpu_slots;
    for (const std::string& o : h.cpu_owner) n.cpu_used += !o.empty();
    n.gpu_total = static_cast<int>(h.config.gpus.size());
    for (const auto& [dev, o] : h.gpu_owner) n.gpu_used += !o.empty();
    nodes.push_back(n);
  }
  opts_.metrics->SetNodes(nodes);
}

std::vector<v1::Node> JobManager::ListNodes(const std::string& pool) {
  MutexLock lock(&mu_);
  std::vector<v1::Node> out;
  const Inventory& inv = scheduler_.inventory();
  for (size_t i = 0; i < inv.hosts().size(); ++i) {
    const Inventory::Host& h = inv.hosts()[i];
    const PoolConfig& pc = inv.pools().at(static_cast<size_t>(h.pool));
    if (!pool.empty() && pc.name != pool) continue;
    v1::Node n;
    n.set_name(h.config.name);
    n.set_pool(pc.name);
    n.set_address(h.config.address);
    n.set_launcher(LauncherKindName(pc.launcher));
    n.set_state(h.state == HostState::kUp ? v1::NODE_STATE_UP : v1::NODE_STATE_DOWN);
    n.set_reason(h.reason);
    *n.mutable_since() = MillisToTimestamp(h.since_ms);
    n.set_cpu_slots(h.config.cpu_slots);
    int used = 0;
    for (const std::string& o : h.cpu_owner) used += !o.empty();
    n.set_cpu_slots_used(used);
    for (int g : h.config.gpus) {
      n.add_gpus(g);
      if (!h.gpu_owner.at(g).empty()) n.add_gpus_used(g);
    }
    for (const auto& [k, v] : h.config.labels) (*n.mutable_labels())[k] = v;
    for (const std::string& job : inv.JobsOn(static_cast<int>(i))) n.add_jobs(job);
    if (h.state == HostState::kDown) *n.mutable_next_probe_time() = MillisToTimestamp(h.next_probe_ms);
    out.push_back(std::move(n));
  }
  return out;
}

std::string JobManager::WorkerTargetsJson() {
  Json::Array groups;
  {
    MutexLock lock(&mu_);
    const Inventory& inv = scheduler_.inventory();
    for (const auto& [id, j] : jobs_) {
      if (j.phase != Phase::kRunning || j.world.empty() || j.placement.pool < 0) continue;
      const std::string& pool = inv.pools().at(static_cast<size_t>(j.placement.pool)).name;
      for (size_t r = 0; r < j.placement.ranks.size(); ++r) {
        const RankPlacement& rp = j.placement.ranks[r];
        if (rp.metrics_port <= 0) continue;
        const HostConfig& h = inv.hosts().at(static_cast<size_t>(rp.host)).config;
        groups.push_back(Json(Json::Object{
            {"targets", Json(Json::Array{Json(h.address + ":" + std::to_string(rp.metrics_port))})},
            {"labels", Json(Json::Object{{"flyp_job", Json(id)},
                                         {"rank", Json(std::to_string(r))},
                                         {"host", Json(h.name)},
                                         {"pool", Json(pool)},
                                         {"attempt", Json(std::to_string(j.attempt))}})}}));
      }
    }
  }
  return Json(std::move(groups)).Dump() + "\n";
}

void JobManager::WriteTargetsFile() {
  if (opts_.worker_targets_file.empty()) return;
  uint64_t version;
  {
    MutexLock lock(&mu_);
    version = targets_version_;
  }
  const std::string json = WorkerTargetsJson();
  // Writers in version order: an older snapshot never replaces a newer one.
  MutexLock lock(&targets_mu_);
  if (version <= targets_written_ && targets_written_ != 0) return;
  Status s = WriteFileAtomic(opts_.worker_targets_file, json);
  if (!s.ok()) {
    FLYP_LOG(ERROR) << "worker targets: " << s;
    return;
  }
  targets_written_ = version;
}

// ------------------------------------------------------------------ probes

std::vector<Status> JobManager::ProbeAll(const std::vector<std::pair<int, HostProber::Target>>& targets) {
  std::vector<Status> out(targets.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < targets.size(); ++i) {
    threads.emplace_back([this, &out, &targets, i] { out[i] = opts_.prober->Probe(targets[i].second); });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

void JobManager::RunProbes(const ProbePlan& plan) {
  const std::vector<Status> results = ProbeAll(plan.hosts);
  {
    MutexLock lock(&mu_);
    Inventory& inv = scheduler_.inventory();
    for (size_t i = 0; i < plan.hosts.size(); ++i) {
      const int h = plan.hosts[i].first;
      const std::string& name = plan.hosts[i].second.host;
      if (plan.job.empty()) inv.ProbeFinished(h);
      if (results[i].ok()) {
        if (!inv.IsUp(h)) FLYP_LOG(INFO) << "host " << name << " answers again: up";
        inv.MarkUp(h);
        continue;
      }
      // A re-probe keeps the account of why the host went down.
      const bool was_down = !inv.IsUp(h);
      const std::string reason =
          plan.job.empty() && was_down
              ? inv.hosts().at(static_cast<size_t>(h)).reason
              : results[i].message() + (plan.context.empty() ? "" : "; " + plan.context);
      if (!was_down) FLYP_LOG(WARNING) << "host " << name << " is down: " << reason;
      inv.MarkDown(h, reason);
    }
    if (!plan.job.empty()) {
      auto it = jobs_.find(plan.job);
      if (it != jobs_.end()) it->second.probes_pending = 0;
    }
  }
  Notify();
  Wake();
}

// --------------------------------------------------------------- launches

LaunchRequest JobManager::RequestFor(const JobRecord& rec, int attempt) const {
  const std::string dir = rec.job.artifact_dir();
  const auto& res = rec.job.spec().resources();
  LaunchRequest req;
  req.job_id = rec.job.id();
  req.attempt = attempt;
  req.world_size = res.world_size();
  req.threads_per_rank = res.threads_per_rank();
  req.cuda = res.device() == v1::DEVICE_CUDA;
  req.slots_per_rank = std::max(1, res.slots_per_rank());
  const auto& deadline = rec.job.spec().run_policy().active_deadline();
  req.time_limit_ms = deadline.seconds() * 1000 + deadline.nanos() / 1000000;
  req.spec_path = dir + "/spec.yaml";
  req.artifact_dir = dir;
  req.log_path = dir + "/logs/world.log";
  req.coordinator_address = opts_.coordinator_address;
  req.worker_token = rec.worker_token;
  req.kubernetes = res.kubernetes();
  req.ranks_per_host = res.ranks_per_host();
  req.data_roots = opts_.data_roots;
  return req;
}

StatusOr<WorldHandle> JobManager::StartWorld(const LaunchPlan& plan) {
  FLYP_ASSIGN_OR_RETURN(JobRecord rec, store()->GetJob(plan.job_id));
  namespace fs = std::filesystem;
  const std::string dir = rec.job.artifact_dir();
  std::error_code ec;
  fs::create_directories(dir + "/logs", ec);
  if (ec) return UnavailableError("cannot create '" + dir + "/logs': " + ec.message());
  FLYP_RETURN_IF_ERROR(WriteFileAtomic(dir + "/spec.yaml", rec.spec_yaml));
  LaunchRequest req = RequestFor(rec, plan.attempt);
  req.pool = plan.pool;
  req.ranks = plan.ranks;
  req.pin_cpus = plan.pin_cpus;
  return launcher()->Launch(req);
}

void JobManager::RunLaunch(const LaunchPlan& plan) {
  WaitWritten(plan.job_id, plan.attempt_write);
  if (!plan.probe.empty() && opts_.prober) {
    // Before a world is placed on hosts: do they answer?
    const std::vector<Status> probes = ProbeAll(plan.probe);
    bool all_up = true;
    for (const Status& p : probes) all_up &= p.ok();
    if (!all_up) {
      Effects fx;
      {
        MutexLock lock(&mu_);
        HostsUnavailableLocked(plan, probes, &fx);
      }
      RunEffects(std::move(fx));
      Notify();
      Wake();
      return;
    }
  }
  StatusOr<WorldHandle> world = InternalError("launch ended by an exception (see the coordinator's log)");
  CatchAtThread("launching a world", [&] { world = StartWorld(plan); });
  Effects fx;
  {
    MutexLock lock(&mu_);
    CompleteLaunchLocked(plan, world, &fx);
  }
  RunEffects(std::move(fx));
  Notify();
  Wake();
}

void JobManager::SpawnThread(std::function<void()> fn) {
  MutexLock lock(&mu_);
  const uint64_t n = next_thread_++;
  threads_.emplace(n, std::thread([this, fn = std::move(fn), n] {
                     fn();
                     MutexLock done(&mu_);
                     finished_threads_.push_back(n);
                   }));
}

void JobManager::JoinFinishedThreads() {
  std::vector<std::thread> done;
  {
    MutexLock lock(&mu_);
    for (uint64_t n : finished_threads_) {
      auto it = threads_.find(n);
      if (it == threads_.end()) continue;
      done.push_back(std::move(it->second));
      threads_.erase(it);
    }
    finished_threads_.clear();
  }
  for (std::thread& t : done) t.join();  // they have returned (or are about to)
}

// --------------------------------------------------------------- recovery

Status JobManager::Recover() {
  ListQuery q;
  q.states = {v1::JOB_STATE_QUEUED, v1::JOB_STATE_ADMITTED, v1::JOB_STATE_STARTING, v1::JOB_STATE_RUNNING,
              v1::JOB_STATE_RESTARTING};
  q.limit = 500;
  for (;;) {
    FLYP_ASSIGN_OR_RETURN(std::vector<JobRecord> page, store()->ListJobs(q));
    if (page.empty()) break;
    q.after_seq = page.back().seq;
    for (const JobRecord& rec : page) {
      const std::string& id = rec.job.id();
      Effects fx;
      bool reserved = false;
      Status fits;
      {
        MutexLock lock(&mu_);
        if (jobs_.count(id)) continue;  // registered by a Submit meanwhile
        fits = scheduler_.CheckFits(GangFor(id, rec.seq, rec.job.spec()));
        // A QUEUED job may have a world already: one pending in the queue
        // of a launcher that admits gangs.
        if (rec.job.status().state() == v1::JOB_STATE_QUEUED && rec.world.empty()) {
          Job& j = RegisterLocked(rec);
          if (fits.ok()) {
            scheduler_.Enqueue(j.gang);
          } else {  // the cluster changed under it
            FinishLocked(id, j, v1::JOB_STATE_FAILED, "Unschedulable", fits.message(), &fx);
          }
        } else {
          reserved = scheduler_.Reserve(GangFor(id, rec.seq, rec.job.spec())).has_value();
        }
      }
      if (rec.job.status().state() == v1::JOB_STATE_QUEUED && rec.world.empty()) {
        RunEffects(std::move(fx));
        continue;
      }
      // The job had a world under the dead coordinator.
      const WorldHandle world = WorldHandle::FromText(rec.world);
      Recovery recovery = Recovery::kGone;
      if (!reserved) {  // the coordinator now has fewer slots: stop it and queue the job again
        if (!world.empty()) {
          Status s = launcher()->StopOrphan(world, opts_.grace_ms);
          if (!s.ok()) FLYP_LOG(ERROR) << id << ": " << s;
        }
      } else if (!world.empty()) {
        auto r = launcher()->Recover(world, RequestFor(rec, rec.attempt), opts_.grace_ms);
        if (r.ok()) {
          recovery = *r;
        } else {
          FLYP_LOG(ERROR) << id << ": recovering world " << world << ": " << r.status();
        }
      }
      {
        MutexLock lock(&mu_);
        Job& j = RegisterLocked(rec);
        AdoptPlacementLocked(id, j);
        JobUpdate u;
        if (!fits.ok()) {
          FinishLocked(id, j, v1::JOB_STATE_FAILED, "Unschedulable",
                       "world lost in a coordinator restart, and the gang no longer fits: " + fits.message(),
                       &fx);
        } else if (!reserved) {
          u.world = "";
          scheduler_.Enqueue(j.gang);
          TransitionLocked(id, j, v1::JOB_STATE_QUEUED, "CoordinatorRestarted",
                           "world lost in a coordinator restart; requeued", u, &fx);
        } else if (recovery == Recovery::kAdopted) {
          j.phase = Phase::kRunning;
          j.world = world;
          // The start timeout counts from the adoption (a RUNNING job's
          // rank 0 has reported already).
          j.launched_ms = clock_->NowMillis();
          // Allocated already (its admission was recorded): the deadline counts.
          if (j.state != v1::JOB_STATE_QUEUED) scheduler_.StartDeadline(id);
          FLYP_LOG(INFO) << id << ": world " << world << " of attempt " << j.attempt
                         << " re-attached after a coordinator restart";
        } else if (j.state == v1::JOB_STATE_QUEUED) {  // pending in the launcher, gone now
          u.world = "";
          scheduler_.Release(id);
          scheduler_.Enqueue(j.gang);
          TransitionLocked(id, j, v1::JOB_STATE_QUEUED, "CoordinatorRestarted",
                           "the launcher lost the pending world in a coordinator restart; requeued", u, &fx);
        } else {
          j.restarts += 1;  // not limited by backoff_limit: the job did not fail
          if (opts_.metrics) opts_.metrics->OnRestart();
          j.phase = Phase::kBackoff;
          j.restart_at_ms = clock_->NowMillis();
          u.restarts = j.restarts;
          u.world = "";
          TransitionLocked(id, j, v1::JOB_STATE_RESTARTING, "CoordinatorRestarted",
                           "world lost in a coordinator restart; resuming from the last checkpoint", u, &fx);
        }
      }
      RunEffects(std::move(fx));
    }
  }
  Wake();
  return Status::Ok();
}

// ------------------------------------------------------------ public calls

Status JobManager::CheckSubmittable(const v1::JobSpec& spec) {
  FLYP_RETURN_IF_ERROR(launcher()->CheckResources(spec.resources()));
  MutexLock lock(&mu_);
  return scheduler_.CheckFits(GangFor("", 0, spec));
}

StatusOr<v1::Job> JobManager::Submit(const v1::JobSpec& spec, const std::string& spec_yaml,
                                     const std::string& owner, const std::string& idempotency_key,
                                     const std::string& sweep_id) {
  FLYP_RETURN_IF_ERROR(CheckSubmittable(spec));
  NewJob nj;
  nj.spec = spec;
  nj.spec_yaml = spec_yaml;
  nj.owner = owner;
  nj.idempotency_key = OwnerScopedKey(owner, idempotency_key);
  nj.artifact_root = opts_.artifact_root;
  nj.worker_token = RandomToken();
  nj.create_time_ms = clock_->NowMillis();
  nj.sweep_id = sweep_id;
  bool created = false;
  FLYP_ASSIGN_OR_RETURN(JobRecord rec, store()->CreateJob(nj, &created));
  if (created) {
    {
      MutexLock lock(&mu_);
      if (!jobs_.count(rec.job.id())) {
        Job& j = RegisterLocked(rec);
        scheduler_.Enqueue(j.gang);
      }
      if (opts_.metrics) opts_.metrics->OnSubmitted();
    }
    FLYP_LOG(INFO) << rec.job.id() << ": submitted by " << owner;
    Notify();
    Wake();
  }
  return rec.job;
}

Status JobManager::NotActiveStatus(const std::string& id) {
  FLYP_ASSIGN_OR_RETURN(JobRecord rec, store()->GetJob(id));
  if (IsTerminal(rec.job.status().state())) {
    return FailedPreconditionError("job " + id + " already finished (" +
                                   v1::JobState_Name(rec.job.status().state()) + ")");
  }
  return UnavailableError("job " + id + " is not known to the job manager yet; retry");
}

Status JobManager::RequestCancel(const std::string& id, const std::string& reason) {
  return RequestStop(id, "UserCancelled", reason.empty() ? "cancelled by the user" : reason);
}

Status JobManager::RequestStop(const std::string& id, const std::string& reason_code,
                               const std::string& message) {
  uint64_t seen = version();
  for (int round = 0;; ++round) {
    Effects fx;
    bool known = false;
    {
      MutexLock lock(&mu_);
      auto it = jobs_.find(id);
      if (it != jobs_.end()) {
        known = true;
        RequestStopLocked(id, it->second, v1::JOB_STATE_CANCELLED, reason_code, message, &fx);
      }
    }
    if (known) {
      RunEffects(std::move(fx));
      Wake();
      return Status::Ok();
    }
    // Finished (its final write may still be draining), unknown, or being
    // registered by Submit or Recover right now.
    Status s = NotActiveStatus(id);
    if (s.code() != StatusCode::kUnavailable || round >= kRegisterWaitRounds) return s;
    seen = WaitForChange(seen, kRegisterWaitMs);
  }
}

StatusOr<v1::Job> JobManager::Cancel(const std::string& id, const std::string& reason) {
  FLYP_RETURN_IF_ERROR(RequestCancel(id, reason));
  const int64_t deadline = clock_->NowMillis() + opts_.grace_ms + 5000;
  uint64_t seen = version();
  for (;;) {
    FLYP_ASSIGN_OR_RETURN(JobRecord rec, store()->GetJob(id));
    if (IsTerminal(rec.job.status().state()) || clock_->NowMillis() >= deadline) return rec.job;
    seen = WaitForChange(seen, 200);
  }
}

std::optional<Status> JobManager::CheckWorkerLocked(const std::string& job_id, int attempt,
                                                    const std::string& token, bool* stop) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  const Job& j = it->second;
  if (!WorkerTokenMatches(token, j.worker_token)) return WorkerTokenMismatch(job_id);
  const bool has_world = j.phase == Phase::kLaunching || j.phase == Phase::kRunning;
  *stop = !has_world || j.attempt != attempt || j.stop.has_value();
  return Status::Ok();
}

Status JobManager::CheckFinishedWorker(const std::string& job_id, const std::string& token, bool* stop) {
  StatusOr<JobRecord> rec = store()->GetJob(job_id);
  if (!rec.ok() && rec.status().code() != StatusCode::kNotFound) return rec.status();
  // An unknown job answers exactly as a wrong token does: whether a job
  // exists is not told to a caller who cannot prove it runs it.
  if (!rec.ok() || !WorkerTokenMatches(token, rec->worker_token)) return WorkerTokenMismatch(job_id);
  *stop = true;
  return Status::Ok();
}

Status JobManager::ReportState(const v1::ReportStateRequest& req, const std::string& token, bool* stop) {
  Effects fx;
  std::optional<Status> checked;
  {
    MutexLock lock(&mu_);
    checked = CheckWorkerLocked(req.job_id(), req.attempt(), token, stop);
    // Only the current attempt of an unfinished job is listened to; a
    // superseded or stopping world is answered with stop.
    if (checked && checked->ok() && !*stop) {
      Job& j = jobs_.at(req.job_id());
      switch (req.phase()) {
        case v1::WORKER_PHASE_STARTED: {
          // Its launcher's allocation may not have been observed yet.
          if (j.state == v1::JOB_STATE_QUEUED)
            AdmittedByLauncherLocked(req.job_id(), j, "rank 0 started", clock_->NowMillis(), &fx);
          const v1::JobState s = j.state;
          if (s == v1::JOB_STATE_STARTING || s == v1::JOB_STATE_RESTARTING || s == v1::JOB_STATE_ADMITTED) {
            TransitionLocked(req.job_id(), j, v1::JOB_STATE_RUNNING, "WorkerStarted",
                             "attempt " + std::to_string(req.attempt()) +
                                 (req.message().empty() ? "" : ": " + req.message()),
                             {}, &fx);
          }
          break;
        }
        case v1::WORKER_PHASE_CHECKPOINT: {
          JobUpdate u;
          u.last_checkpoint = req.message();
          EnqueueWriteLocked(req.job_id(), u, std::nullopt, &fx);
          break;
        }
        case v1::WORKER_PHASE_COMPLETED:
          j.reported_completed = true;
          break;
        case v1::WORKER_PHASE_FAILED:
          j.reported_permanent = req.permanent();
          j.fail_message = req.message();
          if (req.collective_timeout() && j.timeout_report_ms < 0) {
            j.timeout_report_ms = clock_->NowMillis();
            FLYP_LOG(WARNING) << req.job_id() << ": rank " << req.rank() << " reports a collective timeout ("
                              << req.message() << "); the world is killed if it has not ended in "
                              << opts_.grace_ms << " ms";
          }
          break;
        default:
          return InvalidArgumentError("phase: unknown worker phase " + std::to_string(req.phase()));
      }
    }
  }
  // A finished (or unknown) job: the store knows its token.
  if (!checked) return CheckFinishedWorker(req.job_id(), token, stop);
  RunEffects(std::move(fx));
  return *checked;
}

Status JobManager::ReportProgress(const v1::ReportProgressRequest& req, const std::string& token,
                                  bool* stop) {
  std::optional<Status> checked;
  {
    MutexLock lock(&mu_);
    checked = CheckWorkerLocked(req.job_id(), req.attempt(), token, stop);
  }
  if (!checked) return CheckFinishedWorker(req.job_id(), token, stop);
  if (!checked->ok() || *stop) return *checked;
  v1::ProgressPoint p = req.progress();
  if (!p.has_time()) *p.mutable_time() = MillisToTimestamp(clock_->NowMillis());
  FLYP_RETURN_IF_ERROR(store()->AddProgress(req.job_id(), p));
  Notify();
  return Status::Ok();
}

}  // namespace flyp::coord
