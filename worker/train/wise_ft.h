// WiSE-FT weight ensembling (Wortsman et al. 2022): for every tensor,
// θ_α = (1 − α)·θ_zero-shot + α·θ_finetuned. Heads are included: the
// zero-shot endpoint's head is the zero-shot head.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "common/status.h"

namespace flyp::train {

using StateDict = std::map<std::string, torch::Tensor>;

// Detached copies of `params` (name -> tensor) on the same device.
StateDict CloneState(const std::vector<std::pair<std::string, torch::Tensor>>& params);

// θ_α for every name. α = 0 and α = 1 return exact copies of the endpoints
// (no floating-point mixing). INVALID_ARGUMENT when the names or shapes of
// the two states differ (naming the first mismatch) or α is outside [0, 1].
StatusOr<StateDict> Interpolate(const StateDict& zeroshot, const StateDict& finetuned, double alpha);

// Copies `state` into the live parameters (by name, no autograd history).
// INVALID_ARGUMENT when a parameter has no entry or shapes differ.
Status LoadState(const std::vector<std::pair<std::string, torch::Tensor>>& params, const StateDict& state);

}  // namespace flyp::train
