// Resumable training checkpoints: the trained tensors, the optimiser state
// and the position in the schedule. Randomness in training is a pure
// function of (seed, epoch, step, example index) — crops, template draws — so
// the position is all the "RNG state" there is, and a resumed run takes
// exactly the steps an uninterrupted one would.
//
// Layout under <dir>/checkpoints/:
//   <stage>-step-<N>/state.pt       tensors in `params` order (torch::save)
//   <stage>-step-<N>/optimizer.pt   torch::save(optimizer)
//   <stage>-step-<N>/position.json  {"stage", "step", "epoch", "batch", "names": [...],
//                                    "spec": the training-relevant spec as YAML}
//   latest                          the name of the newest complete folder
// A checkpoint is written into a temporary folder (every file through
// AtomicFileWriter: written, fsynced), the folder is renamed into place and
// its parent fsynced, then `latest` is replaced atomically, so a crash at any
// point leaves the previous checkpoint intact; a failure (a full disk, a
// read-only file system) is an error naming the file, never an exception,
// and leaves no temporary folder behind. Older folders are pruned (keep 2).
//
// A resume checks that the running job's training-relevant spec
// (TrainingRelevantSpec) is the one the checkpoint recorded: a re-run with
// changed hyperparameters in the same output folder is refused, naming the
// fields that differ, instead of silently mixing two runs.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/optim/optimizer.h"

namespace flyp::train {

struct TrainPosition {
  std::string stage;  // "flyp", "ft", "pretrain", ...
  int64_t step = 0;   // optimiser steps done
  int64_t epoch = 0;  // epoch to continue in
  int64_t batch = 0;  // batch index within that epoch to continue at
};

// The fields of `spec` that decide what the training steps compute: model,
// method, optim, data.train, data.templates, the crop scales, schedule
// (without log_every_steps and eval_every_epochs) and resources.precision.
// Everything else (name, evaluation splits, WiSE-FT, run policy, world
// size, device, threads, output) may change between a run and its resume.
v1::JobSpec TrainingRelevantSpec(const v1::JobSpec& spec);

// The field paths ("optim.learning_rate", "data.train.shifts") where `a`
// and `b` differ, in field order; a repeated field is compared whole.
std::vector<std::string> SpecDifferences(const google::protobuf::Message& a,
                                         const google::protobuf::Message& b);

// What a resume must match.
struct ResumeCheck {
  const v1::JobSpec* spec = nullptr;  // the running job's; null: nothing is checked
  bool anyway = false;                // resume a checkpoint of a different spec (warned)
};

// Writes a checkpoint of `params` and `optimizer` at `pos`, recording
// TrainingRelevantSpec(*spec) when `spec` is given. Returns the folder
// written. Errors (UNAVAILABLE: a retry may find the disk freed) name the
// file and the cause; no temporary folder is left behind.
StatusOr<std::string> SaveTrainCheckpoint(const std::string& dir, const TrainPosition& pos,
                                          const optim::NamedTensors& params,
                                          torch::optim::Optimizer& optimizer,
                                          const v1::JobSpec* spec = nullptr);

// Loads the latest checkpoint of `stage` into `params` and `optimizer`.
// nullopt when there is none (or the latest belongs to another stage).
// DATA_LOSS / INVALID_ARGUMENT naming the file when it is unreadable, its
// tensors do not match `params` (names and shapes) or are not finite;
// FAILED_PRECONDITION naming the differing fields when the checkpoint's
// recorded spec is not check.spec's (unless check.anyway). A checkpoint
// written before specs were recorded is resumed with a warning.
StatusOr<std::optional<TrainPosition>> LoadLatestTrainCheckpoint(const std::string& dir,
                                                                 const std::string& stage,
                                                                 const optim::NamedTensors& params,
                                                                 torch::optim::Optimizer& optimizer,
                                                                 const ResumeCheck& check = {});

}  // namespace flyp::train
