// Training progress output: the observers that turn a run's events
// (observer.h) into text.
//
//   ProgressPrinter  human lines on stderr (or any FILE*), one per event it
//                    gets (add it to the fanout for logged steps, i.e. every
//                    schedule.log_every_steps steps):
//                      step 120/2000 (6.0%) epoch 1/3 loss 2.3134 lr 9.87e-05
//                      scale 14.29 312.4 samples/s ETA 4m12s
//                    on a TTY the progress line is redrawn in place (\r and
//                    erase-to-end-of-line); eval and phase lines go on their
//                    own lines above it. Otherwise one line per update.
//   EventWriter      JSON lines (one object per line, flushed per line):
//                      {"type":"progress","step":..,"total_steps":..,
//                       "epoch":..,"loss":..,"lr":..,"logit_scale":..,
//                       "samples_per_second":..,"eta_seconds":..,"time":..}
//                      {"type":"eval","split":..,"accuracy":..,["macro_f1":..,]
//                       ["epoch":..,]"time":..}
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
#include "common/status.h"
#include "worker/report/observer.h"

namespace flyp::report {

class ProgressPrinter : public TrainObserver {
 public:
  enum class Mode {
    kAuto,    // redraw when `out` is a terminal (isatty)
    kRedraw,  // always redraw one line with \r
    kLines,   // always one line per update
  };
  // `out` is not owned; stderr by default.
  explicit ProgressPrinter(std::FILE* out = stderr, Mode mode = Mode::kAuto);
  // Ends a pending redrawn line with a newline.
  ~ProgressPrinter() override;

  void OnStep(const StepProgress& p) override;
  void OnEval(const EvalEvent& e) override;
  void OnPhase(const PhaseEvent& e) override;

  bool redraws() const { return redraw_; }

 private:
  void PrintLine(const std::string& line) FLYP_REQUIRES(mu_);  // a permanent line

  Mutex mu_;
  std::FILE* const out_ FLYP_GUARDED_BY(mu_);  // written only under mu_
  bool redraw_;
  bool pending_ FLYP_GUARDED_BY(mu_) = false;  // a redrawn progress line without its newline
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
// "eval id_test accuracy 71.23%" (+ " macro-F1 60.00%", " (epoch 2)").
std::string FormatEvalLine(const EvalEvent& e);
// "state started" (+ ": message").
std::string FormatPhaseLine(const PhaseEvent& e);
// The JSON lines EventWriter writes (without the newline); events whose time
// is the default are stamped with `now`.
std::string StepProgressJson(const StepProgress& p, WallTime now);
std::string EvalEventJson(const EvalEvent& e, WallTime now);
std::string PhaseEventJson(const PhaseEvent& e, WallTime now);

}  // namespace flyp::report
