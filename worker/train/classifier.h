// The linear head of the cross-entropy baselines (LP, FT, L2-SP, LP-FT):
// logits = W · normalize(f) + b with W [C, D], b [C]. Initialised from the
// zero-shot head scaled by exp(logit_scale), as WiSE-FT does, so the
// untrained classifier predicts exactly what zero-shot CLIP predicts.
#pragma once

#include <torch/torch.h>

namespace flyp::train {

class LinearHeadImpl : public torch::nn::Module {
 public:
  // zeroshot_head [D, C] (unit columns); scale = exp(logit_scale).
  LinearHeadImpl(const torch::Tensor& zeroshot_head, double scale);
  // features [N, D] (any norm; normalised here) -> logits [N, C].
  torch::Tensor forward(const torch::Tensor& features);

  torch::Tensor weight;  // [C, D]
  torch::Tensor bias;    // [C]
};
TORCH_MODULE(LinearHead);

// L2-normalise rows.
torch::Tensor NormalizeRows(const torch::Tensor& x);

}  // namespace flyp::train
