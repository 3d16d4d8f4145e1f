#include "worker/report/observer.h"

#include <cstdio>

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

const char* EvalStageName(EvalStage stage) {
  switch (stage) {
    case EvalStage::kZeroShot:
      return "zeroshot";
    case EvalStage::kEpoch:
      return "epoch";
    case EvalStage::kFinal:
      return "final";
    case EvalStage::kWiseFt:
      return "wiseft";
  }
  return "unknown";
}

namespace {

std::string Short(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace

std::string EvalStageLabel(const EvalEvent& e) {
  switch (e.stage) {
    case EvalStage::kZeroShot:
      return "zero-shot";
    case EvalStage::kEpoch:
      return e.epoch ? "epoch " + std::to_string(*e.epoch) : "epoch";
    case EvalStage::kFinal:
      return "final";
    case EvalStage::kWiseFt:
      return e.alpha ? "WiSE-FT alpha=" + Short(*e.alpha) : "WiSE-FT";
  }
  return "unknown";
}

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kTraining:
      return "training";
    case Stage::kEvaluating:
      return "evaluating";
    case Stage::kWiseFt:
      return "wise_ft";
    case Stage::kWritingReport:
      return "writing_report";
  }
  return "unknown";
}

std::string FormatStage(const StageEvent& e) {
  switch (e.stage) {
    case Stage::kTraining:
      return "training";
    case Stage::kEvaluating: {
      std::string s = "evaluating";
      if (!e.label.empty()) s += " " + e.label;
      if (!e.split.empty()) s += " \xC2\xB7 " + e.split;
      return s;
    }
    case Stage::kWiseFt:
      return "WiSE-FT alpha " + std::to_string(e.index) + " of " + std::to_string(e.count) + " (" +
             Short(e.alpha) + ")";
    case Stage::kWritingReport:
      return "writing report";
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

namespace flyp::report {

void ObserverFanout::OnStage(const StageEvent& e) {
  for (TrainObserver* o : every_) o->OnStage(e);
  for (TrainObserver* o : logged_) o->OnStage(e);
}

void ObserverFanout::OnReport(const RunReport& r) {
  for (TrainObserver* o : every_) o->OnReport(r);
  for (TrainObserver* o : logged_) o->OnReport(r);
}

}  // namespace flyp::report
