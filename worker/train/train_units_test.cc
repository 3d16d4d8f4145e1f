// Unit tests of the training engine's pieces, against hand-computed values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "tests/testing/test_env.h"
#include "worker/data/loader.h"
#include "worker/data/memory_dataset.h"
#include "worker/dist/contrastive_loss.h"
#include "worker/dist/single_communicator.h"
#include "worker/optim/lr_schedule.h"
#include "worker/optim/optimizer.h"
#include "worker/train/classifier.h"
#include "worker/train/eval_metrics.h"
#include "worker/train/methods.h"
#include "worker/train/train_loop.h"
#include "worker/train/train_state.h"
#include "worker/train/wise_ft.h"
#include "worker/train/zeroshot_head.h"

namespace flyp::train {
namespace {

torch::TensorOptions F64() { return torch::TensorOptions().dtype(torch::kFloat64); }

// ---- the FLYP / CLIP loss -------------------------------------------------

// L = (CE(s F Gᵀ, I) + CE(s G Fᵀ, I)) / 2, written out with std::exp/log.
double HandLoss(const std::vector<std::vector<double>>& f, const std::vector<std::vector<double>>& g,
                double s) {
  const size_t n = f.size();
  auto dot = [](const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0;
    for (size_t k = 0; k < a.size(); ++k) d += a[k] * b[k];
    return d;
  };
  double img = 0, txt = 0;
  for (size_t i = 0; i < n; ++i) {
    double zi = 0, zt = 0;
    for (size_t j = 0; j < n; ++j) {
      zi += std::exp(s * dot(f[i], g[j]));
      zt += std::exp(s * dot(g[i], f[j]));
    }
    img += -(s * dot(f[i], g[i]) - std::log(zi));
    txt += -(s * dot(g[i], f[i]) - std::log(zt));
  }
  return (img / n + txt / n) / 2;
}

TEST(FlypLossTest, ThreeByThreeEqualsHandComputed) {
  // Unit vectors chosen by hand: F rows and G rows in 2-D.
  std::vector<std::vector<double>> f = {{1, 0}, {0, 1}, {0.6, 0.8}};
  std::vector<std::vector<double>> g = {{0.8, 0.6}, {0, 1}, {-0.6, 0.8}};
  const double s = 2.0;
  auto comm_ptr = dist::CreateSingleProcessCommunicator();
  dist::Communicator& comm = *comm_ptr;
  auto F = torch::tensor({1.0, 0.0, 0.0, 1.0, 0.6, 0.8}, F64()).view({3, 2});
  auto G = torch::tensor({0.8, 0.6, 0.0, 1.0, -0.6, 0.8}, F64()).view({3, 2});
  auto res = dist::GlobalContrastiveLoss(F, G, torch::tensor(s, F64()), comm);
  EXPECT_NEAR(res.loss.item<double>(), HandLoss(f, g, s), 1e-12);
  // The same number, computed a second way: s·FGᵀ = [[1.6, 0, -1.2], [1.2, 2, 1.6], [1.92, 1.6, 0.92]].
  EXPECT_NEAR(res.global_loss.item<double>(), HandLoss(f, g, s), 1e-12);
}

TEST(FlypLossTest, GradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  auto comm_ptr = dist::CreateSingleProcessCommunicator();
  dist::Communicator& comm = *comm_ptr;
  auto F = torch::randn({3, 4}, F64()).requires_grad_(true);
  auto G = torch::randn({3, 4}, F64()).requires_grad_(true);
  auto log_s = torch::tensor(std::log(5.0), F64()).requires_grad_(true);
  auto loss_of = [&](const torch::Tensor& f, const torch::Tensor& g, const torch::Tensor& ls) {
    return dist::GlobalContrastiveLoss(NormalizeRows(f), NormalizeRows(g), ls.exp(), comm).loss;
  };
  auto loss = loss_of(F, G, log_s);
  loss.backward();
  const double h = 1e-6;
  torch::NoGradGuard no_grad;
  for (auto* t : {&F, &G}) {
    auto grad = t->grad().clone();
    for (int64_t k = 0; k < t->numel(); ++k) {
      auto flat = t->view({-1});
      double orig = flat[k].item<double>();
      flat[k] = orig + h;
      double up = loss_of(F, G, log_s).item<double>();
      flat[k] = orig - h;
      double down = loss_of(F, G, log_s).item<double>();
      flat[k] = orig;
      EXPECT_NEAR(grad.view({-1})[k].item<double>(), (up - down) / (2 * h), 1e-6) << "element " << k;
    }
  }
  double orig = log_s.item<double>();
  log_s.fill_(orig + h);
  double up = loss_of(F, G, log_s).item<double>();
  log_s.fill_(orig - h);
  double down = loss_of(F, G, log_s).item<double>();
  EXPECT_NEAR(log_s.grad().item<double>(), (up - down) / (2 * h), 1e-6);
}

// ---- zero-shot head ---------------------------------------------------------

TEST(ZeroShotHeadTest, EqualsHandComputedAverage) {
  // Two classes, two templates, 2-D embeddings (not normalised on purpose).
  auto e = torch::tensor({3.0, 4.0, 0.0, 2.0,    // class 0: (3,4) -> (.6,.8); (0,2) -> (0,1)
                          1.0, 0.0, -1.0, 0.0},  // class 1: (1,0); (-1,0): mean 0 -> stays 0
                         torch::kFloat64)
               .view({2, 2, 2});
  auto head = HeadFromTemplateEmbeddings(e);
  ASSERT_EQ(head.sizes(), torch::IntArrayRef({2, 2}));
  // class 0: mean (.3, .9), norm sqrt(.9) -> (.316228, .948683)
  EXPECT_NEAR(head[0][0].item<double>(), 0.3 / std::sqrt(0.9), 1e-9);
  EXPECT_NEAR(head[1][0].item<double>(), 0.9 / std::sqrt(0.9), 1e-9);
  // class 1: the normalised embeddings cancel; normalize() leaves 0 (eps) not NaN.
  EXPECT_NEAR(head[0][1].item<double>(), 0.0, 1e-9);
  EXPECT_FALSE(torch::isnan(head).any().item<bool>());
}

TEST(LinearHeadTest, StartsAsTheScaledZeroShotClassifier) {
  auto zs = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({2, 2});
  LinearHead head(zs, 10.0);
  auto logits = head->forward(torch::tensor({3.0f, 4.0f}).view({1, 2}));
  EXPECT_NEAR(logits[0][0].item<float>(), 6.0f, 1e-5);  // 10 * 0.6
  EXPECT_NEAR(logits[0][1].item<float>(), 8.0f, 1e-5);
}

// ---- WiSE-FT -------------------------------------------------------------------

TEST(WiseFtTest, EndpointsAreExactAndMiddleIsLinear) {
  StateDict zs = {{"w", torch::tensor({0.1f, 1e-8f, -3.0f})}, {"b", torch::tensor({7.0f})}};
  StateDict ft = {{"w", torch::tensor({0.3f, 2e-8f, 5.0f})}, {"b", torch::tensor({-1.0f})}};
  auto a0 = Interpolate(zs, ft, 0.0);
  auto a1 = Interpolate(zs, ft, 1.0);
  auto ah = Interpolate(zs, ft, 0.25);
  ASSERT_TRUE(a0.ok() && a1.ok() && ah.ok());
  EXPECT_TRUE(torch::equal((*a0)["w"], zs["w"]));
  EXPECT_TRUE(torch::equal((*a1)["w"], ft["w"]));
  EXPECT_TRUE(torch::equal((*a1)["b"], ft["b"]));
  EXPECT_NEAR((*ah)["w"][2].item<float>(), -3.0f + 0.25f * 8.0f, 1e-6);
  EXPECT_NEAR((*ah)["b"][0].item<float>(), 5.0f, 1e-6);
}

TEST(WiseFtTest, MismatchesAreNamed) {
  StateDict zs = {{"w", torch::zeros({2})}};
  StateDict ft = {{"w", torch::zeros({3})}};
  auto r = Interpolate(zs, ft, 0.5);
  EXPECT_EQ(r.status().message(), "WiSE-FT: tensor 'w' has shape [2] (zero-shot) vs [3] (finetuned)");
  EXPECT_EQ(Interpolate(zs, zs, 1.5).status().code(), StatusCode::kInvalidArgument);
}

// ---- schedule, optimiser, metrics -----------------------------------------

TEST(LrScheduleTest, WarmupThenCosine) {
  optim::LrScheduleParams p{1.0, 4, 14, v1::LR_SCHEDULE_COSINE};
  EXPECT_DOUBLE_EQ(optim::LearningRateAt(p, 0), 0.25);
  EXPECT_DOUBLE_EQ(optim::LearningRateAt(p, 3), 1.0);
  EXPECT_DOUBLE_EQ(optim::LearningRateAt(p, 4), 1.0);    // cosine start
  EXPECT_NEAR(optim::LearningRateAt(p, 9), 0.5, 1e-12);  // halfway: cos(pi/2)
  EXPECT_NEAR(optim::LearningRateAt(p, 14), 0.0, 1e-12);
  p.kind = v1::LR_SCHEDULE_CONSTANT;
  EXPECT_DOUBLE_EQ(optim::LearningRateAt(p, 9), 1.0);
}

TEST(OptimizerTest, BiasesNormsAndLogitScaleAreNotDecayed) {
  optim::NamedTensors params = {{"visual.proj", torch::zeros({4, 2}, torch::requires_grad())},
                                {"visual.ln_pre.weight", torch::zeros({4}, torch::requires_grad())},
                                {"logit_scale", torch::zeros({}, torch::requires_grad())},
                                {"frozen", torch::zeros({4, 4})}};
  auto g = optim::SplitDecayGroups(params, true);
  ASSERT_EQ(g.decay.size(), 1u);
  EXPECT_EQ(g.decay[0].first, "visual.proj");
  ASSERT_EQ(g.no_decay.size(), 2u);
  EXPECT_EQ(optim::SplitDecayGroups(params, false).decay.size(), 3u);
}

TEST(OptimizerTest, ClipGradNormScalesToMax) {
  auto a = torch::zeros({2}, torch::requires_grad());
  a.mutable_grad() = torch::tensor({3.0f, 4.0f});
  EXPECT_NEAR(optim::ClipGradNorm({a}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad().norm().item<float>(), 1.0f, 1e-5);
}

TEST(MetricsTest, AccuracyAndMacroF1ByHand) {
  auto labels = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kInt64);
  auto pred = torch::tensor({0, 1, 1, 1, 1, 2}, torch::kInt64);
  auto c = ConfusionMatrix(labels, pred, 3);
  EXPECT_EQ(c[1][1].item<int64_t>(), 2);
  EXPECT_DOUBLE_EQ(Accuracy(c), 4.0 / 6.0);
  // F1: class 0: P=1, R=.5 -> 2/3; class 1: P=.5, R=1 -> 2/3; class 2: P=1, R=.5 -> 2/3.
  EXPECT_NEAR(MacroF1(c), 2.0 / 3.0, 1e-12);
}

TEST(TemplateDrawTest, DeterministicAndFresh) {
  EXPECT_EQ(DrawTemplate(1, 5, 7, 80), DrawTemplate(1, 5, 7, 80));
  std::vector<int> hist(4, 0);
  int changed = 0;
  for (int64_t step = 0; step < 4000; ++step) {
    hist[DrawTemplate(0, step, 42, 4)]++;
    changed += DrawTemplate(0, step, 42, 4) != DrawTemplate(0, step + 1, 42, 4);
  }
  for (int h : hist) EXPECT_NEAR(h, 1000, 150);  // uniform over templates
  EXPECT_GT(changed, 2500);                      // ~3/4 of consecutive draws differ
}

// ---- checkpoints and resume --------------------------------------------------

std::shared_ptr<const data::Dataset> ToyDataset(int n) {
  std::vector<data::Example> ex;
  for (int i = 0; i < n; ++i) {
    data::Example e;
    e.image.width = e.image.height = 4;
    e.image.channels = 1;
    for (int p = 0; p < 16; ++p) e.image.pixels.push_back(static_cast<uint8_t>((i * 37 + p * 11) % 256));
    e.label = i % 2;
    ex.push_back(e);
  }
  return std::make_shared<data::MemoryDataset>(ex, std::vector<std::string>{"a", "b"});
}

v1::JobSpec ToySpec() {
  v1::JobSpec spec;
  spec.mutable_schedule()->set_epochs(3);
  spec.mutable_schedule()->set_batch_size(4);
  spec.mutable_schedule()->set_warmup_steps(2);
  spec.mutable_schedule()->set_lr_schedule(v1::LR_SCHEDULE_COSINE);
  spec.mutable_schedule()->set_log_every_steps(1);
  spec.mutable_optim()->set_name(v1::OPTIMIZER_ADAMW);
  spec.mutable_optim()->set_learning_rate(0.05);
  spec.mutable_optim()->set_weight_decay(0.1);
  spec.mutable_optim()->set_beta1(0.9);
  spec.mutable_optim()->set_beta2(0.999);
  spec.mutable_optim()->set_eps(1e-8);
  spec.mutable_optim()->set_exclude_bias_norm_from_decay(true);
  spec.mutable_run_policy()->set_checkpoint_every(3);
  spec.mutable_resources()->set_bucket_mib(1);
  return spec;
}

struct SimulatedCrash : std::runtime_error {
  SimulatedCrash() : std::runtime_error("crash") {}
};

// Trains a linear model on the toy data; crashes (throws) before step
// `crash_at` when crash_at >= 0. Returns the final weights.
torch::Tensor TrainToy(const std::string& dir, int64_t crash_at, bool* resumed = nullptr) {
  v1::JobSpec spec = ToySpec();
  auto comm_ptr = dist::CreateSingleProcessCommunicator();
  dist::Communicator& comm = *comm_ptr;
  data::LoaderOptions lo;
  lo.batch_size = 4;
  lo.drop_last_batch = true;
  lo.num_threads = 2;
  lo.sampler.seed = 9;
  lo.transform.resolution = 4;
  lo.transform.train = true;
  lo.transform.seed = 9;
  auto loader = data::Loader::Create(ToyDataset(18), lo);
  EXPECT_TRUE(loader.ok());
  torch::manual_seed(0);
  torch::nn::Linear net(48, 2);
  optim::NamedTensors params = {{"weight", net->weight}, {"bias", net->bias}};
  LoopConfig cfg{"toy", params, params, dir, true};
  LoopHooks hooks;
  hooks.step = [&](const data::Batch& b, int64_t step) {
    if (step == crash_at) throw SimulatedCrash();
    auto loss =
        torch::nn::functional::cross_entropy(net->forward(b.images.view({b.images.size(0), -1})), b.labels);
    return StepLoss{loss, loss.item<double>()};
  };
  auto r = RunTrainLoop(spec, comm, **loader, cfg, hooks);
  EXPECT_TRUE(r.ok()) << r.status();
  if (resumed) *resumed = r->resumed;
  EXPECT_EQ(r->steps, 12);  // 3 epochs x floor(18 / 4) batches
  return net->weight.detach().clone();
}

TEST(ResumeTest, InterruptedRunEndsWithTheSameParameters) {
  namespace fs = std::filesystem;
  std::string base = testing::TempDir() + "/resume";
  auto straight = TrainToy(base + "/straight", -1);
  // Crash at step 7: the last checkpoint is at step 6 (mid-epoch 2, batch 2).
  EXPECT_THROW(TrainToy(base + "/crashy", 7), SimulatedCrash);
  EXPECT_TRUE(fs::exists(base + "/crashy/checkpoints/toy-step-00000006/state.pt"));
  bool resumed = false;
  auto after = TrainToy(base + "/crashy", -1, &resumed);
  EXPECT_TRUE(resumed);
  EXPECT_TRUE(torch::equal(straight, after)) << (straight - after).abs().max();
}

TEST(TrainStateTest, CheckpointRoundTripsTensorsAndOptimizer) {
  std::string dir = testing::TempDir() + "/state";
  auto w = torch::randn({3, 2}, torch::requires_grad());
  optim::NamedTensors params = {{"w", w}};
  auto opt = optim::BuildOptimizer(optim::SplitDecayGroups(params, true), ToySpec().optim());
  w.mutable_grad() = torch::ones({3, 2});
  opt->step();
  auto saved = w.detach().clone();
  ASSERT_TRUE(SaveTrainCheckpoint(dir, {"toy", 5, 1, 2}, params, *opt).ok());
  torch::NoGradGuard no_grad;
  w.zero_();
  auto opt2 = optim::BuildOptimizer(optim::SplitDecayGroups(params, true), ToySpec().optim());
  auto pos = LoadLatestTrainCheckpoint(dir, "toy", params, *opt2);
  ASSERT_TRUE(pos.ok()) << pos.status();
  ASSERT_TRUE(pos->has_value());
  EXPECT_EQ((*pos)->step, 5);
  EXPECT_EQ((*pos)->batch, 2);
  EXPECT_TRUE(torch::equal(w, saved));
  // Another stage's checkpoint is not picked up.
  auto other = LoadLatestTrainCheckpoint(dir, "flyp", params, *opt2);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST(TrainStateTest, MismatchedCheckpointIsRejectedByName) {
  std::string dir = testing::TempDir() + "/mismatch";
  optim::NamedTensors a = {{"w", torch::zeros({2}, torch::requires_grad())}};
  auto opt = optim::BuildOptimizer(optim::SplitDecayGroups(a, true), ToySpec().optim());
  ASSERT_TRUE(SaveTrainCheckpoint(dir, {"toy", 1, 0, 1}, a, *opt).ok());
  optim::NamedTensors b = {{"v", torch::zeros({2}, torch::requires_grad())}};
  auto opt_b = optim::BuildOptimizer(optim::SplitDecayGroups(b, true), ToySpec().optim());
  auto r = LoadLatestTrainCheckpoint(dir, "toy", b, *opt_b);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("this job expects 'v'"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace flyp::train
