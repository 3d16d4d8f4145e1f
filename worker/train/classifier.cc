#include "worker/train/classifier.h"

namespace flyp::train {

torch::Tensor NormalizeRows(const torch::Tensor& x) {
  return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(-1));
}

LinearHeadImpl::LinearHeadImpl(const torch::Tensor& zeroshot_head, double scale) {
  torch::NoGradGuard no_grad;
  weight = register_parameter("weight", (zeroshot_head.t() * scale).contiguous().clone());
  bias = register_parameter("bias", torch::zeros({zeroshot_head.size(1)}, zeroshot_head.options()));
}

torch::Tensor LinearHeadImpl::forward(const torch::Tensor& features) {
  return torch::nn::functional::linear(NormalizeRows(features), weight, bias);
}

}  // namespace flyp::train
