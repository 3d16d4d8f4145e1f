// What a training run tells the world, in one shape per event, and the one
// place where it fans out to everyone who listens.
//
//   StepProgress    one finished optimiser step: everything the trainer knows
//                   about it (console line, events.jsonl, /metrics and the
//                   coordinator's ProgressPoint are all views of it)
//   EvalEvent       one evaluation of one split, labelled by its stage
//                   (zero-shot, epoch N, final, WiSE-FT alpha)
//   PhaseEvent      a lifecycle phase (Phase: started, checkpoint, completed, failed)
//   StageEvent      what the run does next (Stage: training, evaluating a
//                   split, WiSE-FT alpha k of n, writing the report)
//   RunReport       the finished report (report.h), once written
//   TrainObserver   OnStep / OnEval / OnPhase, and OnStage / OnReport (no-ops
//                   unless overridden). Implemented by ProgressPrinter and
//                   EventWriter (progress.h), TensorBoardWriter
//                   (tensorboard.h), WorkerMetrics (worker/metrics) and
//                   CoordinatorReporter (worker/).
//   ObserverFanout  forwards every event to its observers: OnStep to those
//                   added for every step, and only the logged steps
//                   (StepProgress::logged) to those added for logged steps,
//                   with the smoothed rate and ETA filled in.
//
// Observers never fail the training: like metric updates, an output error is
// logged once and remembered.
//
// Thread safety: the trainer calls observers from one thread. ObserverFanout:
// Add() before the first event.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worker/report/eta.h"

namespace flyp::report {

using WallTime = std::chrono::system_clock::time_point;

// Wall time of one step's phases, in seconds. A phase a method does not
// have (e.g. gather: the embedding all-gather runs inside the forward and
// is counted there) stays 0 and is still reported, so every phase's count
// equals the step count.
struct StepTimes {
  double data = 0;  // waiting for the next batch
  double forward =
      0;  // encoders + logits (with optim.accum_steps > 1: every micro-batch's forward and backward)
  double gather = 0;     // all_gather of embeddings, when measured apart from the forward
  double backward = 0;   // autograd
  double allreduce = 0;  // gradient all-reduce
  double optimizer = 0;  // optimizer step + schedule
};

struct StepProgress {
  int64_t step = 0;         // optimiser steps done, this one included
  int64_t total_steps = 0;  // 0: unknown
  int epoch = 0;            // 1-based current epoch
  int total_epochs = 0;     // 0: unknown (printed as "epoch 2")
  double loss = 0;          // identical on every rank
  double learning_rate = 0;
  double logit_scale = 0;         // exp(logit_scale), the temperature's inverse
  double samples_per_second = 0;  // global; smoothed
  double eta_seconds = -1;        // < 0 or non-finite: unknown
  // A step progress output wants: every schedule.log_every_steps steps and
  // the last one.
  bool logged = false;
  double seconds = 0;  // wall time of this step
  StepTimes times;
  int64_t samples = 0;           // this rank's samples in the step
  int64_t collective_bytes = 0;  // bytes this rank sent (gathers + gradient all-reduce)
  // Captions this rank's text tower ran on: the distinct ones of its batch
  // (ContrastiveStep encodes a repeated caption once), and their positions
  // summed (encode_text stops at a batch's last EOT); -1: not counted.
  int64_t captions_encoded = -1;
  int64_t caption_tokens = -1;
  WallTime time{};  // default (epoch 0): stamped with now by observers
};

// Which evaluation of a run an EvalEvent belongs to.
enum class EvalStage {
  kZeroShot,  // the model before training
  kEpoch,     // the end of an epoch (EvalEvent::epoch)
  kFinal,     // the model after training
  kWiseFt,    // the WiSE-FT ensemble at EvalEvent::alpha
};
// "zeroshot", "epoch", "final", "wiseft": bounded names (metric labels,
// TensorBoard tags).
const char* EvalStageName(EvalStage stage);

struct EvalEvent {
  std::string split;
  double accuracy = 0;  // fraction in [0, 1]
  std::optional<double> macro_f1;
  EvalStage stage = EvalStage::kFinal;
  std::optional<int> epoch;     // kEpoch: the epoch this evaluation ends
  std::optional<double> alpha;  // kWiseFt: the mixing weight
  WallTime time{};
};
// What people read: "zero-shot", "epoch 2", "final", "WiSE-FT alpha=0.5".
std::string EvalStageLabel(const EvalEvent& e);

enum class Phase { kStarted, kCheckpoint, kCompleted, kFailed };
// "started", "checkpoint", "completed", "failed".
const char* PhaseName(Phase phase);

struct PhaseEvent {
  Phase phase = Phase::kStarted;
  std::string message;     // checkpoint: its folder; completed: the artifact folder; failed: why
  bool permanent = false;  // failed: retrying cannot help (bad spec, bad data)
  WallTime time{};
};

// What a run does from now on (the coordinator shows it as the job's stage).
enum class Stage {
  kTraining,
  kEvaluating,  // StageEvent::label on StageEvent::split
  kWiseFt,      // alpha number StageEvent::index (1-based) of StageEvent::count
  kWritingReport,
};
// "training", "evaluating", "wise_ft", "writing_report".
const char* StageName(Stage stage);

struct StageEvent {
  Stage stage = Stage::kTraining;
  std::string label;  // kEvaluating: the evaluation (EvalStageLabel), e.g. "zero-shot"
  std::string split;  // kEvaluating: the split about to be evaluated
  int index = 0;      // kWiseFt: 1-based
  int count = 0;      // kWiseFt: alphas in the sweep
  double alpha = 0;   // kWiseFt
  WallTime time{};
};
// "training", "evaluating zero-shot · id_val", "WiSE-FT alpha 3 of 11 (0.2)", "writing report".
std::string FormatStage(const StageEvent& e);

struct RunReport;  // report.h

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void OnStep(const StepProgress& p) = 0;
  virtual void OnEval(const EvalEvent& e) = 0;
  virtual void OnPhase(const PhaseEvent& e) = 0;
  virtual void OnStage(const StageEvent&) {}
  // The report, after report.json is written (rank 0).
  virtual void OnReport(const RunReport&) {}
};

class ObserverFanout : public TrainObserver {
 public:
  enum class Steps {
    kEvery,   // every step (metrics)
    kLogged,  // logged steps only, with rate and ETA (console, events, coordinator)
  };
  // `global_batch`: samples per step over all ranks, for the rate. The ETA's
  // clock starts now.
  explicit ObserverFanout(int64_t global_batch);

  // Observers are called in the order added. A raw pointer is not owned (it
  // must outlive the fanout); null is ignored.
  void Add(TrainObserver* observer, Steps steps);
  void Add(std::unique_ptr<TrainObserver> observer, Steps steps);
  bool empty() const { return every_.empty() && logged_.empty(); }

  void OnStep(const StepProgress& p) override;
  void OnEval(const EvalEvent& e) override;
  void OnPhase(const PhaseEvent& e) override;
  void OnStage(const StageEvent& e) override;
  void OnReport(const RunReport& r) override;

 private:
  const int64_t global_batch_;
  const std::chrono::steady_clock::time_point start_;
  EtaEstimator eta_;
  std::vector<TrainObserver*> every_, logged_;
  std::vector<std::unique_ptr<TrainObserver>> owned_;
};

}  // namespace flyp::report
