#include "worker/optim/fused_adamw.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <memory>
#include <string>
#include <type_traits>

namespace flyp::optim {
namespace {

bool Fusable(const torch::Tensor& p, const torch::Tensor& g) {
  return p.device().is_cpu() && !g.is_sparse() && p.is_contiguous() && g.is_contiguous() &&
         (p.scalar_type() == torch::kFloat32 || p.scalar_type() == torch::kFloat64) &&
         g.scalar_type() == p.scalar_type();
}

struct Coefficients {
  double decay;  // 1 - lr·wd
  double beta1, beta2;
  double bc2_sqrt;   // sqrt(1 - beta2^t)
  double step_size;  // lr / (1 - beta1^t)
  double eps;
};

// One AdamW update of n elements, in AdamW::step's order of operations
// element by element. Compiled once per instruction set (function
// multiversioning: the loader picks AVX-512, AVX2 or baseline SSE2 for this
// CPU); this file is built with -fno-math-errno so that sqrt vectorises, and
// -ffp-contract=off so that no multiply-add is fused beyond what the scalar
// arithmetic says.
template <typename T>
inline void UpdateRange(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n,
                        const Coefficients& c) {
  const T decay = static_cast<T>(c.decay), b1 = static_cast<T>(c.beta1), b2 = static_cast<T>(c.beta2);
  const T one_b1 = static_cast<T>(1 - c.beta1), one_b2 = static_cast<T>(1 - c.beta2);
  const T bc2 = static_cast<T>(c.bc2_sqrt), eps = static_cast<T>(c.eps), step = static_cast<T>(c.step_size);
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T mi = m[i] * b1 + one_b1 * gi;
    const T vi = v[i] * b2 + one_b2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    const T denom = std::sqrt(vi) / bc2 + eps;
    p[i] = p[i] * decay - step * (mi / denom);
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FLYP_ADAMW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FLYP_ADAMW_CLONES
#endif

FLYP_ADAMW_CLONES void UpdateFloat(float* p, const float* g, float* m, float* v, int64_t n,
                                   const Coefficients& c) {
  UpdateRange(p, g, m, v, n, c);
}

FLYP_ADAMW_CLONES void UpdateDouble(double* p, const double* g, double* m, double* v, int64_t n,
                                    const Coefficients& c) {
  UpdateRange(p, g, m, v, n, c);
}

template <typename T>
void FusedUpdate(T* p, const T* g, T* m, T* v, int64_t n, const Coefficients& c) {
  at::parallel_for(0, n, 1 << 15, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>) {
      UpdateFloat(p + begin, g + begin, m + begin, v + begin, end - begin, c);
    } else {
      UpdateDouble(p + begin, g + begin, m + begin, v + begin, end - begin, c);
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

void ClearGradients(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params) {
    if (p.defined()) p.mutable_grad() = torch::Tensor();
  }
}

}  // namespace flyp::optim
