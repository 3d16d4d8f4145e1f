#include "worker/report/observer.h"

namespace flyp::report {

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kStarted:
      return "started";
    case Phase::kCheckpoint:
      return "checkpoint";
    case Phase::kCompleted:
      return "completed";
    case Phase::kFailed:
      return "failed";
  }
  return "unknown";
}

ObserverFanout::ObserverFanout(int64_t global_batch)
    : global_batch_(global_batch), start_(std::chrono::steady_clock::now()) {}

void ObserverFanout::Add(TrainObserver* observer, Steps steps) {
  if (observer == nullptr) return;
  (steps == Steps::kEvery ? every_ : logged_).push_back(observer);
}

void ObserverFanout::Add(std::unique_ptr<TrainObserver> observer, Steps steps) {
  if (observer == nullptr) return;
  Add(observer.get(), steps);
  owned_.push_back(std::move(observer));
}

void ObserverFanout::OnStep(const StepProgress& p) {
  for (TrainObserver* o : every_) o->OnStep(p);
  if (!p.logged || logged_.empty()) return;
  // Rate and ETA over the logged steps (the intervals output shows).
  StepProgress q = p;
  const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  eta_.Observe(p.step, now, p.step * global_batch_);
  if (eta_.has_rate()) q.samples_per_second = eta_.samples_per_second();
  q.eta_seconds = eta_.EtaSeconds(p.total_steps);
  for (TrainObserver* o : logged_) o->OnStep(q);
}

void ObserverFanout::OnEval(const EvalEvent& e) {
  for (TrainObserver* o : every_) o->OnEval(e);
  for (TrainObserver* o : logged_) o->OnEval(e);
}

void ObserverFanout::OnPhase(const PhaseEvent& e) {
  for (TrainObserver* o : every_) o->OnPhase(e);
  for (TrainObserver* o : logged_) o->OnPhase(e);
}

}  // namespace flyp::report
