// The optimiser of a training job: AdamW (or SGD) over the trainable
// parameters, split into a decayed and an undecayed group. With
// optim.exclude_bias_norm_from_decay (default) the undecayed group holds what
// open_clip exempts: tensors with fewer than 2 dimensions (biases, LayerNorm
// gains, logit_scale, class embedding) — embeddings and projections decay.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flyp/v1/job_spec.pb.h"

namespace flyp::optim {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct OptimizerGroups {
  NamedTensors decay;
  NamedTensors no_decay;
};

// The tensors of `named`, in order.
std::vector<torch::Tensor> TensorsOf(const NamedTensors& named);

// Splits `params` (only those with requires_grad) into the two groups.
OptimizerGroups SplitDecayGroups(const NamedTensors& params, bool exclude_bias_norm);

// AdamW (FusedAdamW, the one-pass implementation) with betas/eps from the spec, or SGD with momentum; group 0
// decays with optim.weight_decay, group 1 has weight decay 0. The learning rate is set per step with
// SetLearningRate.
std::unique_ptr<torch::optim::Optimizer> BuildOptimizer(const OptimizerGroups& groups,
                                                        const v1::OptimSpec& spec);

void SetLearningRate(torch::optim::Optimizer& opt, double lr);

// Scales gradients so their global L2 norm is at most max_norm (no-op for
// max_norm <= 0). Returns the norm before clipping.
double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace flyp::optim
