// Training progress output: the observers that turn a run's events
// (observer.h) into text.
//
//   ProgressPrinter  human output on stderr (or any FILE*); add it to the
//                    fanout for logged steps (every schedule.log_every_steps).
//                    On a terminal: a progress bar redrawn in place
//                    (common/progress_bar.h)
//                       37% ██████████▍        step 148/400 · epoch 1/3 · loss 2.3134 · ...
//                    with permanent lines above it for evaluations
//                    ("zero-shot · id_test 76.8 %"), phases, and at the end
//                    the report table; the live line shows the stage while
//                    the run evaluates. Elsewhere (logs, pipes, mpirun): plain
//                    lines, one per logged step
//                      step 120/2000 (6.0%) epoch 1/3 loss 2.3134 lr 9.87e-05
//                      scale 14.29 312.4 samples/s ETA 4m12s
//                    one per evaluation, one when the stage changes
//                    ("== evaluating final"), and the report table.
//   EventWriter      JSON lines (one object per line, flushed per line):
//                      {"type":"progress","step":..,"total_steps":..,
//                       "epoch":..,"loss":..,"lr":..,"logit_scale":..,
//                       "samples_per_second":..,"eta_seconds":..,"time":..}
//                      {"type":"eval","split":..,"accuracy":..,["macro_f1":..,]
//                       "stage":"zeroshot|epoch|final|wiseft","label":..,
//                       ["epoch":..,]["alpha":..,]"time":..}
//                      {"type":"stage","stage":"training|evaluating|wise_ft|
//                       writing_report",["label":..,"split":..,]
//                       ["index":..,"count":..,"alpha":..,]"time":..}
//                      {"type":"state","phase":"started|checkpoint|completed|
//                       failed","message":..,"time":..}
//                    "time" is RFC 3339 UTC with milliseconds. A non-finite
//                    number (unknown ETA) is written as null.
//
// Output errors never fail the training: they are logged once and
// remembered (EventWriter::status()).
//
// Thread safety: ProgressPrinter and EventWriter serialise their calls with
// an internal mutex, so several threads may report.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "common/mutex.h"
#include "common/progress_bar.h"
#include "common/status.h"
#include "worker/report/observer.h"

namespace flyp::report {

class ProgressPrinter : public TrainObserver {
 public:
  using Mode = StatusLine::Mode;  // kAuto: redraw when `out` is a terminal
  // `out` is not owned; stderr by default.
  explicit ProgressPrinter(std::FILE* out = stderr, Mode mode = Mode::kAuto);
  // Ends a pending redrawn line with a newline.
  ~ProgressPrinter() override;

  void OnStep(const StepProgress& p) override;
  void OnEval(const EvalEvent& e) override;
  void OnPhase(const PhaseEvent& e) override;
  void OnStage(const StageEvent& e) override;
  void OnReport(const RunReport& r) override;

  bool redraws() const { return redraws_; }

 private:
  Mutex mu_;
  StatusLine line_ FLYP_GUARDED_BY(mu_);  // written only under mu_
  const bool redraws_;
  std::string last_heading_ FLYP_GUARDED_BY(mu_);  // the stage line printed last (plain mode)
};

class EventWriter : public TrainObserver {
 public:
  // Opens `path` for appending (a restarted job continues the same file) and
  // creates missing parent directories.
  static StatusOr<std::unique_ptr<EventWriter>> Open(const std::string& path);
  ~EventWriter() override;

  void OnStep(const StepProgress& p) override;
  void OnEval(const EvalEvent& e) override;
  void OnPhase(const PhaseEvent& e) override;
  void OnStage(const StageEvent& e) override;

  // OK, or the first write error (the event and later ones may be lost).
  Status status() const;
  const std::string& path() const { return path_; }

 private:
  EventWriter(std::string path, std::FILE* f) : path_(std::move(path)), file_(f) {}
  void WriteLine(const std::string& line);

  mutable Mutex mu_;
  const std::string path_;
  std::FILE* const file_ FLYP_GUARDED_BY(mu_);  // written only under mu_
  Status status_ FLYP_GUARDED_BY(mu_);
};

// Formatting, exposed for tests.

// Durations rounded to whole seconds: "0s", "59s", "4m12s", "4m05s",
// "1h02m" (minutes truncated), "2d03h" (hours truncated); "?" when negative
// or non-finite.
std::string FormatDuration(double seconds);
// RFC 3339 in UTC with milliseconds: "2024-05-01T12:34:56.789Z".
std::string FormatRfc3339(WallTime t);
// The human progress line (no newline), e.g.
// "step 120/2000 (6.0%) epoch 1/3 loss 2.3134 lr 9.87e-05 scale 14.29 312.4 samples/s ETA 4m12s".
// Unknown totals drop the "/N" and the percentage.
std::string FormatProgressLine(const StepProgress& p);
// The live line on a terminal: the bar and
// "step 148/400 · epoch 1/3 · loss 2.3134 · 312.4 samples/s · ETA 4m12s".
std::string FormatProgressBarLine(const StepProgress& p, int columns);
// "zero-shot · id_test 76.8 %" (+ " · macro-F1 60.0 %"); percentages as in
// the report (FormatPercent).
std::string FormatEvalLine(const EvalEvent& e);
// The plain line when the stage changes: "== training", "== evaluating
// zero-shot", "== WiSE-FT sweep (11 alphas)", "== writing report".
std::string FormatStageHeading(const StageEvent& e);
// "state started" (+ ": message").
std::string FormatPhaseLine(const PhaseEvent& e);
// The JSON lines EventWriter writes (without the newline); events whose time
// is the default are stamped with `now`.
std::string StepProgressJson(const StepProgress& p, WallTime now);
std::string EvalEventJson(const EvalEvent& e, WallTime now);
std::string StageEventJson(const StageEvent& e, WallTime now);
std::string PhaseEventJson(const PhaseEvent& e, WallTime now);

}  // namespace flyp::report
