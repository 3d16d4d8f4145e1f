#include "worker/train/fused_adamw.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <memory>
#include <string>

namespace flyp::train {
namespace {

bool Fusable(const torch::Tensor& p, const torch::Tensor& g) {
  return p.device().is_cpu() && !g.is_sparse() && p.is_contiguous() && g.is_contiguous() &&
         (p.scalar_type() == torch::kFloat32 || p.scalar_type() == torch::kFloat64) &&
         g.scalar_type() == p.scalar_type();
}

struct Coefficients {
  double decay;       // 1 - lr·wd
  double beta1, beta2;
  double bc2_sqrt;    // sqrt(1 - beta2^t)
  double step_size;   // lr / (1 - beta1^t)
  double eps;
};

template <typename T>
void FusedUpdate(T* p, const T* g, T* m, T* v, int64_t n, const Coefficients& c) {
  const T decay = static_cast<T>(c.decay), b1 = static_cast<T>(c.beta1), b2 = static_cast<T>(c.beta2);
  const T one_b1 = static_cast<T>(1 - c.beta1), one_b2 = static_cast<T>(1 - c.beta2);
  const T bc2 = static_cast<T>(c.bc2_sqrt), eps = static_cast<T>(c.eps), step = static_cast<T>(c.step_size);
  at::parallel_for(0, n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      // The order of AdamW::step's tensor operations, element by element.
      const T gi = g[i];
      const T mi = m[i] * b1 + one_b1 * gi;
      const T vi = v[i] * b2 + one_b2 * (gi * gi);
      m[i] = mi;
      v[i] = vi;
      const T denom = std::sqrt(vi) / bc2 + eps;
      p[i] = p[i] * decay - step * (mi / denom);
    }
  });
}

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(group.options());
    const double lr = options.lr(), wd = options.weight_decay(), eps = options.eps();
    const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const torch::Tensor& grad = p.grad();
      TORCH_CHECK(!grad.is_sparse(), "FusedAdamW does not support sparse gradients");
      const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto it = state().find(key);
      if (it == state().end()) {
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(0);
        s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        if (options.amsgrad()) s->max_exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state().emplace(key, std::move(s)).first;
      }
      auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
      st.step(st.step() + 1);
      const double bc1 = 1 - std::pow(beta1, static_cast<double>(st.step()));
      const double bc2 = 1 - std::pow(beta2, static_cast<double>(st.step()));
      auto& m = st.exp_avg();
      auto& v = st.exp_avg_sq();
      if (!options.amsgrad() && Fusable(p, grad) && m.is_contiguous() && v.is_contiguous()) {
        const Coefficients c{1 - lr * wd, beta1, beta2, std::sqrt(bc2), lr / bc1, eps};
        AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "FusedAdamW", [&] {
          FusedUpdate<scalar_t>(p.data_ptr<scalar_t>(), grad.data_ptr<scalar_t>(), m.data_ptr<scalar_t>(),
                                v.data_ptr<scalar_t>(), p.numel(), c);
        });
        continue;
      }
      // Unfused: AdamW::step's operations.
      if (wd != 0) p.mul_(1 - lr * wd);
      m.mul_(beta1).add_(grad, 1 - beta1);
      v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      torch::Tensor denom;
      if (options.amsgrad()) {
        auto& vmax = st.max_exp_avg_sq();
        torch::max_out(vmax, v, vmax);
        denom = (vmax.sqrt() / std::sqrt(bc2)).add_(eps);
      } else {
        denom = (v.sqrt() / std::sqrt(bc2)).add_(eps);
      }
      p.addcdiv_(m, denom, -lr / bc1);
    }
  }
  return loss;
}

}  // namespace flyp::train
