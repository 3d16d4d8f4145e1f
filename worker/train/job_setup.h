// Everything a job needs before its first step, built from the spec: the
// tokenizer, the model (checkpoint loaded, replicas identical), the prompt
// templates, the datasets and loaders of the training and evaluation splits.
// Every failure here is a problem with the job's inputs (a missing file, a
// corrupt checkpoint, an unknown class) and is reported as such, so the
// coordinator does not retry it.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/data/dataset.h"
#include "worker/data/loader.h"
#include "worker/dist/communicator.h"
#include "worker/model/clip.h"
#include "worker/text/tokenizer.h"
#include "worker/train/evaluate.h"

namespace flyp::train {

struct JobInputs {
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::shared_ptr<model::ClipModel> model;
  std::vector<std::string> templates;
  std::vector<std::string> class_names;             // of the training data (or the first eval split)
  std::shared_ptr<const data::Dataset> train;       // null for zeroshot
  std::unique_ptr<data::Loader> train_loader;       // shuffled, this rank's shard
  std::unique_ptr<data::Loader> train_eval_loader;  // unshuffled, eval transform (LP features)
  std::vector<EvalSplit> splits;                    // id_val, id_test, ood... (those configured)
  torch::Device device{torch::kCPU};
};

// LibTorch intra-op threads for this rank: the spec's threads_per_rank, else
// FLYP_THREADS, else the CPUs this rank is pinned to (the coordinator's
// launchers pin each rank to its own slots), else the machine's cores shared
// by the ranks on this host. flyp-worker train and the step benchmark
// (bench/step_vs_python) both size their threads by it.
int RankThreads(const v1::JobSpec& spec);

// Builds the inputs on every rank (collective: broadcasts the initial
// parameters from rank 0 so that randomly initialised models agree).
StatusOr<JobInputs> SetUpJob(const v1::JobSpec& spec, dist::Communicator& comm);

}  // namespace flyp::train
