#include "worker/train/wise_ft.h"

#include <sstream>

namespace flyp::train {
namespace {
std::string Shape(const torch::Tensor& t) {
  std::ostringstream ss;
  ss << t.sizes();
  return ss.str();
}
}  // namespace

StateDict CloneState(const std::vector<std::pair<std::string, torch::Tensor>>& params) {
  StateDict out;
  for (const auto& [name, t] : params) out[name] = t.detach().clone();
  return out;
}

StatusOr<StateDict> Interpolate(const StateDict& zeroshot, const StateDict& finetuned, double alpha) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) {
    return InvalidArgumentError("WiSE-FT alpha must be in [0, 1] (got " + std::to_string(alpha) + ")");
  }
  if (zeroshot.size() != finetuned.size()) {
    return InvalidArgumentError("WiSE-FT: the zero-shot state has " + std::to_string(zeroshot.size()) +
                                " tensors, the finetuned one " + std::to_string(finetuned.size()));
  }
  StateDict out;
  for (const auto& [name, z] : zeroshot) {
    auto it = finetuned.find(name);
    if (it == finetuned.end())
      return InvalidArgumentError("WiSE-FT: tensor '" + name + "' missing from the finetuned state");
    const torch::Tensor& f = it->second;
    if (!z.sizes().equals(f.sizes())) {
      return InvalidArgumentError("WiSE-FT: tensor '" + name + "' has shape " + Shape(z) +
                                  " (zero-shot) vs " + Shape(f) + " (finetuned)");
    }
    torch::NoGradGuard no_grad;
    if (alpha == 0.0)
      out[name] = z.clone();
    else if (alpha == 1.0)
      out[name] = f.clone();
    else
      out[name] = torch::lerp(z, f.to(z.dtype()), alpha);
  }
  return out;
}

Status LoadState(const std::vector<std::pair<std::string, torch::Tensor>>& params, const StateDict& state) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    auto it = state.find(name);
    if (it == state.end()) return InvalidArgumentError("state has no tensor '" + name + "'");
    if (!p.sizes().equals(it->second.sizes())) {
      return InvalidArgumentError("tensor '" + name + "' has shape " + Shape(p) + " but the state holds " +
                                  Shape(it->second));
    }
    p.copy_(it->second);
  }
  return Status::Ok();
}

}  // namespace flyp::train
