#include "worker/optim/optimizer.h"

#include "worker/optim/fused_adamw.h"

namespace flyp::optim {

OptimizerGroups SplitDecayGroups(const NamedTensors& params, bool exclude_bias_norm) {
  OptimizerGroups g;
  for (const auto& [name, p] : params) {
    if (!p.requires_grad()) continue;
    if (exclude_bias_norm && p.dim() < 2)
      g.no_decay.emplace_back(name, p);
    else
      g.decay.emplace_back(name, p);
  }
  return g;
}

std::vector<torch::Tensor> TensorsOf(const NamedTensors& named) {
  std::vector<torch::Tensor> out;
  for (const auto& kv : named) out.push_back(kv.second);
  return out;
}

std::unique_ptr<torch::optim::Optimizer> BuildOptimizer(const OptimizerGroups& groups,
                                                        const v1::OptimSpec& spec) {
  // Both groups are always present (possibly empty) so that group 1 is the
  // undecayed one and optimizer state files line up across runs.
  if (spec.name() == v1::OPTIMIZER_SGD) {
    std::vector<torch::optim::OptimizerParamGroup> pg;
    pg.emplace_back(TensorsOf(groups.decay),
                    std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(spec.learning_rate())
                                                                   .momentum(spec.momentum())
                                                                   .weight_decay(spec.weight_decay())));
    pg.emplace_back(
        TensorsOf(groups.no_decay),
        std::make_unique<torch::optim::SGDOptions>(
            torch::optim::SGDOptions(spec.learning_rate()).momentum(spec.momentum()).weight_decay(0)));
    return std::make_unique<torch::optim::SGD>(std::move(pg), torch::optim::SGDOptions(spec.learning_rate()));
  }
  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(spec.learning_rate())
                                                            .betas({spec.beta1(), spec.beta2()})
                                                            .eps(spec.eps())
                                                            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> pg;
  pg.emplace_back(TensorsOf(groups.decay), opts(spec.weight_decay()));
  pg.emplace_back(TensorsOf(groups.no_decay), opts(0.0));
  // FusedAdamW: torch::optim::AdamW's arithmetic and state in one pass per
  // parameter (worker/optim/fused_adamw.h).
  return std::make_unique<FusedAdamW>(std::move(pg), *opts(spec.weight_decay()));
}

void SetLearningRate(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  double total_sq = 0;
  for (const auto& p : params) {
    if (p.grad().defined()) total_sq += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  }
  double norm = std::sqrt(total_sq);
  if (max_norm > 0 && norm > max_norm) {
    double coef = max_norm / (norm + 1e-6);
    for (const auto& p : params) {
      if (p.grad().defined()) p.grad().mul_(coef);
    }
  }
  return norm;
}

}  // namespace flyp::optim
