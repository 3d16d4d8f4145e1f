// The model's fast paths against their plain forms: the attention kernel
// (scale folded into q, mask fused into the batched matmul) against the
// textbook softmax(q kᵀ/√d + mask) v, and activation checkpointing
// (ClipModel::set_activation_checkpointing) against the plain blocks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/model_presets.h"
#include "worker/model/clip.h"
#include "worker/model/clip_architecture.h"

namespace flyp::model {
namespace {

// softmax(q kᵀ / sqrt(d) + mask) v, written out.
torch::Tensor TextbookAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                bool causal) {
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (causal) {
    const int64_t l = q.size(-2);
    scores = scores.masked_fill(torch::ones({l, l}, torch::kBool).triu(1),
                                -std::numeric_limits<double>::infinity());
  }
  return torch::matmul(torch::softmax(scores, -1), v);
}

TEST(AttentionFastPathTest, ValuesAndGradientsMatchTheTextbookForm) {
  torch::manual_seed(5);
  // Non-contiguous q, k, v as the attention module produces them.
  auto qkv = torch::randn({2, 5, 3, 3, 4}, torch::kFloat64).permute({2, 0, 3, 1, 4}).requires_grad_(false);
  for (bool causal : {false, true}) {
    auto a = qkv.clone().requires_grad_(true);
    auto b = qkv.clone().requires_grad_(true);
    auto fast = ScaledDotProductAttention(a[0], a[1], a[2], causal);
    auto plain = TextbookAttention(b[0], b[1], b[2], causal);
    ASSERT_EQ(fast.sizes(), plain.sizes());
    EXPECT_LE((fast - plain).abs().max().item<double>(), 1e-12) << "causal=" << causal;
    auto w = torch::randn(plain.sizes(), torch::kFloat64);
    (fast * w).sum().backward();
    (plain * w).sum().backward();
    EXPECT_LE((a.grad() - b.grad()).abs().max().item<double>(), 1e-12) << "causal=" << causal;
    EXPECT_GT(a.grad().abs().max().item<double>(), 0.0);
  }
}

// micro with two blocks per tower, so a block's input gradient flows through
// another checkpointed block.
ClipConfig TwoLayerMicro() {
  auto arch = PresetArchitecture("micro");
  EXPECT_TRUE(arch.ok()) << arch.status();
  arch->mutable_vision()->set_layers(2);
  arch->mutable_text()->set_layers(2);
  auto c = ClipConfigFromArchitecture(*arch);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

struct Inputs {
  torch::Tensor images, ids, wi, wt;
};

Inputs MakeInputs(const ClipConfig& c) {
  torch::manual_seed(7);
  Inputs in;
  in.images = torch::randn({3, 3, c.image_size, c.image_size}, torch::kFloat64);
  in.ids = torch::randint(1, 1000, {3, c.context_length}, torch::kLong);
  // EOT (the largest id) at different positions per row.
  for (int64_t i = 0; i < 3; ++i) {
    in.ids[i][3 + 4 * i] = 49407;
    in.ids.index_put_({i, torch::indexing::Slice(4 + 4 * i)}, 0);
  }
  in.wi = torch::randn({3, c.embed_dim}, torch::kFloat64);
  in.wt = torch::randn({3, c.embed_dim}, torch::kFloat64);
  return in;
}

// A scalar that depends on every parameter (logit_scale included).
torch::Tensor Objective(ClipModel& m, const Inputs& in) {
  auto img = m.encode_image(in.images);
  auto txt = m.encode_text(in.ids);
  return (img * in.wi).sum() + (txt * in.wt).sum() * m.logit_scale().exp() + (img * txt).sum();
}

std::vector<std::pair<std::string, torch::Tensor>> Grads(ClipModel& m, const Inputs& in, bool checkpoint) {
  m.set_activation_checkpointing(checkpoint);
  m.zero_grad();
  Objective(m, in).backward();
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) {
    out.emplace_back(p.key(), p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor());
  }
  return out;
}

TEST(ActivationCheckpointingTest, GradientsEqualThePlainPath) {
  torch::manual_seed(1);
  ClipModel m(TwoLayerMicro());
  m.to(torch::kFloat64);
  const Inputs in = MakeInputs(m.config());
  const auto plain = Grads(m, in, false);
  const auto ckpt = Grads(m, in, true);
  ASSERT_EQ(plain.size(), ckpt.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    ASSERT_TRUE(plain[i].second.defined()) << plain[i].first;
    ASSERT_TRUE(ckpt[i].second.defined()) << ckpt[i].first;
    const double scale = plain[i].second.abs().max().item<double>();
    EXPECT_GT(scale, 0) << plain[i].first;
    EXPECT_LE((plain[i].second - ckpt[i].second).abs().max().item<double>(), 1e-10 * scale) << plain[i].first;
  }
}

TEST(ActivationCheckpointingTest, OutputsCarryTheCheckpointNode) {
  torch::manual_seed(1);
  ClipModel m(TwoLayerMicro());
  EXPECT_FALSE(m.activation_checkpointing());
  m.set_activation_checkpointing(true);
  EXPECT_TRUE(m.activation_checkpointing());
  auto x = torch::randn({2, 5, m.config().vision.width});
  auto out = m.visual()->transformer->forward(x, false);
  ASSERT_NE(out.grad_fn(), nullptr);
  EXPECT_NE(out.grad_fn()->name().find("CheckpointFunction"), std::string::npos) << out.grad_fn()->name();
  // Same values as the plain blocks.
  m.set_activation_checkpointing(false);
  auto plain = m.visual()->transformer->forward(x, false);
  EXPECT_TRUE(torch::allclose(out, plain, 0, 0));
  EXPECT_EQ(plain.grad_fn()->name().find("CheckpointFunction"), std::string::npos);
}

TEST(ActivationCheckpointingTest, NoGraphWithoutGradMode) {
  torch::manual_seed(1);
  ClipModel m(TwoLayerMicro());
  m.set_activation_checkpointing(true);
  torch::NoGradGuard no_grad;
  auto out = m.encode_image(torch::randn({2, 3, m.image_size(), m.image_size()}));
  EXPECT_FALSE(out.requires_grad());
}

TEST(ActivationCheckpointingTest, FrozenTowerAndHooksFireOnce) {
  torch::manual_seed(1);
  ClipModel m(TwoLayerMicro());
  m.to(torch::kFloat64);
  for (auto& p : m.visual_parameters()) p.set_requires_grad(false);
  const Inputs in = MakeInputs(m.config());
  const auto plain = Grads(m, in, false);

  // GradientReducer relies on one hook call per parameter per backward.
  auto named = m.named_parameters();
  torch::Tensor watched = named["transformer.resblocks.0.mlp.c_fc.weight"];
  int calls = 0;
  watched.register_hook([&calls](torch::Tensor g) {
    ++calls;
    return g;
  });
  const auto ckpt = Grads(m, in, true);
  EXPECT_EQ(calls, 1);
  for (size_t i = 0; i < plain.size(); ++i) {
    const bool visual = plain[i].first.rfind("visual.", 0) == 0;
    EXPECT_EQ(ckpt[i].second.defined(), !visual) << ckpt[i].first;
    if (visual) continue;
    const double scale = plain[i].second.abs().max().item<double>();
    EXPECT_LE((plain[i].second - ckpt[i].second).abs().max().item<double>(), 1e-10 * scale) << plain[i].first;
  }
}

}  // namespace
}  // namespace flyp::model
