// Resumable training checkpoints: the trained tensors, the optimiser state
// and the position in the schedule. Randomness in training is a pure
// function of (seed, epoch, step, example index) — crops, template draws — so
// the position is all the "RNG state" there is, and a resumed run takes
// exactly the steps an uninterrupted one would.
//
// Layout under <dir>/checkpoints/:
//   <stage>-step-<N>/state.pt       tensors in `params` order (torch::save)
//   <stage>-step-<N>/optimizer.pt   torch::save(optimizer)
//   <stage>-step-<N>/position.json  {"stage", "step", "epoch", "batch", "names": [...]}
//   latest                          the name of the newest complete folder
// A checkpoint is written into a temporary folder and renamed into place,
// then `latest` is replaced atomically (WriteFileAtomic, common/file_util.h),
// so a crash at any point leaves the previous checkpoint intact. Older
// folders are pruned (keep 2).
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

#include "common/status.h"
#include "worker/optim/optimizer.h"

namespace flyp::train {

struct TrainPosition {
  std::string stage;  // "flyp", "ft", "pretrain", ...
  int64_t step = 0;   // optimiser steps done
  int64_t epoch = 0;  // epoch to continue in
  int64_t batch = 0;  // batch index within that epoch to continue at
};

// Writes a checkpoint of `params` and `optimizer` at `pos`. Returns the
// folder written.
StatusOr<std::string> SaveTrainCheckpoint(const std::string& dir, const TrainPosition& pos,
                                          const optim::NamedTensors& params,
                                          torch::optim::Optimizer& optimizer);

// Loads the latest checkpoint of `stage` into `params` and `optimizer`.
// nullopt when there is none (or the latest belongs to another stage).
// DATA_LOSS / INVALID_ARGUMENT naming the file when it is unreadable or its
// tensors do not match `params` (names and shapes).
StatusOr<std::optional<TrainPosition>> LoadLatestTrainCheckpoint(const std::string& dir,
                                                                 const std::string& stage,
                                                                 const optim::NamedTensors& params,
                                                                 torch::optim::Optimizer& optimizer);

}  // namespace flyp::train
