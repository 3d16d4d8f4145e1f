// Learning-rate schedules: linear warmup from 0, then cosine decay to 0 (as
// FLYP and open_clip) or constant. Steps count optimiser updates from 0.
// Pure functions.
#pragma once

#include <cstdint>

#include "flyp/v1/job_spec.pb.h"

namespace flyp::optim {

struct LrScheduleParams {
  double base_lr = 1e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  v1::LrSchedule kind = v1::LR_SCHEDULE_COSINE;
};

// lr(step) = base * (step + 1) / warmup            for step < warmup
//          = base * 0.5 * (1 + cos(pi * e / (total - warmup)))   (cosine)
//          = base                                                (constant)
// with e = step - warmup; 0 at and beyond total_steps (cosine).
double LearningRateAt(const LrScheduleParams& p, int64_t step);

}  // namespace flyp::optim
