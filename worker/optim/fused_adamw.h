// AdamW with the whole update of a CPU float32/float64 parameter in ONE pass
// over memory (weight decay, both moments, bias correction, step) instead of
// torch::optim::AdamW's nine tensor operations and two temporaries per
// parameter. The optimiser step is memory-bound on CPU: for ViT-B-32 (151M
// parameters) torch::optim::AdamW takes ~14% of a batch-8 training step
// (docs/performance.md).
//
// A drop-in torch::optim::AdamW: same options, same per-parameter state
// (AdamWParamState: step, exp_avg, exp_avg_sq), so save()/load() and code
// that reads the state or param_groups work unchanged. Same arithmetic as
// AdamW::step in LibTorch 1.13 (decoupled decay p *= 1 - lr·wd, then
// p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)), equal to float rounding.
// Parameters that are not dense, contiguous CPU float/double tensors, and
// amsgrad groups, take the unfused path (AdamW::step's arithmetic).
//
// Thread safety: as any optimiser; step() uses ATen's intra-op threads.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace flyp::optim {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

// Drops every parameter's .grad (PyTorch's zero_grad(set_to_none=True)),
// instead of filling it with zeros as torch::optim::Optimizer::zero_grad()
// in LibTorch 1.13 does. The next backward then hands its gradient buffer to
// .grad as it is (no fill pass, no accumulate-add pass). Optimisers skip a
// parameter whose .grad is undefined, as they skip one with no gradient.
void ClearGradients(const std::vector<torch::Tensor>& params);

}  // namespace flyp::optim
