#include "coordinator/sweep_manager.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/logging.h"
#include "common/spec/job_spec.h"
#include "coordinator/proto_time.h"
#include "coordinator/sweep_report.h"

namespace flyp::coord {
namespace {

// "61.2%" for a message.
std::string Pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * v);
  return buf;
}

std::string LastTransitionText(const v1::Job& job) {
  const auto& h = job.status().history();
  if (h.empty()) return "";
  const auto& t = *h.rbegin();
  return t.reason() + (t.message().empty() ? "" : ": " + t.message());
}

// How long RequestCancel waits for a sweep the store has and the manager
// does not know yet (a Submit or Recover registering it right now).
constexpr int kRegisterWaitRounds = 20;
constexpr int64_t kRegisterWaitMs = 100;

}  // namespace

std::string TrialJobKey(const std::string& sweep_id, int index) {
  return sweep_id + "/t" + std::to_string(index);
}

SweepManager::SweepManager(SweepManagerOptions opts, SweepStore* store, JobManager* jobs, const Clock* clock)
    : opts_(std::move(opts)), store_(store), jobs_(jobs), clock_(clock) {}

SweepManager::~SweepManager() { Stop(); }

uint64_t SweepManager::WaitForChange(uint64_t seen, int64_t timeout_ms) {
  return changes_.WaitForChange(seen, timeout_ms);
}

void SweepManager::Wake() {
  {
    MutexLock lock(&mu_);
    wake_pending_ = true;
  }
  wake_.SignalAll();
}

// ----------------------------------------------------------- store writes

void SweepManager::EnqueueLocked(const std::string& id, PendingWrite w, Effects* fx) {
  writes_[id].pending.push_back(std::move(w));
  fx->writes.push_back(id);
}

void SweepManager::DrainWrites(const std::string& id) {
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
    const Status s =
        w.sweep ? store()->UpdateSweep(id, *w.sweep) : store()->UpdateTrial(id, w.trial, w.trial_update);
    if (!s.ok()) {
      FLYP_LOG(ERROR) << id << ": cannot record "
                      << (w.sweep ? "a sweep update" : "trial " + std::to_string(w.trial)) << ": " << s;
    } else if (opts_.metrics) {
      if (w.sweep && w.sweep->transition)
        opts_.metrics->OnSweepTransition(v1::SWEEP_STATE_RUNNING, w.sweep->transition->state());
      if (!w.sweep && w.trial_update.state && w.before)
        opts_.metrics->OnTrialTransition(*w.before, *w.trial_update.state);
    }
    if (s.ok() && !w.sweep && w.trial_update.state) {
      FLYP_LOG(INFO) << id << " trial " << w.trial << ": " << v1::TrialState_Name(*w.trial_update.state)
                     << " " << w.trial_update.reason.value_or("")
                     << (w.trial_update.message && !w.trial_update.message->empty()
                             ? ": " + *w.trial_update.message
                             : "");
    }
    Notify();
    {
      MutexLock lock(&mu_);
      writes_.at(id).pending.pop_front();
    }
  }
}

void SweepManager::SetTrialStateLocked(const std::string& id, SweepMem& s, int trial, v1::TrialState state,
                                       const std::string& reason, const std::string& message,
                                       TrialUpdate extra, Effects* fx) {
  TrialMem& t = s.trials[trial];
  PendingWrite w;
  w.trial = trial;
  w.before = t.state;
  extra.state = state;
  extra.reason = reason;
  extra.message = message;
  w.trial_update = std::move(extra);
  t.state = state;
  EnqueueLocked(id, std::move(w), fx);
}

// ----------------------------------------------------------------- effects

void SweepManager::RunEffects(Effects fx) {
  for (const std::string& id : fx.writes) DrainWrites(id);
  for (const auto& [job, message] : fx.stops) {
    const Status s = jobs()->RequestStop(job, "EarlyStopped", message);
    if (!s.ok() && s.code() != StatusCode::kFailedPrecondition)
      FLYP_LOG(ERROR) << job << ": early stop: " << s;
  }
  for (const auto& [job, message] : fx.cancels) {
    const Status s = jobs()->RequestStop(job, "SweepCancelled", message);
    if (!s.ok() && s.code() != StatusCode::kFailedPrecondition) FLYP_LOG(ERROR) << job << ": cancel: " << s;
  }
  for (const Submission& sub : fx.submissions) SubmitTrial(sub);
  for (const Finish& f : fx.finishes) FinishSweep(f);
}

void SweepManager::SubmitTrial(const Submission& sub) {
  DrainWrites(sub.sweep_id);  // STARTING is in the store before the job can exist
  std::string owner;
  {
    MutexLock lock(&mu_);
    auto it = sweeps_.find(sub.sweep_id);
    if (it == sweeps_.end()) return;
    owner = it->second.owner;
  }
  StatusOr<v1::JobSpec> spec = store()->GetTrialSpec(sub.sweep_id, sub.trial);
  StatusOr<v1::Job> job = spec.ok() ? jobs()->Submit(*spec, JobSpecToYaml(*spec), owner,
                                                     TrialJobKey(sub.sweep_id, sub.trial), sub.sweep_id)
                                    : StatusOr<v1::Job>(spec.status());
  Effects fx;
  {
    MutexLock lock(&mu_);
    auto it = sweeps_.find(sub.sweep_id);
    if (it == sweeps_.end()) return;
    SweepMem& s = it->second;
    TrialMem& t = s.trials[sub.trial];
    t.submitting = false;
    if (job.ok()) {
      t.job_id = job->id();
      t.job_done = false;
      TrialUpdate u;
      u.job_id = job->id();
      SetTrialStateLocked(sub.sweep_id, s, sub.trial, v1::TRIAL_STATE_RUNNING, "Submitted",
                          "job " + job->id(), u, &fx);
    } else if (job.status().code() == StatusCode::kUnavailable) {
      FLYP_LOG(WARNING) << sub.sweep_id << " trial " << sub.trial << ": submitting: " << job.status()
                        << "; retrying";  // still STARTING: the next Step submits again
    } else {
      t.job_done = true;
      SetTrialStateLocked(sub.sweep_id, s, sub.trial, v1::TRIAL_STATE_FAILED, "SubmitFailed",
                          job.status().message(), {}, &fx);
    }
  }
  RunEffects(std::move(fx));
}

void SweepManager::FinishSweep(const Finish& f) {
  DrainWrites(f.sweep_id);  // the trials' final states first
  StatusOr<SweepRecord> rec = store()->GetSweep(f.sweep_id);
  if (rec.ok() && !rec->sweep.artifact_dir().empty()) {
    // The report before the final state: whoever sees the sweep end finds it.
    v1::Sweep done = rec->sweep;
    done.mutable_status()->set_state(f.state);
    const Status s = WriteSweepReport(done, jobs()->store(), done.artifact_dir());
    if (!s.ok()) FLYP_LOG(ERROR) << f.sweep_id << ": cannot write the sweep report: " << s;
  } else if (!rec.ok()) {
    FLYP_LOG(ERROR) << f.sweep_id << ": " << rec.status();
  }
  Effects fx;
  {
    MutexLock lock(&mu_);
    PendingWrite w;
    SweepUpdate u;
    v1::SweepTransition t;
    t.set_state(f.state);
    t.set_reason(f.reason);
    t.set_message(f.message);
    *t.mutable_time() = MillisToTimestamp(clock_->NowMillis());
    u.transition = t;
    u.end_time_ms = clock_->NowMillis();
    w.sweep = u;
    EnqueueLocked(f.sweep_id, std::move(w), &fx);
    sweeps_.erase(f.sweep_id);
  }
  FLYP_LOG(INFO) << f.sweep_id << ": " << v1::SweepState_Name(f.state) << " " << f.reason << ": "
                 << f.message;
  RunEffects(std::move(fx));
}

// --------------------------------------------------------------- observing

void SweepManager::Observe(Observation* o) {
  JobStore* js = jobs()->store();
  o->job = js->GetJob(o->job_id);
  if (!o->job.ok()) return;
  if (!o->metric.empty()) {
    auto points = js->GetProgress(o->job_id, o->progress_from);
    if (points.ok()) o->progress = std::move(points).value();
  }
  if (o->job->job.status().state() != v1::JOB_STATE_SUCCEEDED) return;
  StatusOr<report::RunReport> r = report::ReadReportJson(o->job->job.artifact_dir() + "/report.json");
  if (!r.ok()) {
    o->report_problem = r.status().message();
    return;
  }
  for (const report::SplitEval& e : r->finetuned) {
    if (e.split == o->objective_metric) o->objective = e.accuracy;
  }
  if (!o->objective) {
    o->report_problem =
        "report.json has no evaluation of the split '" + o->objective_metric + "' (the objective)";
  }
}

void SweepManager::JudgeRungLocked(const std::string& id, SweepMem& s, int trial, int epoch, double value,
                                   bool may_stop, Effects* fx) {
  const auto& es = s.spec.early_stopping();
  const int eta = std::max(2, es.reduction_factor());
  int rung = -1;
  int64_t r = std::max(1, es.min_epochs());
  for (int k = 0; r <= epoch; ++k, r *= eta) {
    if (r == epoch) rung = k;
  }
  TrialMem& t = s.trials[trial];
  if (rung < 0 || t.rungs.count(rung)) return;
  std::vector<double>& recorded = s.rung_values[t.group][rung];
  const bool max = s.spec.objective().goal() != v1::OBJECTIVE_GOAL_MINIMIZE;
  const int n = static_cast<int>(recorded.size()) + 1;
  const int keep = (n + eta - 1) / eta;
  int better = 0;
  for (double v : recorded) better += max ? v > value : v < value;
  recorded.push_back(value);
  t.rungs.insert(rung);
  TrialUpdate u;
  v1::RungValue rv;
  rv.set_rung(rung);
  rv.set_epoch(epoch);
  rv.set_value(value);
  u.add_rung = rv;
  if (!may_stop || better < keep) {
    PendingWrite w;
    w.trial = trial;
    w.trial_update = u;
    EnqueueLocked(id, std::move(w), fx);
    return;
  }
  std::vector<double> all = recorded;
  std::sort(all.begin(), all.end(), [max](double a, double b) { return max ? a > b : a < b; });
  const std::string message = "successive halving at rung " + std::to_string(rung) + " (epoch " +
                              std::to_string(epoch) + "): " + es.metric() + " " + Pct(value) + " ranks " +
                              std::to_string(better + 1) + " of " + std::to_string(n) + " in its group" +
                              (t.group.empty() ? "" : " (" + t.group + ")") + "; only the best " +
                              std::to_string(keep) + " continue (cutoff " + Pct(all[keep - 1]) + ")";
  SetTrialStateLocked(id, s, trial, v1::TRIAL_STATE_EARLY_STOPPED, "EarlyStopped", message, u, fx);
  t.stop_sent = true;
  fx->stops.emplace_back(t.job_id, message);
}

void SweepManager::ApplyObservationLocked(const Observation& o, Effects* fx) {
  auto it = sweeps_.find(o.sweep_id);
  if (it == sweeps_.end()) return;
  SweepMem& s = it->second;
  TrialMem& t = s.trials[o.trial];
  if (t.job_id != o.job_id || t.job_done) return;
  if (!o.job.ok()) {
    if (o.job.status().code() != StatusCode::kNotFound) return;  // try again next time
    t.job_done = true;
    if (!IsTerminal(t.state)) {
      SetTrialStateLocked(o.sweep_id, s, o.trial, v1::TRIAL_STATE_FAILED, "JobLost", o.job.status().message(),
                          {}, fx);
    }
    return;
  }
  const v1::Job& job = o.job->job;
  const bool done = IsTerminal(job.status().state());
  t.progress_seen += static_cast<int64_t>(o.progress.size());
  const auto& es = s.spec.early_stopping();
  if (es.method() == v1::EARLY_STOPPING_METHOD_SUCCESSIVE_HALVING) {
    for (const v1::ProgressPoint& p : o.progress) {
      if (p.epoch() <= 0) continue;
      auto acc = p.eval_accuracy().find(es.metric());
      if (acc == p.eval_accuracy().end()) continue;
      // A finished job's values are recorded for its group but never stop it.
      JudgeRungLocked(o.sweep_id, s, o.trial, p.epoch(), acc->second,
                      !done && t.state == v1::TRIAL_STATE_RUNNING, fx);
    }
  }
  if (!done) return;
  t.job_done = true;
  if (IsTerminal(t.state)) return;  // early-stopped: recorded when decided
  switch (job.status().state()) {
    case v1::JOB_STATE_SUCCEEDED:
      if (o.objective) {
        TrialUpdate u;
        u.objective = *o.objective;
        SetTrialStateLocked(o.sweep_id, s, o.trial, v1::TRIAL_STATE_SUCCEEDED, "Completed",
                            s.spec.objective().metric() + " " + Pct(*o.objective), u, fx);
      } else {
        SetTrialStateLocked(o.sweep_id, s, o.trial, v1::TRIAL_STATE_FAILED, "ReportUnreadable",
                            o.report_problem, {}, fx);
      }
      return;
    case v1::JOB_STATE_FAILED:
      SetTrialStateLocked(o.sweep_id, s, o.trial, v1::TRIAL_STATE_FAILED, "JobFailed",
                          LastTransitionText(job), {}, fx);
      return;
    default:
      SetTrialStateLocked(o.sweep_id, s, o.trial, v1::TRIAL_STATE_CANCELLED,
                          s.cancel_requested ? "SweepCancelled" : "JobCancelled", LastTransitionText(job), {},
                          fx);
      return;
  }
}

void SweepManager::PlanLocked(const std::string& id, SweepMem& s, Effects* fx) {
  if (s.finishing) return;
  auto active = [](const TrialMem& t) {
    return t.state == v1::TRIAL_STATE_STARTING || (!t.job_id.empty() && !t.job_done);
  };
  // A recovered STARTING trial may have a job already: submitting it again
  // with its key finds that job (also when the sweep is being cancelled, so
  // such a job is stopped, not left behind).
  for (size_t i = 0; i < s.trials.size(); ++i) {
    TrialMem& t = s.trials[i];
    if (t.state == v1::TRIAL_STATE_STARTING && !t.submitting) {
      t.submitting = true;
      fx->submissions.push_back({id, static_cast<int>(i)});
    }
  }
  if (s.cancel_requested) {
    for (size_t i = 0; i < s.trials.size(); ++i) {
      TrialMem& t = s.trials[i];
      if (t.state == v1::TRIAL_STATE_PENDING) {
        SetTrialStateLocked(id, s, static_cast<int>(i), v1::TRIAL_STATE_CANCELLED, "SweepCancelled",
                            s.cancel_message, {}, fx);
      } else if (!t.job_id.empty() && !t.job_done && !t.stop_sent) {
        t.stop_sent = true;
        fx->cancels.emplace_back(t.job_id, "sweep " + id + " cancelled: " + s.cancel_message);
      }
    }
  } else {
    int n = 0;
    for (const TrialMem& t : s.trials) n += active(t);
    for (size_t i = 0; i < s.trials.size() && n < s.spec.max_concurrent_trials(); ++i) {
      TrialMem& t = s.trials[i];
      if (t.state != v1::TRIAL_STATE_PENDING) continue;
      SetTrialStateLocked(id, s, static_cast<int>(i), v1::TRIAL_STATE_STARTING, "Starting", "", {}, fx);
      t.submitting = true;
      fx->submissions.push_back({id, static_cast<int>(i)});
      ++n;
    }
  }
  int succeeded = 0, failed = 0, stopped = 0, cancelled = 0;
  for (const TrialMem& t : s.trials) {
    if (!IsTerminal(t.state) || active(t)) return;
    succeeded += t.state == v1::TRIAL_STATE_SUCCEEDED;
    failed += t.state == v1::TRIAL_STATE_FAILED;
    stopped += t.state == v1::TRIAL_STATE_EARLY_STOPPED;
    cancelled += t.state == v1::TRIAL_STATE_CANCELLED;
  }
  s.finishing = true;
  Finish f;
  f.sweep_id = id;
  f.message = std::to_string(succeeded) + " succeeded, " + std::to_string(failed) + " failed, " +
              std::to_string(stopped) + " early-stopped, " + std::to_string(cancelled) + " cancelled";
  if (s.cancel_requested) {
    f.state = v1::SWEEP_STATE_CANCELLED;
    f.reason = "UserCancelled";
    f.message = s.cancel_message + " (" + f.message + ")";
  } else if (succeeded > 0) {
    f.state = v1::SWEEP_STATE_SUCCEEDED;
    f.reason = "Completed";
  } else {
    f.state = v1::SWEEP_STATE_FAILED;
    f.reason = "NoTrialSucceeded";
  }
  fx->finishes.push_back(std::move(f));
}

// -------------------------------------------------------------------- loop

Status SweepManager::Start() {
  FLYP_RETURN_IF_ERROR(Recover());
  {
    MutexLock lock(&mu_);
    stop_ = false;
  }
  loop_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void SweepManager::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  wake_.SignalAll();
  if (loop_.joinable()) loop_.join();
}

void SweepManager::Loop() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (stop_) return;
      wake_pending_ = false;
    }
    Step();
    MutexLock lock(&mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.tick_ms);
    while (!stop_ && !wake_pending_ && wake_.WaitUntil(&mu_, deadline)) {
    }
  }
}

void SweepManager::Step() {
  std::vector<Observation> obs;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, s] : sweeps_) {
      const bool sh = s.spec.early_stopping().method() == v1::EARLY_STOPPING_METHOD_SUCCESSIVE_HALVING;
      for (size_t i = 0; i < s.trials.size(); ++i) {
        const TrialMem& t = s.trials[i];
        if (t.job_id.empty() || t.job_done) continue;
        Observation o;
        o.sweep_id = id;
        o.trial = static_cast<int>(i);
        o.job_id = t.job_id;
        o.progress_from = t.progress_seen;
        if (sh) o.metric = s.spec.early_stopping().metric();
        o.objective_metric = s.spec.objective().metric();
        obs.push_back(std::move(o));
      }
    }
  }
  for (Observation& o : obs) Observe(&o);
  Effects fx;
  {
    MutexLock lock(&mu_);
    for (const Observation& o : obs) ApplyObservationLocked(o, &fx);
    for (auto& [id, s] : sweeps_) PlanLocked(id, s, &fx);
  }
  RunEffects(std::move(fx));
}

// ---------------------------------------------------------------- recovery

SweepManager::SweepMem SweepManager::RegisterFrom(const SweepRecord& rec) const {
  SweepMem s;
  const v1::Sweep& w = rec.sweep;
  s.owner = w.owner();
  s.spec = w.spec();
  s.cancel_requested = w.status().cancel_requested();
  for (const v1::Trial& t : w.trials()) {
    TrialMem m;
    m.state = t.state();
    m.job_id = t.job_id();
    m.group = t.group();
    // SUCCEEDED, FAILED and CANCELLED are recorded once the job ended; an
    // EARLY_STOPPED trial's job may still be stopping.
    m.job_done = m.job_id.empty() || (IsTerminal(t.state()) && t.state() != v1::TRIAL_STATE_EARLY_STOPPED);
    m.stop_sent = t.state() == v1::TRIAL_STATE_EARLY_STOPPED;
    for (const v1::RungValue& r : t.rungs()) {
      m.rungs.insert(r.rung());
      s.rung_values[m.group][r.rung()].push_back(r.value());
    }
    s.trials.push_back(std::move(m));
  }
  if (s.cancel_requested) {
    const auto& h = w.status().history();
    for (auto it = h.rbegin(); it != h.rend(); ++it) {
      if (it->reason() == "CancelRequested") {
        s.cancel_message = it->message();
        break;
      }
    }
  }
  return s;
}

Status SweepManager::Recover() {
  SweepQuery q;
  q.states = {v1::SWEEP_STATE_RUNNING};
  q.limit = 100;
  for (;;) {
    FLYP_ASSIGN_OR_RETURN(std::vector<SweepRecord> page, store()->ListSweeps(q));
    if (page.empty()) break;
    q.after_seq = page.back().seq;
    MutexLock lock(&mu_);
    for (const SweepRecord& rec : page) {
      if (sweeps_.count(rec.sweep.id())) continue;
      sweeps_[rec.sweep.id()] = RegisterFrom(rec);
      FLYP_LOG(INFO) << rec.sweep.id() << ": resumed after a coordinator restart";
    }
  }
  Wake();
  return Status::Ok();
}

// ------------------------------------------------------------ public calls

StatusOr<v1::Sweep> SweepManager::Submit(const SweepLoad& load, const std::string& owner,
                                         const std::string& idempotency_key) {
  if (!load.ok()) return SweepLoadStatus(load);
  NewSweep ns;
  ns.spec = load.spec;
  ns.owner = owner;
  ns.idempotency_key = OwnerScopedKey(owner, idempotency_key);  // per owner, like jobs'
  ns.artifact_root = opts_.artifact_root;
  ns.create_time_ms = clock_->NowMillis();
  for (const TrialPlan& p : load.trials) {
    NewTrial t;
    t.trial.set_index(p.index);
    for (const auto& param : p.parameters) *t.trial.add_parameters() = param;
    t.trial.set_group(p.group);
    t.spec = p.spec;
    ns.trials.push_back(std::move(t));
  }
  bool created = false;
  FLYP_ASSIGN_OR_RETURN(SweepRecord rec, store()->CreateSweep(ns, &created));
  if (created) {
    {
      MutexLock lock(&mu_);
      if (!sweeps_.count(rec.sweep.id())) sweeps_[rec.sweep.id()] = RegisterFrom(rec);
    }
    if (opts_.metrics) opts_.metrics->OnSweepSubmitted(rec.sweep.trials_size());
    FLYP_LOG(INFO) << rec.sweep.id() << ": submitted by " << owner << " with " << rec.sweep.trials_size()
                   << " trials";
    Notify();
    Wake();
  }
  return rec.sweep;
}

Status SweepManager::RequestCancel(const std::string& id, const std::string& reason) {
  const std::string message = reason.empty() ? "cancelled by the user" : reason;
  uint64_t seen = version();
  for (int round = 0;; ++round) {
    Effects fx;
    bool known = false;
    {
      MutexLock lock(&mu_);
      auto it = sweeps_.find(id);
      if (it != sweeps_.end()) {
        known = true;
        SweepMem& s = it->second;
        if (!s.cancel_requested && !s.finishing) {
          s.cancel_requested = true;
          s.cancel_message = message;
          PendingWrite w;
          SweepUpdate u;
          v1::SweepTransition t;
          t.set_state(v1::SWEEP_STATE_RUNNING);
          t.set_reason("CancelRequested");
          t.set_message(message);
          *t.mutable_time() = MillisToTimestamp(clock_->NowMillis());
          u.transition = t;
          u.cancel_requested = true;
          w.sweep = u;
          EnqueueLocked(id, std::move(w), &fx);
        }
      }
    }
    if (known) {
      RunEffects(std::move(fx));  // the cancel is in the store once this returns
      Wake();
      return Status::Ok();
    }
    StatusOr<SweepRecord> rec = store()->GetSweep(id);
    if (!rec.ok()) return rec.status();
    if (IsTerminal(rec->sweep.status().state())) {
      return FailedPreconditionError("sweep " + id + " already finished (" +
                                     v1::SweepState_Name(rec->sweep.status().state()) + ")");
    }
    if (round >= kRegisterWaitRounds)
      return UnavailableError("sweep " + id + " is not known to the sweep manager yet; retry");
    seen = WaitForChange(seen, kRegisterWaitMs);
  }
}

StatusOr<v1::Sweep> SweepManager::Cancel(const std::string& id, const std::string& reason) {
  FLYP_RETURN_IF_ERROR(RequestCancel(id, reason));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.cancel_wait_ms);
  uint64_t seen = version();
  for (;;) {
    FLYP_ASSIGN_OR_RETURN(SweepRecord rec, store()->GetSweep(id));
    if (IsTerminal(rec.sweep.status().state()) || std::chrono::steady_clock::now() >= deadline)
      return rec.sweep;
    seen = WaitForChange(seen, 200);
  }
}

}  // namespace flyp::coord
