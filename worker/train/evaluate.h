// Evaluation of a classifier on named splits, sharded over the ranks: each
// rank scores its shard (sampler without shuffling; wrap-around padding is
// skipped), then one all-reduce of the confusion matrix gives every rank the
// same global numbers.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/data/dataset.h"
#include "worker/data/loader.h"
#include "worker/dist/communicator.h"

namespace flyp::train {

struct EvalSplit {
  std::string name;
  bool ood = false;
  bool is_id_val = false;
  std::shared_ptr<const data::Dataset> dataset;
  std::unique_ptr<data::Loader> loader;
};

struct EvalResult {
  std::string split;
  bool ood = false;
  double accuracy = 0;
  double macro_f1 = 0;
  int64_t examples = 0;
};

// images [B,3,R,R] on the model device -> class scores [B, C].
using Scorer = std::function<torch::Tensor(const torch::Tensor& images)>;

// Scores every example of the split once (collective: all ranks call it).
// Errors: the loader's (naming the example), or a class-count mismatch.
StatusOr<EvalResult> EvaluateSplit(EvalSplit& split, const Scorer& scorer, dist::Communicator& comm,
                                   torch::Device device, int64_t num_classes);

// Image features [N, D] (float32, CPU) and labels [N] of the WHOLE split, in
// dataset-shard order, gathered from every rank (collective). For the linear
// probe.
StatusOr<std::pair<torch::Tensor, torch::Tensor>> ExtractFeatures(
    data::Loader& loader, const std::function<torch::Tensor(const torch::Tensor&)>& encoder,
    dist::Communicator& comm, torch::Device device, int64_t feature_dim);

}  // namespace flyp::train
