// The training loop's fast paths against its plain path: a job step with
// optim.accum_steps > 1 (embedding caching for the contrastive methods,
// plain accumulation for the classifier ones), activation checkpointing,
// gradients dropped instead of zeroed, and FusedAdamW as the optimiser must
// give the same gradients and the same parameters after several steps as
// the plain step. Under mpirun -np 2 the same checks run as a 2-rank world
// (GradCacheStep and the gradient reducer without backward overlap).
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "worker/dist/contrastive_loss.h"
#include "worker/dist/dist_test_util.h"
#include "worker/model/clip.h"
#include "worker/optim/fused_adamw.h"
#include "worker/optim/optimizer.h"
#include "worker/text/tokenizer.h"
#include "worker/train/classifier.h"
#include "worker/train/device_util.h"
#include "worker/train/methods.h"
#include "worker/train/zeroshot_head.h"

namespace flyp::train {
namespace {

dist::Communicator& World() { return dist::testing::WorldComm(); }

model::ClipConfig TinyConfig() {
  model::ClipConfig c;
  c.embed_dim = 8;
  c.vision = {16, 2, 2, 32};
  c.patch_size = 4;
  c.image_size = 8;
  c.text = {16, 2, 2, 32};
  c.context_length = 12;
  c.vocab_size = 514;  // the byte-level vocabulary
  return c;
}

std::shared_ptr<model::ClipModel> MakeModel(bool checkpointing) {
  torch::manual_seed(3);
  auto m = std::make_shared<model::ClipModel>(TinyConfig());
  m->set_activation_checkpointing(checkpointing);
  m->train();
  return m;
}

const text::Tokenizer& ByteTokenizer() {
  static const text::Tokenizer tok = *text::Tokenizer::Load("byte");
  return tok;
}

// This rank's batch of a global batch of 6·world samples at `step`: every
// rank draws the same global batch and takes its slice, so a 2-rank run
// sees exactly the samples of the 1-rank run.
data::Batch GlobalBatchSlice(int64_t step, int64_t per_rank) {
  dist::Communicator& comm = World();
  torch::manual_seed(100 + step);
  const int64_t global = per_rank * comm.world_size();
  data::Batch b;
  const auto images = torch::randn({global, 3, 8, 8});
  const auto labels = torch::arange(global, torch::kLong).remainder(3);
  const int64_t lo = per_rank * comm.rank();
  b.images = images.slice(0, lo, lo + per_rank).contiguous();
  b.labels = labels.slice(0, lo, lo + per_rank).contiguous();
  b.indices = torch::arange(lo, lo + per_rank, torch::kLong);
  return b;
}

v1::JobSpec Spec(int accum, bool mask_same_class) {
  v1::JobSpec spec;
  spec.mutable_optim()->set_accum_steps(accum);
  spec.mutable_method()->set_mask_same_class(mask_same_class);
  spec.mutable_resources()->set_precision(v1::PRECISION_FLOAT32);
  spec.mutable_schedule()->set_seed(5);
  return spec;
}

const std::vector<std::string> kClasses = {"cat", "dog", "bird"};
const std::vector<std::string> kTemplates = {"a photo of a {}.", "a {}."};

StepContext Context(model::ClipModel& m, const v1::JobSpec& spec, torch::Device device = torch::kCPU) {
  return StepContext{m, ByteTokenizer(), World(), spec, kClasses, kTemplates, device};
}

// The parameters' gradients (zeros where none), averaged over ranks.
std::vector<torch::Tensor> AveragedGrads(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) {
    auto g = p.grad().defined() ? p.grad().clone() : torch::zeros_like(p);
    World().AllReduce(g, dist::ReduceOp::kAvg);
    out.push_back(g);
  }
  return out;
}

// Gradients of one contrastive step, averaged over ranks, by parameter.
std::vector<torch::Tensor> ContrastiveGrads(model::ClipModel& m, const v1::JobSpec& spec, int64_t per_rank) {
  auto params = m.parameters();
  optim::ClearGradients(params);
  StepLoss loss = ContrastiveStep(Context(m, spec), GlobalBatchSlice(0, per_rank), 0);
  if (loss.backward.defined()) loss.backward.backward();
  return AveragedGrads(params);
}

void ExpectClose(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, double rtol,
                 const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const double scale = std::max(1e-6, a[i].abs().max().item<double>());
    const double diff = (a[i] - b[i]).abs().max().item<double>();
    EXPECT_LE(diff, rtol * scale) << what << ": tensor " << i << " differs by " << diff << " (scale " << scale
                                  << ")";
  }
}

TEST(FastPathLoopTest, ContrastiveAccumulationGivesTheGradientsOfOneBatch) {
  for (bool mask : {false, true}) {
    auto plain_model = MakeModel(false);
    const auto plain = ContrastiveGrads(*plain_model, Spec(1, mask), 6);
    for (int accum : {2, 3, 6}) {
      auto m = MakeModel(false);
      ExpectClose(plain, ContrastiveGrads(*m, Spec(accum, mask), 6), 1e-4,
                  "accum " + std::to_string(accum) + (mask ? " masked" : ""));
    }
  }
}

// ContrastiveStep encodes each distinct caption of the batch once; the loss
// and the gradients must be those of encoding every caption, as FLYP's
// reference step does (here written out: both towers on the whole batch,
// the global loss).
TEST(FastPathLoopTest, RepeatedCaptionsAreEncodedOnceForTheSameLossAndGradients) {
  const v1::JobSpec spec = Spec(1, false);
  // One template: a caption repeats wherever a class does, on every rank
  // (labels 0 0 1 2 1 0: 3 distinct captions of 6).
  const std::vector<std::string> one_template = {"a photo of a {}."};
  data::Batch batch = GlobalBatchSlice(0, 6);
  batch.labels = torch::tensor({0, 0, 1, 2, 1, 0}, torch::kLong);
  const std::vector<std::string> captions =
      BatchCaptions(batch, kClasses, one_template, static_cast<uint64_t>(spec.schedule().seed()), 0);
  EXPECT_EQ(std::set<std::string>(captions.begin(), captions.end()).size(), 3u);

  auto every = MakeModel(false);
  auto params = every->parameters();
  optim::ClearGradients(params);
  const auto ids = TokenizeToTensor(ByteTokenizer(), captions, every->context_length(), torch::kCPU);
  const auto img = NormalizeRows(every->encode_image(batch.images));
  const auto txt = NormalizeRows(every->encode_text(ids));
  auto reference = dist::GlobalContrastiveLoss(img, txt, every->logit_scale().exp(), World());
  reference.loss.backward();
  const std::vector<torch::Tensor> want = AveragedGrads(params);

  auto once = MakeModel(false);
  StepLoss loss = ContrastiveStep(
      StepContext{*once, ByteTokenizer(), World(), spec, kClasses, one_template, torch::kCPU}, batch, 0);
  EXPECT_EQ(loss.captions_encoded, 3);
  EXPECT_EQ(loss.caption_tokens, 3 * 12);  // the byte tokenizer's captions fill the 12 positions
  EXPECT_NEAR(loss.value, reference.global_loss.item<double>(), 1e-6);
  optim::ClearGradients(once->parameters());
  loss.backward.backward();
  ExpectClose(want, AveragedGrads(once->parameters()), 1e-5, "distinct captions");

  // Gradient accumulation (GradCacheStep) encodes each micro-batch's
  // distinct captions once: the same gradients again.
  for (int accum : {2, 3}) {
    auto cached = MakeModel(false);
    optim::ClearGradients(cached->parameters());
    StepLoss part = ContrastiveStep(StepContext{*cached, ByteTokenizer(), World(), Spec(accum, false),
                                                kClasses, one_template, torch::kCPU},
                                    batch, 0);
    EXPECT_FALSE(part.backward.defined()) << "accumulation runs its own backward";
    EXPECT_NEAR(part.value, reference.global_loss.item<double>(), 1e-6);
    // Micro-batches of 3 (0 0 1 | 2 1 0) or 2 (0 0 | 1 2 | 1 0): 2 + 3 or 1 + 2 + 2.
    EXPECT_EQ(part.captions_encoded, 5) << "accum " << accum;
    EXPECT_EQ(part.caption_tokens, 5 * 12) << "accum " << accum;
    ExpectClose(want, AveragedGrads(cached->parameters()), 1e-4,
                "distinct captions, accum " + std::to_string(accum));
  }
}

TEST(FastPathLoopTest, CheckpointedStepGivesTheGradientsOfThePlainStep) {
  auto plain_model = MakeModel(false);
  const auto plain = ContrastiveGrads(*plain_model, Spec(1, false), 6);
  auto ckpt_model = MakeModel(true);
  ExpectClose(plain, ContrastiveGrads(*ckpt_model, Spec(1, false), 6), 1e-5, "checkpointing");
  auto both = MakeModel(true);
  ExpectClose(plain, ContrastiveGrads(*both, Spec(2, false), 6), 1e-4, "checkpointing + accum 2");
}

TEST(FastPathLoopTest, ClassifierAccumulationGivesTheGradientsOfOneBatch) {
  auto grads = [](int accum, double l2sp) {
    auto m = MakeModel(false);
    torch::manual_seed(4);
    LinearHead head(torch::randn({8, 3}), 10.0);
    v1::JobSpec spec = Spec(accum, false);
    spec.mutable_method()->set_label_smoothing(0.1);
    spec.mutable_method()->set_l2sp_weight(l2sp);
    L2spAnchor anchor;
    if (l2sp > 0) {
      for (auto& p : m->parameters()) anchor.emplace_back(p, (p.detach() + 0.01).clone());
    }
    std::vector<torch::Tensor> params = m->parameters();
    for (auto& p : head->parameters()) params.push_back(p);
    optim::ClearGradients(params);
    StepLoss loss = ClassifierStep(Context(*m, spec), head, anchor, GlobalBatchSlice(0, 6));
    if (loss.backward.defined()) loss.backward.backward();
    std::vector<torch::Tensor> out;
    for (auto& p : params) out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    return std::make_pair(out, loss.value);
  };
  for (double l2sp : {0.0, 0.5}) {
    auto [plain, plain_loss] = grads(1, l2sp);
    for (int accum : {2, 3}) {
      auto [acc, acc_loss] = grads(accum, l2sp);
      ExpectClose(plain, acc, 1e-5, "classifier accum " + std::to_string(accum));
      EXPECT_NEAR(acc_loss, plain_loss, 1e-5 * std::abs(plain_loss));
    }
  }
}

// Several optimiser steps: accumulation and checkpointing leave the same
// parameters as the plain step (SGD with momentum: its update is linear in
// the gradient; Adam's m/sqrt(v) turns float-rounding differences of
// near-zero gradient entries into differences of order lr, so FusedAdamW
// is compared with AdamW on one step here, and over many steps on fixed
// gradients in fused_adamw_test).
std::vector<torch::Tensor> Train(int accum, bool checkpointing, bool fused_adamw, int steps) {
  auto m = MakeModel(checkpointing);
  auto params = m->parameters();
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (fused_adamw) {
    opt = std::make_unique<optim::FusedAdamW>(params, torch::optim::AdamWOptions(1e-3).weight_decay(0.1));
  } else if (accum == 0) {  // the AdamW reference of the fused run
    opt = std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(1e-3).weight_decay(0.1));
  } else {
    opt = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(0.05).momentum(0.9));
  }
  const v1::JobSpec spec = Spec(std::max(accum, 1), false);
  for (int step = 0; step < steps; ++step) {
    optim::ClearGradients(params);
    StepLoss loss = ContrastiveStep(Context(*m, spec), GlobalBatchSlice(step, 6), step);
    if (loss.backward.defined()) loss.backward.backward();
    for (auto& p : params) {
      if (p.grad().defined()) World().AllReduce(p.mutable_grad(), dist::ReduceOp::kAvg);
    }
    opt->step();
    ClampLogitScale(*m);
  }
  std::vector<torch::Tensor> out;
  for (auto& p : params) out.push_back(p.detach().clone());
  return out;
}

TEST(FastPathLoopTest, FiveStepsWithTheFastPathsEndWhereThePlainStepsEnd) {
  const auto plain = Train(1, false, false, 5);
  ExpectClose(plain, Train(3, false, false, 5), 1e-4, "5 SGD steps, accum 3");
  ExpectClose(plain, Train(1, true, false, 5), 1e-4, "5 SGD steps, checkpointing");
  ExpectClose(Train(0, false, false, 1), Train(1, false, true, 1), 1e-5, "1 step optim::FusedAdamW vs AdamW");
}

// On the CPU: the step under bf16 autocast (resources.precision bfloat16
// with device cpu) stays as close to the float32 step as on a GPU, the
// encoders' outputs are bf16 inside the step and the loss is float32.
TEST(FastPathLoopTest, CpuBf16AutocastStaysCloseToFloat32) {
  auto grads = [](v1::Precision precision, double* loss_value) {
    auto m = MakeModel(false);
    v1::JobSpec spec = Spec(1, false);
    spec.mutable_resources()->set_precision(precision);
    auto params = m->parameters();
    optim::ClearGradients(params);
    StepLoss loss = ContrastiveStep(Context(*m, spec), GlobalBatchSlice(0, 6), 0);
    EXPECT_EQ(loss.backward.scalar_type(), torch::kFloat32);
    loss.backward.backward();
    *loss_value = loss.value;
    std::vector<torch::Tensor> out;
    for (const auto& g : AveragedGrads(params)) {
      EXPECT_EQ(g.scalar_type(), torch::kFloat32);  // parameters and gradients stay float32
      out.push_back(g.flatten());
    }
    return torch::cat(out);
  };
  double l32 = 0, l16 = 0;
  const auto g32 = grads(v1::PRECISION_FLOAT32, &l32);
  const auto g16 = grads(v1::PRECISION_BFLOAT16, &l16);
  EXPECT_NE(l16, l32);  // the encoders did run in bf16
  EXPECT_NEAR(l16, l32, 0.02 * std::abs(l32));
  const double cosine =
      (g32 * g16).sum().item<double>() / (g32.norm().item<double>() * g16.norm().item<double>());
  EXPECT_GT(cosine, 0.98);
  EXPECT_FALSE(at::autocast::is_cpu_enabled());  // the step's scope closed
}

// On a GPU: the step under bf16 autocast (resources.precision bfloat16)
// stays close to the float32 step — same loss to 2 %, gradients pointing
// the same way — and the loss itself is computed in float32. Skipped
// without CUDA.
TEST(FastPathLoopTest, CudaBf16AutocastStaysCloseToFloat32) {
  if (!CudaAvailable() || World().world_size() > 1) GTEST_SKIP() << "needs CUDA (single process)";
  auto grads_on_cuda = [](v1::Precision precision, double* loss_value) {
    auto m = MakeModel(false);
    m->to(torch::kCUDA);
    v1::JobSpec spec = Spec(1, false);
    spec.mutable_resources()->set_precision(precision);
    auto params = m->parameters();
    optim::ClearGradients(params);
    data::Batch b = GlobalBatchSlice(0, 6);
    b.images = PinnedIfCuda(b.images);
    StepLoss loss = ContrastiveStep(Context(*m, spec, torch::Device(torch::kCUDA)), b, 0);
    EXPECT_EQ(loss.backward.scalar_type(), torch::kFloat32);
    loss.backward.backward();
    *loss_value = loss.value;
    std::vector<torch::Tensor> out;
    for (auto& p : params)
      out.push_back(p.grad().defined() ? p.grad().cpu().flatten() : torch::zeros({p.numel()}));
    return torch::cat(out);
  };
  double l32 = 0, l16 = 0;
  const auto g32 = grads_on_cuda(v1::PRECISION_FLOAT32, &l32);
  const auto g16 = grads_on_cuda(v1::PRECISION_BFLOAT16, &l16);
  EXPECT_NEAR(l16, l32, 0.02 * std::abs(l32));
  const double cosine =
      (g32 * g16).sum().item<double>() / (g32.norm().item<double>() * g16.norm().item<double>());
  EXPECT_GT(cosine, 0.98);
}

}  // namespace
}  // namespace flyp::train
