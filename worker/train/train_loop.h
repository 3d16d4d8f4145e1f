// The optimisation loop shared by every trained method: epochs over a
// loader, learning-rate schedule, one backward per step, rank-averaged
// gradients, optional clipping, the optimiser step, periodic progress,
// checkpoints and per-epoch evaluation, and resume from the latest
// checkpoint of the same stage.
//
// Collective: every rank runs the loop in lock step (same number of batches
// per epoch, guaranteed by the distributed sampler).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/data/loader.h"
#include "worker/dist/communicator.h"
#include "worker/optim/optimizer.h"
#include "worker/report/observer.h"

namespace flyp::train {

// What one step computed: the tensor to call backward() on (already scaled
// for gradient averaging over ranks) and the loss to log (identical on every
// rank). A step that accumulates gradients over micro-batches runs its own
// backward passes and leaves `backward` undefined.
struct StepLoss {
  torch::Tensor backward;
  double value = 0;
  int64_t collective_bytes = 0;   // bytes the forward's collectives moved (gathers)
  int64_t captions_encoded = -1;  // captions the text tower ran on (-1: none, or not counted)
  int64_t caption_tokens = -1;    // their positions, summed (-1: none, or not counted)
};

struct LoopHooks {
  // Computes the loss of a batch (forward only).
  std::function<StepLoss(const data::Batch&, int64_t step)> step;
  // After every optimiser step (e.g. clamp logit_scale).
  std::function<void()> after_step;
  // After every step, with StepProgress::logged set every
  // schedule.log_every_steps steps and at the last step; logit_scale is
  // left 0 (the loop does not know the model).
  std::function<void(const report::StepProgress&)> on_step;
  // After each epoch (epoch counted from 1); `last` for the final one.
  std::function<Status(int64_t epoch, bool last)> on_epoch_end;
  // After each checkpoint is written (rank 0 only).
  std::function<void(const std::string& folder)> on_checkpoint;
};

struct LoopConfig {
  std::string stage;                 // checkpoint stage name ("flyp", "ft", ...)
  optim::NamedTensors trainable;     // optimised, gradient-averaged, clipped
  optim::NamedTensors checkpointed;  // saved and restored (usually == trainable)
  std::string out_dir;               // checkpoints go to <out_dir>/checkpoints
  bool resume = true;
  // Resume a checkpoint whose recorded spec differs from this job's
  // (train_state.h); otherwise that is an error naming the fields.
  bool resume_anyway = false;
};

struct LoopResult {
  int64_t steps = 0;
  double final_loss = 0;
  double train_seconds = 0;
  double samples_per_second = 0;
  bool resumed = false;
  int64_t resumed_from_step = 0;
  // Mean seconds per step of each phase (this rank), see report::StepTimes.
  double mean_data = 0, mean_forward = 0, mean_backward = 0, mean_allreduce = 0, mean_optimizer = 0;
};

// A step whose loss is NaN or infinite ends the loop with INVALID_ARGUMENT
// naming the step (the run diverged; its inputs, the spec's optimisation
// settings, are at fault, so a retry would diverge again).
StatusOr<LoopResult> RunTrainLoop(const v1::JobSpec& spec, dist::Communicator& comm, data::Loader& loader,
                                  const LoopConfig& config, const LoopHooks& hooks);

}  // namespace flyp::train
