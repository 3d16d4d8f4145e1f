// Training progress output: events, the sinks that consume them, and the
// estimator that turns step timings into rates and an ETA.
//
//   ProgressSink     the interface the training loop talks to (OnProgress,
//                    OnEval, OnState); a gRPC reporter implements it later.
//   ProgressPrinter  human lines on stderr (or any FILE*), one per event it
//                    gets (the caller sets the period, e.g. every
//                    schedule.log_every_steps steps):
//                      step 120/2000 (6.0%) epoch 1/3 loss 2.3134 lr 9.87e-05
//                      scale 14.29 312.4 samples/s ETA 4m12s
//                    on a TTY the progress line is redrawn in place (\r and
//                    erase-to-end-of-line); eval and state lines go on their
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
//   FanoutSink       forwards every event to several sinks.
//   EtaEstimator     rates and ETA from (step, time, samples) observations.
//
// Sinks never fail the training: like metric updates, an output error is
// logged once and remembered (EventWriter::status()).
//
// Thread safety: ProgressPrinter and EventWriter serialise their calls with
// an internal mutex, so several threads may report. FanoutSink: Add() before
// the first event; events may then come from any thread when the sinks
// allow it. EtaEstimator is not synchronised (one owner).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace flyp::report {

using WallTime = std::chrono::system_clock::time_point;

struct ProgressEvent {
  int64_t step = 0;         // optimiser steps done
  int64_t total_steps = 0;  // 0: unknown
  int epoch = 0;            // 1-based current epoch
  int total_epochs = 0;     // 0: unknown (printed as "epoch 2")
  double loss = 0;
  double learning_rate = 0;
  double logit_scale = 0;  // exp(logit_scale), the temperature's inverse
  double samples_per_second = 0;
  double eta_seconds = -1;  // < 0 or non-finite: unknown
  WallTime time{};          // default (epoch 0): stamped with now by sinks
};

struct EvalEvent {
  std::string split;
  double accuracy = 0;  // fraction in [0, 1]
  std::optional<double> macro_f1;
  std::optional<int> epoch;  // the epoch this evaluation ends, if any
  WallTime time{};
};

enum class Phase { kStarted, kCheckpoint, kCompleted, kFailed };
// "started", "checkpoint", "completed", "failed".
const char* PhaseName(Phase phase);

struct StateEvent {
  Phase phase = Phase::kStarted;
  std::string message;  // checkpoint: its path; failed: why
  WallTime time{};
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void OnProgress(const ProgressEvent& e) = 0;
  virtual void OnEval(const EvalEvent& e) = 0;
  virtual void OnState(const StateEvent& e) = 0;
};

// Forwards each event to every added sink, in the order added. Sinks are not
// owned (they must outlive the fanout) unless added as unique_ptr.
class FanoutSink : public ProgressSink {
 public:
  void Add(ProgressSink* sink);
  void Add(std::unique_ptr<ProgressSink> sink);
  size_t size() const { return sinks_.size(); }

  void OnProgress(const ProgressEvent& e) override;
  void OnEval(const EvalEvent& e) override;
  void OnState(const StateEvent& e) override;

 private:
  std::vector<ProgressSink*> sinks_;
  std::vector<std::unique_ptr<ProgressSink>> owned_;
};

class ProgressPrinter : public ProgressSink {
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

  void OnProgress(const ProgressEvent& e) override;
  void OnEval(const EvalEvent& e) override;
  void OnState(const StateEvent& e) override;

  bool redraws() const { return redraw_; }

 private:
  void PrintLine(const std::string& line) FLYP_REQUIRES(mu_);  // a permanent line

  Mutex mu_;
  std::FILE* const out_ FLYP_GUARDED_BY(mu_);  // written only under mu_
  bool redraw_;
  bool pending_ FLYP_GUARDED_BY(mu_) = false;  // a redrawn progress line without its newline
};

class EventWriter : public ProgressSink {
 public:
  // Opens `path` for appending (a restarted job continues the same file) and
  // creates missing parent directories.
  static StatusOr<std::unique_ptr<EventWriter>> Open(const std::string& path);
  ~EventWriter() override;

  void OnProgress(const ProgressEvent& e) override;
  void OnEval(const EvalEvent& e) override;
  void OnState(const StateEvent& e) override;

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

// Rates and remaining time from observations of (step, time, samples).
// The first observation only sets the baseline (it usually includes start-up
// costs). Each later one measures seconds per step over the interval since
// the previous observation and folds it into an exponential moving average:
//   spsp = spsp + smoothing * (interval_sec_per_step - spsp)
// (the first interval initialises it). Samples per second is averaged the
// same way. ETA = remaining steps * average seconds per step, i.e. remaining
// steps divided by the recent step rate. Averaging seconds per step (not
// steps per second) keeps the ETA unbiased when step times vary.
class EtaEstimator {
 public:
  // smoothing in (0, 1]: weight of the newest interval; 1 = no smoothing.
  explicit EtaEstimator(double smoothing = 0.1);

  // `seconds`: a monotonic time; `samples`: the cumulative sample count.
  // Observations that do not advance the step or the time are ignored.
  void Observe(int64_t step, double seconds, int64_t samples);

  bool has_rate() const { return sec_per_step_ > 0; }
  double seconds_per_step() const { return sec_per_step_; }       // 0 until known
  double samples_per_second() const { return samples_per_sec_; }  // 0 until known
  // Seconds to reach total_steps from the last observed step; -1 when the
  // rate is unknown; 0 when done.
  double EtaSeconds(int64_t total_steps) const;

 private:
  double smoothing_;
  bool have_last_ = false;
  int64_t last_step_ = 0;
  double last_seconds_ = 0;
  int64_t last_samples_ = 0;
  double sec_per_step_ = 0;
  double samples_per_sec_ = 0;
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
std::string FormatProgressLine(const ProgressEvent& e);
// "eval id_test accuracy 71.23%" (+ " macro-F1 60.00%", " (epoch 2)").
std::string FormatEvalLine(const EvalEvent& e);
// "state started" (+ ": message").
std::string FormatStateLine(const StateEvent& e);
// The JSON lines EventWriter writes (without the newline); events whose time
// is the default are stamped with `now`.
std::string ProgressEventJson(const ProgressEvent& e, WallTime now);
std::string EvalEventJson(const EvalEvent& e, WallTime now);
std::string StateEventJson(const StateEvent& e, WallTime now);

}  // namespace flyp::report
