// GlobalContrastiveLoss: a hand-computed 3×3 case, and exactness against an
// independent single-process implementation of a tiny two-tower model over
// the global batch (split equally and unequally across the MPI world).
#include "worker/dist/contrastive_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "worker/dist/dist_test_util.h"
#include "worker/dist/gradient_reducer.h"
#include "worker/dist/single_communicator.h"

namespace flyp::dist {
namespace {

using testing::AllCloseRel;
using testing::WorldComm;

// F = I (3×3), G rows g0 = (1,0,0), g1 = (0,1,0), g2 = (0.6,0,0.8), s = 2.
// S = F Gᵀ = [[1,0,0.6],[0,1,0],[0,0,0.8]].
struct ThreeByThree {
  torch::Tensor f = torch::eye(3, torch::kDouble);
  torch::Tensor g =
      torch::tensor({1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.6, 0.0, 0.8}, torch::kDouble).reshape({3, 3});
  torch::Tensor s = torch::tensor(2.0, torch::kDouble);
};

double Lse(std::initializer_list<double> xs) {
  double acc = 0;
  for (double x : xs) acc += std::exp(x);
  return std::log(acc);
}

TEST(ContrastiveLossTest, HandComputedThreeByThree) {
  auto comm = CreateSingleProcessCommunicator();
  ThreeByThree t;
  // Image rows of 2S: [2,0,1.2], [0,2,0], [0,0,1.6]; text rows of 2Sᵀ:
  // [2,0,0], [0,2,0], [1.2,0,1.6]. CE_i = logsumexp(row) - row[i].
  const double img = (Lse({2, 0, 1.2}) - 2) + (Lse({0, 2, 0}) - 2) + (Lse({0, 0, 1.6}) - 1.6);
  const double txt = (Lse({2, 0, 0}) - 2) + (Lse({0, 2, 0}) - 2) + (Lse({1.2, 0, 1.6}) - 1.6);
  const double expected = (img / 3 + txt / 3) / 2;
  for (bool local : {false, true}) {
    ContrastiveLossOptions o;
    o.local_loss = local;
    auto r = GlobalContrastiveLoss(t.f, t.g, t.s, *comm, o);
    EXPECT_NEAR(r.loss.item<double>(), expected, 1e-12) << "local_loss=" << local;
    EXPECT_NEAR(r.global_loss.item<double>(), expected, 1e-12);
    EXPECT_EQ(r.global_batch, 3);
  }
}

TEST(ContrastiveLossTest, HandComputedThreeByThreeMaskSameClass) {
  auto comm = CreateSingleProcessCommunicator();
  ThreeByThree t;
  // Labels (0, 1, 0): pairs (0,2) and (2,0) leave the denominators.
  const double img = (Lse({2, 0}) - 2) + (Lse({0, 2, 0}) - 2) + (Lse({0, 1.6}) - 1.6);
  const double txt = (Lse({2, 0}) - 2) + (Lse({0, 2, 0}) - 2) + (Lse({0, 1.6}) - 1.6);
  const double expected = (img / 3 + txt / 3) / 2;
  ContrastiveLossOptions o;
  o.mask_same_class = true;
  for (bool local : {false, true}) {
    o.local_loss = local;
    auto r = GlobalContrastiveLoss(t.f, t.g, t.s, *comm, o, torch::tensor({0, 1, 0}, torch::kLong));
    EXPECT_NEAR(r.loss.item<double>(), expected, 1e-12) << "local_loss=" << local;
  }
}

TEST(ContrastiveLossTest, ScaleGradientMatchesFiniteDifference) {
  auto comm = CreateSingleProcessCommunicator();
  ThreeByThree t;
  torch::Tensor s = t.s.clone().requires_grad_(true);
  GlobalContrastiveLoss(t.f, t.g, s, *comm).loss.backward();
  const double h = 1e-6;
  const double up = GlobalContrastiveLoss(t.f, t.g, t.s + h, *comm).loss.item<double>();
  const double down = GlobalContrastiveLoss(t.f, t.g, t.s - h, *comm).loss.item<double>();
  EXPECT_NEAR(s.grad().item<double>(), (up - down) / (2 * h), 1e-8);
}

TEST(ContrastiveLossTest, BadShapesThrow) {
  auto comm = CreateSingleProcessCommunicator();
  EXPECT_THROW(GlobalContrastiveLoss(torch::zeros({3, 2}), torch::zeros({2, 2}), torch::tensor(1.0), *comm),
               c10::Error);
  ContrastiveLossOptions o;
  o.mask_same_class = true;
  EXPECT_THROW(
      GlobalContrastiveLoss(torch::zeros({3, 2}), torch::zeros({3, 2}), torch::tensor(1.0), *comm, o),
      c10::Error);  // labels missing
}

// ---- exactness: distributed == single process on the global batch ---------

constexpr int64_t kImgIn = 5, kTxtIn = 6, kEmbed = 4, kSteps = 5;
const double kMaxLogitScale = std::log(100.0);

struct TwoTower {
  torch::nn::Linear image{nullptr}, text{nullptr};
  torch::Tensor logit_scale;
  std::vector<torch::Tensor> params;
  TwoTower() {
    torch::manual_seed(1234);
    image = torch::nn::Linear(kImgIn, kEmbed);
    text = torch::nn::Linear(kTxtIn, kEmbed);
    image->to(torch::kDouble);
    text->to(torch::kDouble);
    logit_scale = torch::tensor(std::log(1 / 0.07), torch::kDouble).requires_grad_(true);
    for (auto& p : image->parameters()) params.push_back(p);
    for (auto& p : text->parameters()) params.push_back(p);
    params.push_back(logit_scale);
  }
  std::pair<torch::Tensor, torch::Tensor> Encode(const torch::Tensor& xi, const torch::Tensor& xt) {
    namespace F = torch::nn::functional;
    return {F::normalize(image(xi), F::NormalizeFuncOptions().dim(1)),
            F::normalize(text(xt), F::NormalizeFuncOptions().dim(1))};
  }
};

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(bool adam, const std::vector<torch::Tensor>& params) {
  if (adam) return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(0.05));
  return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(0.5));
}

struct Batch {
  torch::Tensor xi, xt, labels;
};
Batch GlobalBatch(int64_t size) {
  torch::manual_seed(99);
  // Labels with repeats so mask_same_class matters: 0,1,2,0,1,2,...
  return {torch::randn({size, kImgIn}, torch::kDouble), torch::randn({size, kTxtIn}, torch::kDouble),
          torch::arange(size, torch::kLong).remainder(3)};
}

// Plain LibTorch, no flyp::dist code: the reference.
struct Reference {
  std::vector<double> losses;
  torch::Tensor img_feature_grad, txt_feature_grad;  // step 0, [B, d]
  std::vector<torch::Tensor> params;
};
Reference RunSingleProcess(const Batch& batch, bool mask, bool adam) {
  TwoTower m;
  auto opt = MakeOptimizer(adam, m.params);
  Reference ref;
  const int64_t n = batch.xi.size(0);
  for (int step = 0; step < kSteps; ++step) {
    opt->zero_grad();
    auto [f, g] = m.Encode(batch.xi, batch.xt);
    f.retain_grad();
    g.retain_grad();
    torch::Tensor logits = m.logit_scale.exp() * f.matmul(g.t());
    if (mask) {
      torch::Tensor same = batch.labels.unsqueeze(1) == batch.labels.unsqueeze(0);
      same &= ~torch::eye(n, torch::kBool);
      logits = logits.masked_fill(same, -std::numeric_limits<double>::infinity());
    }
    torch::Tensor targets = torch::arange(n, torch::kLong);
    namespace F = torch::nn::functional;
    torch::Tensor loss = (F::cross_entropy(logits, targets) + F::cross_entropy(logits.t(), targets)) / 2;
    loss.backward();
    ref.losses.push_back(loss.item<double>());
    if (step == 0) {
      ref.img_feature_grad = f.grad().clone();
      ref.txt_feature_grad = g.grad().clone();
    }
    opt->step();
    torch::NoGradGuard ng;
    m.logit_scale.clamp_(0, kMaxLogitScale);
  }
  for (auto& p : m.params) ref.params.push_back(p.detach().clone());
  return ref;
}

// (local_loss, mask_same_class, unequal split, adam)
class ExactnessTest : public ::testing::TestWithParam<std::tuple<bool, bool, bool, bool>> {};

TEST_P(ExactnessTest, DistributedEqualsSingleProcess) {
  const auto [local_loss, mask, unequal, adam] = GetParam();
  Communicator& comm = WorldComm();
  const int n = comm.world_size(), rank = comm.rank();
  // Equal: 3 per rank. Unequal: rank r holds r + 2 (and rank 1 of a 3-world
  // just 1), so the last ranks differ as a short last batch would.
  auto rows = [&](int r) { return !unequal ? 3 : (n == 3 && r == 1 ? 1 : r + 2); };
  int64_t total = 0, offset = 0;
  for (int r = 0; r < n; ++r) {
    if (r == rank) offset = total;
    total += rows(r);
  }
  const Batch global = GlobalBatch(total);
  const Reference ref = RunSingleProcess(global, mask, adam);

  TwoTower m;
  {
    // Replicas start different; BroadcastParameters must make them equal.
    torch::NoGradGuard ng;
    for (auto& p : m.params) p.add_(rank);
  }
  BroadcastParameters(m.params, comm, 0);
  auto opt = MakeOptimizer(adam, m.params);
  GradientReducerOptions ro;
  ro.overlap_with_backward = adam;  // cover both reducer paths
  ro.bucket_mib = 1e-4;             // ~100 bytes: several buckets
  GradientReducer reducer(m.params, comm, ro);
  ASSERT_GT(reducer.num_buckets(), 1);

  const int64_t b = rows(rank);
  torch::Tensor xi = global.xi.narrow(0, offset, b), xt = global.xt.narrow(0, offset, b);
  torch::Tensor labels = global.labels.narrow(0, offset, b);
  ContrastiveLossOptions lo;
  lo.local_loss = local_loss;
  lo.mask_same_class = mask;
  for (int step = 0; step < kSteps; ++step) {
    comm.SetStep(step);
    opt->zero_grad();
    auto [f, g] = m.Encode(xi, xt);
    f.retain_grad();
    g.retain_grad();
    ContrastiveLossResult r = GlobalContrastiveLoss(f, g, m.logit_scale.exp(), comm, lo, labels);
    EXPECT_EQ(r.global_batch, total);
    EXPECT_NEAR(r.global_loss.item<double>(), ref.losses[step], 1e-6 * std::abs(ref.losses[step]))
        << "step " << step;
    r.loss.backward();
    if (step == 0) {
      // Documented: local features receive N · dL/dF_r.
      EXPECT_TRUE(AllCloseRel(f.grad() / n, ref.img_feature_grad.narrow(0, offset, b)));
      EXPECT_TRUE(AllCloseRel(g.grad() / n, ref.txt_feature_grad.narrow(0, offset, b)));
    }
    reducer.Finish();
    opt->step();
    torch::NoGradGuard ng;
    m.logit_scale.clamp_(0, kMaxLogitScale);
  }
  for (size_t i = 0; i < m.params.size(); ++i) {
    EXPECT_TRUE(AllCloseRel(m.params[i].detach(), ref.params[i])) << "parameter " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, ExactnessTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Bool(),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "Local" : "Full") +
                                  (std::get<1>(info.param) ? "Masked" : "") +
                                  (std::get<2>(info.param) ? "Unequal" : "Equal") +
                                  (std::get<3>(info.param) ? "Adam" : "Sgd");
                         });

}  // namespace
}  // namespace flyp::dist
