// Rates and remaining time of a run from observations of its progress.
//
// Thread safety: not synchronised (one owner).
#pragma once

#include <cstdint>

namespace flyp::report {

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

}  // namespace flyp::report
