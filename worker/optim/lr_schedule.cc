#include "worker/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace flyp::optim {

double LearningRateAt(const LrScheduleParams& p, int64_t step) {
  if (step < p.warmup_steps) {
    return p.base_lr * static_cast<double>(step + 1) / static_cast<double>(p.warmup_steps);
  }
  if (p.kind == v1::LR_SCHEDULE_CONSTANT) return p.base_lr;
  const int64_t decay_steps = std::max<int64_t>(1, p.total_steps - p.warmup_steps);
  const double e = static_cast<double>(std::min(step - p.warmup_steps, decay_steps));
  return 0.5 * p.base_lr * (1.0 + std::cos(M_PI * e / static_cast<double>(decay_steps)));
}

}  // namespace flyp::optim
