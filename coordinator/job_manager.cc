#include "coordinator/job_manager.h"

#include <filesystem>
#include <random>

#include "common/file_util.h"
#include "common/logging.h"
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

}  // namespace

JobManager::JobManager(JobManagerOptions opts, JobStore* store, Launcher* launcher, const Clock* clock)
    : opts_(std::move(opts)),
      store_(store),
      launcher_(launcher),
      clock_(clock),
      scheduler_(opts_.capacity, clock) {}

JobManager::~JobManager() { Stop(); }

void JobManager::Notify() {
  {
    std::lock_guard<std::mutex> lock(change_mu_);
    ++version_;
  }
  changed_.notify_all();
}

uint64_t JobManager::WaitForChange(uint64_t seen, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(change_mu_);
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return version_.load() != seen; });
  return version_.load();
}

Status JobManager::TransitionLocked(const std::string& id, v1::JobState state, const std::string& reason,
                                    const std::string& message, JobUpdate extra) {
  v1::StateTransition t;
  t.set_state(state);
  t.set_reason(reason);
  t.set_message(message);
  *t.mutable_time() = MillisToTimestamp(clock_->NowMillis());
  extra.transition = t;
  std::optional<v1::JobState> before;
  if (opts_.metrics) {
    auto rec = store_->GetJob(id);
    if (rec.ok()) before = rec->job.status().state();
  }
  Status s = store_->UpdateJob(id, extra);
  if (s.ok() && opts_.metrics) opts_.metrics->OnTransition(before, state);
  if (!s.ok()) FLYP_LOG(ERROR) << id << ": cannot record " << v1::JobState_Name(state) << ": " << s;
  FLYP_LOG(INFO) << id << ": " << v1::JobState_Name(state) << " " << reason << (message.empty() ? "" : ": ")
                 << message;
  Notify();
  return s;
}

void JobManager::FinishLocked(const std::string& id, v1::JobState state, const std::string& reason,
                              const std::string& message) {
  JobUpdate u;
  u.end_time_ms = clock_->NowMillis();
  u.pgid = 0;
  (void)TransitionLocked(id, state, reason, message, u);
  scheduler_.Release(id);
  scheduler_.Dequeue(id);
  active_.erase(id);
}

Status JobManager::Start() {
  ListQuery q;
  q.states = {v1::JOB_STATE_QUEUED, v1::JOB_STATE_ADMITTED, v1::JOB_STATE_STARTING, v1::JOB_STATE_RUNNING,
              v1::JOB_STATE_RESTARTING};
  q.limit = 500;
  std::lock_guard<std::mutex> lock(mu_);
  for (;;) {
    FLYP_ASSIGN_OR_RETURN(std::vector<JobRecord> page, store_->ListJobs(q));
    if (page.empty()) break;
    q.after_seq = page.back().seq;
    for (const JobRecord& rec : page) {
      const std::string& id = rec.job.id();
      GangRequest gang = GangFor(id, rec.seq, rec.job.spec());
      if (rec.job.status().state() == v1::JOB_STATE_QUEUED) {
        scheduler_.Enqueue(gang);
        continue;
      }
      if (rec.pgid > 0) {
        Status s = launcher_->StopOrphan(rec.pgid, opts_.grace_ms);
        if (!s.ok()) FLYP_LOG(ERROR) << id << ": " << s;
      }
      Active a;
      a.gang = gang;
      a.attempt = rec.attempt;
      a.restarts = rec.job.status().restarts() + 1;
      a.backoff_limit = rec.job.spec().run_policy().backoff_limit();
      JobUpdate u;
      u.pgid = 0;
      if (!scheduler_.Reserve(gang)) {  // the coordinator now has fewer slots
        scheduler_.Enqueue(gang);
        (void)TransitionLocked(id, v1::JOB_STATE_QUEUED, "CoordinatorRestarted",
                               "world lost in a coordinator restart; requeued", u);
        continue;
      }
      u.restarts = a.restarts;
      if (opts_.metrics) opts_.metrics->OnRestart();
      a.restart_at_ms = clock_->NowMillis();
      (void)TransitionLocked(id, v1::JOB_STATE_RESTARTING, "CoordinatorRestarted",
                             "world lost in a coordinator restart; resuming from the last checkpoint", u);
      active_[id] = a;
    }
  }
  stop_ = false;
  loop_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void JobManager::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (loop_.joinable()) loop_.join();
}

void JobManager::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    TickLocked();
    wake_.wait_for(lock, std::chrono::milliseconds(opts_.tick_ms));
  }
}

void JobManager::TickLocked() {
  const int64_t now = clock_->NowMillis();
  std::vector<std::string> ids;
  for (const auto& [id, a] : active_) ids.push_back(id);
  for (const std::string& id : ids) {
    auto it = active_.find(id);
    if (it == active_.end()) continue;
    Active& a = it->second;
    if (a.world) {
      if (auto exit = launcher_->Poll(a.world)) {
        OnWorldExitLocked(id, a, *exit);
        continue;
      }
      if (a.stopping && !a.killed && now - a.term_ms >= opts_.grace_ms) {
        FLYP_LOG(WARNING) << id << ": world still alive after the grace period; killing it";
        launcher_->Stop(a.world, /*force=*/true);
        a.killed = true;
      }
    } else if (a.restart_at_ms >= 0 && now >= a.restart_at_ms) {
      a.restart_at_ms = -1;
      Status s = LaunchLocked(id, a);
      if (!s.ok()) FinishLocked(id, v1::JOB_STATE_FAILED, "LaunchFailed", s.message());
    }
  }
  for (const std::string& id : scheduler_.Expired()) {
    auto it = active_.find(id);
    if (it == active_.end() || it->second.stopping) continue;
    RequestStopLocked(id, it->second, v1::JOB_STATE_FAILED, "DeadlineExceeded",
                      "run_policy.active_deadline of " +
                          std::to_string(it->second.gang.active_deadline_ms / 1000) + "s passed");
  }
  for (const GangRequest& g : scheduler_.Admit()) {
    auto rec = store_->GetJob(g.job_id);
    if (!rec.ok()) {
      FLYP_LOG(ERROR) << rec.status();
      scheduler_.Release(g.job_id);
      continue;
    }
    Active& a = active_[g.job_id];
    a.gang = g;
    a.attempt = rec->attempt;
    a.restarts = rec->job.status().restarts();
    a.backoff_limit = rec->job.spec().run_policy().backoff_limit();
    if (opts_.metrics && rec->attempt == 0) {
      opts_.metrics->ObserveQueueWait((now - TimestampToMillis(rec->job.status().create_time())) / 1000.0);
    }
    (void)TransitionLocked(
        g.job_id, v1::JOB_STATE_ADMITTED, "GangAdmitted",
        std::to_string(g.units) + (g.device == v1::DEVICE_CUDA ? " GPUs" : " CPU slots") + " reserved");
    (void)TransitionLocked(g.job_id, v1::JOB_STATE_STARTING, "Launching", "");
    Status s = LaunchLocked(g.job_id, a);
    if (!s.ok()) FinishLocked(g.job_id, v1::JOB_STATE_FAILED, "LaunchFailed", s.message());
  }
  if (opts_.metrics) {
    opts_.metrics->SetSlots(false, scheduler_.free(v1::DEVICE_CPU), scheduler_.used(v1::DEVICE_CPU));
    opts_.metrics->SetSlots(true, scheduler_.free(v1::DEVICE_CUDA), scheduler_.used(v1::DEVICE_CUDA));
  }
}

Status JobManager::LaunchLocked(const std::string& id, Active& a) {
  FLYP_ASSIGN_OR_RETURN(JobRecord rec, store_->GetJob(id));
  namespace fs = std::filesystem;
  const std::string dir = rec.job.artifact_dir();
  std::error_code ec;
  fs::create_directories(dir + "/logs", ec);
  if (ec) return UnavailableError("cannot create '" + dir + "/logs': " + ec.message());
  FLYP_RETURN_IF_ERROR(WriteFileAtomic(dir + "/spec.yaml", rec.spec_yaml));
  LaunchRequest req;
  req.job_id = id;
  req.attempt = std::max(a.attempt, rec.attempt) + 1;
  req.world_size = rec.job.spec().resources().world_size();
  req.threads_per_rank = rec.job.spec().resources().threads_per_rank();
  req.cuda = rec.job.spec().resources().device() == v1::DEVICE_CUDA;
  req.slots_per_rank = std::max(1, rec.job.spec().resources().slots_per_rank());
  req.spec_path = dir + "/spec.yaml";
  req.artifact_dir = dir;
  req.log_path = dir + "/logs/world.log";
  req.coordinator_address = opts_.coordinator_address;
  req.worker_token = rec.worker_token;
  FLYP_ASSIGN_OR_RETURN(int64_t world, launcher_->Launch(req));
  a.world = world;
  a.attempt = req.attempt;
  a.stopping = a.killed = false;
  a.reported_completed = a.reported_permanent = false;
  a.fail_message.clear();
  JobUpdate u;
  u.attempt = a.attempt;
  u.pgid = world;
  if (!rec.job.status().has_start_time()) u.start_time_ms = clock_->NowMillis();
  FLYP_RETURN_IF_ERROR(store_->UpdateJob(id, u));
  FLYP_LOG(INFO) << id << ": attempt " << a.attempt << " launched as world " << world;
  Notify();
  return Status::Ok();
}

void JobManager::OnWorldExitLocked(const std::string& id, Active& a, const WorldExit& exit) {
  a.world = 0;
  if (a.stopping) {
    FinishLocked(id, a.stop_state, a.stop_reason, a.stop_message);
    return;
  }
  ExitClass c = a.reported_completed ? ExitClass::kSucceeded : ClassifyExit(exit, a.reported_permanent);
  std::string what = "world exited: " + exit.ToString();
  if (!a.fail_message.empty()) what += "; worker said: " + a.fail_message;
  switch (c) {
    case ExitClass::kSucceeded:
      FinishLocked(id, v1::JOB_STATE_SUCCEEDED, "Completed", exit.exit_code ? what : "");
      return;
    case ExitClass::kPermanent:
      FinishLocked(id, v1::JOB_STATE_FAILED, "PermanentFailure", what + " (retrying cannot help)");
      return;
    case ExitClass::kRetryable:
      break;
  }
  if (a.restarts >= a.backoff_limit) {
    FinishLocked(id, v1::JOB_STATE_FAILED, "BackoffLimitExceeded",
                 what + "; run_policy.backoff_limit " + std::to_string(a.backoff_limit) + " reached");
    return;
  }
  ++a.restarts;
  if (opts_.metrics) opts_.metrics->OnRestart();
  int64_t delay = BackoffMillis(a.restarts, opts_.backoff_base_ms, opts_.backoff_max_ms);
  a.restart_at_ms = clock_->NowMillis() + delay;
  JobUpdate u;
  u.restarts = a.restarts;
  u.pgid = 0;
  (void)TransitionLocked(id, v1::JOB_STATE_RESTARTING, "RankExited",
                         what + "; restart " + std::to_string(a.restarts) + " of " +
                             std::to_string(a.backoff_limit) + " in " + std::to_string(delay) +
                             " ms from the last checkpoint",
                         u);
}

void JobManager::RequestStopLocked(const std::string& id, Active& a, v1::JobState final_state,
                                   const std::string& reason, const std::string& message) {
  if (!a.world) {  // waiting for a restart: nothing to stop
    FinishLocked(id, final_state, reason, message);
    return;
  }
  a.stopping = true;
  a.stop_state = final_state;
  a.stop_reason = reason;
  a.stop_message = message;
  a.term_ms = clock_->NowMillis();
  launcher_->Stop(a.world, /*force=*/false);
  FLYP_LOG(INFO) << id << ": stopping world " << a.world << " (" << reason << ")";
  wake_.notify_all();
}

StatusOr<v1::Job> JobManager::Submit(const v1::JobSpec& spec, const std::string& spec_yaml,
                                     const std::string& owner, const std::string& idempotency_key) {
  FLYP_RETURN_IF_ERROR(scheduler_.CheckFits(GangFor("", 0, spec)));  // capacity is immutable: no lock needed
  NewJob nj;
  nj.spec = spec;
  nj.spec_yaml = spec_yaml;
  nj.owner = owner;
  nj.idempotency_key = idempotency_key;
  nj.artifact_root = opts_.artifact_root;
  nj.worker_token = RandomToken();
  nj.create_time_ms = clock_->NowMillis();
  bool created = false;
  FLYP_ASSIGN_OR_RETURN(JobRecord rec, store_->CreateJob(nj, &created));
  if (created) {
    std::lock_guard<std::mutex> lock(mu_);
    scheduler_.Enqueue(GangFor(rec.job.id(), rec.seq, rec.job.spec()));
    if (opts_.metrics) opts_.metrics->OnSubmitted();
    FLYP_LOG(INFO) << rec.job.id() << ": submitted by " << owner;
    Notify();
  }
  wake_.notify_all();
  return rec.job;
}

StatusOr<v1::Job> JobManager::Cancel(const std::string& id, const std::string& reason) {
  const std::string message = reason.empty() ? "cancelled by the user" : reason;
  {
    std::lock_guard<std::mutex> lock(mu_);
    FLYP_ASSIGN_OR_RETURN(JobRecord rec, store_->GetJob(id));
    if (IsTerminal(rec.job.status().state())) {
      return FailedPreconditionError("job " + id + " already finished (" +
                                     v1::JobState_Name(rec.job.status().state()) + ")");
    }
    auto it = active_.find(id);
    if (it != active_.end()) {
      if (!it->second.stopping)
        RequestStopLocked(id, it->second, v1::JOB_STATE_CANCELLED, "UserCancelled", message);
    } else {
      FinishLocked(id, v1::JOB_STATE_CANCELLED, "UserCancelled", message);
    }
  }
  const int64_t deadline = clock_->NowMillis() + opts_.grace_ms + 5000;
  uint64_t seen = version();
  for (;;) {
    FLYP_ASSIGN_OR_RETURN(JobRecord rec, store_->GetJob(id));
    if (IsTerminal(rec.job.status().state()) || clock_->NowMillis() >= deadline) return rec.job;
    seen = WaitForChange(seen, 200);
  }
}

Status JobManager::CheckWorker(const std::string& job_id, int attempt, const std::string& token, bool* stop) {
  FLYP_ASSIGN_OR_RETURN(JobRecord rec, store_->GetJob(job_id));
  if (token.empty() || token != rec.worker_token) {
    return PermissionDeniedError("worker token does not match job " + job_id);
  }
  auto it = active_.find(job_id);
  *stop = it == active_.end() || it->second.attempt != attempt || it->second.stopping;
  return Status::Ok();
}

Status JobManager::ReportState(const v1::ReportStateRequest& req, const std::string& token, bool* stop) {
  std::lock_guard<std::mutex> lock(mu_);
  FLYP_RETURN_IF_ERROR(CheckWorker(req.job_id(), req.attempt(), token, stop));
  if (*stop) return Status::Ok();  // a superseded or stopping world: ignore what it says
  Active& a = active_.at(req.job_id());
  switch (req.phase()) {
    case v1::WORKER_PHASE_STARTED: {
      FLYP_ASSIGN_OR_RETURN(JobRecord rec, store_->GetJob(req.job_id()));
      v1::JobState s = rec.job.status().state();
      if (s == v1::JOB_STATE_STARTING || s == v1::JOB_STATE_RESTARTING || s == v1::JOB_STATE_ADMITTED) {
        JobUpdate u;
        u.expect_state = s;
        (void)TransitionLocked(
            req.job_id(), v1::JOB_STATE_RUNNING, "WorkerStarted",
            "attempt " + std::to_string(req.attempt()) + (req.message().empty() ? "" : ": " + req.message()),
            u);
      }
      return Status::Ok();
    }
    case v1::WORKER_PHASE_CHECKPOINT: {
      JobUpdate u;
      u.last_checkpoint = req.message();
      FLYP_RETURN_IF_ERROR(store_->UpdateJob(req.job_id(), u));
      Notify();
      return Status::Ok();
    }
    case v1::WORKER_PHASE_COMPLETED:
      a.reported_completed = true;
      return Status::Ok();
    case v1::WORKER_PHASE_FAILED:
      a.reported_permanent = req.permanent();
      a.fail_message = req.message();
      return Status::Ok();
    default:
      return InvalidArgumentError("phase: unknown worker phase " + std::to_string(req.phase()));
  }
}

Status JobManager::ReportProgress(const v1::ReportProgressRequest& req, const std::string& token,
                                  bool* stop) {
  std::lock_guard<std::mutex> lock(mu_);
  FLYP_RETURN_IF_ERROR(CheckWorker(req.job_id(), req.attempt(), token, stop));
  if (*stop) return Status::Ok();
  v1::ProgressPoint p = req.progress();
  if (!p.has_time()) *p.mutable_time() = MillisToTimestamp(clock_->NowMillis());
  FLYP_RETURN_IF_ERROR(store_->AddProgress(req.job_id(), p));
  Notify();
  return Status::Ok();
}

}  // namespace flyp::coord
