#include "worker/report/eta.h"

#include <cmath>

namespace flyp::report {

EtaEstimator::EtaEstimator(double smoothing)
    : smoothing_(std::isfinite(smoothing) && smoothing > 0 && smoothing <= 1 ? smoothing : 0.1) {}

void EtaEstimator::Observe(int64_t step, double seconds, int64_t samples) {
  if (!have_last_) {
    have_last_ = true;
    last_step_ = step;
    last_seconds_ = seconds;
    last_samples_ = samples;
    return;
  }
  const int64_t dsteps = step - last_step_;
  const double dt = seconds - last_seconds_;
  if (dsteps <= 0 || !(dt > 0)) return;
  const double interval_spsp = dt / static_cast<double>(dsteps);
  const double interval_sps = static_cast<double>(samples - last_samples_) / dt;
  if (sec_per_step_ <= 0) {
    sec_per_step_ = interval_spsp;
    samples_per_sec_ = interval_sps;
  } else {
    sec_per_step_ += smoothing_ * (interval_spsp - sec_per_step_);
    samples_per_sec_ += smoothing_ * (interval_sps - samples_per_sec_);
  }
  last_step_ = step;
  last_seconds_ = seconds;
  last_samples_ = samples;
}

double EtaEstimator::EtaSeconds(int64_t total_steps) const {
  if (have_last_ && last_step_ >= total_steps) return 0;
  if (sec_per_step_ <= 0) return -1;
  return static_cast<double>(total_steps - last_step_) * sec_per_step_;
}

}  // namespace flyp::report
