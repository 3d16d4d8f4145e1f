#include "worker/model/clip.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/model_presets.h"
#include "worker/model/clip_architecture.h"

namespace flyp::model {
namespace {

ClipConfig PresetConfig(const std::string& name) {
  auto arch = PresetArchitecture(name);
  EXPECT_TRUE(arch.ok()) << arch.status();
  auto c = ClipConfigFromArchitecture(*arch);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

TEST(ClipConfigTest, ParameterCountsMatchOpenClip) {
  // open_clip: sum(p.numel() for p in model.parameters()), logit_scale included.
  EXPECT_EQ(ClipParameterCount(PresetConfig("ViT-B-32")), 151277313);
  EXPECT_EQ(ClipParameterCount(PresetConfig("ViT-B-32-quickgelu")), 151277313);
  EXPECT_EQ(ClipParameterCount(PresetConfig("ViT-B-16")), 149620737);
  EXPECT_EQ(ClipParameterCount(PresetConfig("ViT-L-14")), 427616513);
  EXPECT_EQ(ClipParameterCount(PresetConfig("ViT-L-14-336")), 427944193);
}

TEST(ClipConfigTest, RejectsInconsistentArchitectures) {
  auto arch = *PresetArchitecture("micro");
  arch.mutable_vision()->set_heads(3);  // 32 % 3 != 0
  auto c = ClipConfigFromArchitecture(arch);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "model.architecture.vision.heads: 3 does not divide width 32");

  arch = *PresetArchitecture("micro");
  arch.mutable_vision()->set_image_size(36);
  c = ClipConfigFromArchitecture(arch);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "model.architecture.vision.image_size: 36 is not a multiple of patch_size 8");

  arch = *PresetArchitecture("micro");
  arch.mutable_text()->set_layers(0);
  c = ClipConfigFromArchitecture(arch);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "model.architecture.text.layers: must be > 0, got 0");

  v1::Architecture custom;
  custom.set_embed_dim(8);
  c = ClipConfigFromArchitecture(custom);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "model.architecture.vision: missing (use a preset or set every field)");

  ClipConfig bad = PresetConfig("micro");
  bad.text.heads = 5;
  EXPECT_THROW(ClipModel{bad}, std::invalid_argument);
}

void ExpectModuleMatchesTable(const ClipModel& m) {
  const auto table = ClipParameterShapes(m.config());
  const auto params = m.named_parameters();
  ASSERT_EQ(params.size(), table.size());
  int64_t total = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(params[i].key(), table[i].name) << "at index " << i;
    EXPECT_EQ(params[i].value().sizes().vec(), table[i].shape) << table[i].name;
    total += params[i].value().numel();
  }
  EXPECT_EQ(total, ClipParameterCount(m.config()));
  EXPECT_TRUE(m.named_buffers().is_empty());
}

TEST(ClipModelTest, NamesAndShapesMatchTable) {
  ExpectModuleMatchesTable(ClipModel(PresetConfig("micro")));
  ExpectModuleMatchesTable(ClipModel(PresetConfig("tiny")));
}

TEST(ClipModelTest, RealViTB32HasOpenClipParameterCount) {
  ClipModel m(PresetConfig("ViT-B-32"));
  ExpectModuleMatchesTable(m);
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  EXPECT_EQ(n, 151277313);
  int64_t visual = 0, text = 0;
  for (const auto& p : m.visual_parameters()) visual += p.numel();
  for (const auto& p : m.text_parameters()) text += p.numel();
  EXPECT_EQ(visual + text + 1, n);  // + logit_scale
  EXPECT_EQ(visual, 87849216);      // open_clip ViT-B-32 visual tower
}

TEST(ClipModelTest, InitialisationFollowsOpenClip) {
  torch::manual_seed(0);
  ClipModel m(PresetConfig("tiny"));
  EXPECT_NEAR(m.logit_scale().item<double>(), std::log(1.0 / 0.07), 1e-6);
  EXPECT_NEAR(m.logit_scale().item<double>(), 2.6592600, 1e-6);
  auto params = m.named_parameters();
  // Sample standard deviations of large tensors are within a few % of target.
  EXPECT_NEAR(params["token_embedding.weight"].std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(params["positional_embedding"].std().item<double>(), 0.01, 0.001);
  // tiny: both towers 64 wide.
  EXPECT_NEAR(params["visual.positional_embedding"].std().item<double>(), std::pow(64.0, -0.5), 0.01);
  EXPECT_NEAR(params["text_projection"].std().item<double>(), std::pow(64.0, -0.5), 0.01);
  EXPECT_NEAR(params["transformer.resblocks.0.mlp.c_fc.weight"].std().item<double>(), std::pow(128.0, -0.5),
              0.003);
  EXPECT_EQ(params["visual.ln_pre.weight"].sum().item<double>(), 64.0);
  EXPECT_EQ(params["visual.transformer.resblocks.0.attn.in_proj_bias"].abs().sum().item<double>(), 0.0);
}

TEST(ClipModelTest, ForwardShapes) {
  torch::manual_seed(1);
  ClipModel m(PresetConfig("micro"));
  EXPECT_EQ(m.image_size(), 32);
  EXPECT_EQ(m.context_length(), 16);
  EXPECT_EQ(m.vocab_size(), 49408);
  auto img = m.encode_image(torch::randn({3, 3, 32, 32}));
  EXPECT_EQ(img.sizes().vec(), (std::vector<int64_t>{3, 16}));
  auto ids = torch::zeros({2, 16}, torch::kLong);
  ids.index_put_({torch::indexing::Slice(), 0}, 49406);
  ids.index_put_({torch::indexing::Slice(), 3}, 49407);
  auto txt = m.encode_text(ids);
  EXPECT_EQ(txt.sizes().vec(), (std::vector<int64_t>{2, 16}));
  EXPECT_TRUE(torch::isfinite(img).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(txt).all().item<bool>());
  EXPECT_THROW(m.encode_image(torch::randn({1, 3, 24, 24})), c10::Error);
  EXPECT_THROW(m.encode_text(torch::zeros({1, 15}, torch::kLong)), c10::Error);
}

TEST(ClipModelTest, SameSeedSameEmbeddings) {
  auto run = [](int seed) {
    torch::manual_seed(seed);
    ClipModel m(PresetConfig("micro"));
    torch::manual_seed(99);
    auto img = m.encode_image(torch::randn({2, 3, 32, 32}));
    auto ids = torch::randint(1, 49000, {2, 16}, torch::kLong);
    ids.index_put_({torch::indexing::Slice(), 5}, 49407);
    return std::make_pair(img, m.encode_text(ids));
  };
  auto a = run(7), b = run(7), c = run(8);
  EXPECT_TRUE(torch::equal(a.first, b.first));
  EXPECT_TRUE(torch::equal(a.second, b.second));
  EXPECT_FALSE(torch::allclose(a.first, c.first));
}

TEST(ClipModelTest, TokensAfterEotDoNotChangeTextEmbedding) {
  torch::manual_seed(2);
  ClipModel m(PresetConfig("micro"));
  auto ids = torch::zeros({1, 16}, torch::kLong);
  ids[0][0] = 49406;
  ids[0][1] = 320;
  ids[0][2] = 1125;
  ids[0][3] = 49407;
  auto base = m.encode_text(ids);
  auto after = ids.clone();
  after[0][7] = 4000;  // after EOT: invisible to the EOT token under the causal mask
  after[0][15] = 12;
  EXPECT_TRUE(torch::allclose(base, m.encode_text(after), 0, 1e-6));
  auto before = ids.clone();
  before[0][2] = 1126;  // before EOT: must change the embedding
  EXPECT_GT((base - m.encode_text(before)).abs().max().item<double>(), 1e-4);
}

// encode_text runs the positions up to the batch's last EOT only. Reference:
// the same captions in a batch with one more caption whose EOT is the last
// position, which makes the tower run all context_length positions (rows do
// not interact). The features and the gradients of a loss on the short
// captions must agree.
TEST(ClipModelTest, TextTowerStopsAtTheLastEotWithTheFullLengthValuesAndGradients) {
  torch::manual_seed(5);
  ClipModel m(PresetConfig("micro"));
  ASSERT_EQ(m.context_length(), 16);
  auto shorts = torch::zeros({3, 16}, torch::kLong);
  const std::vector<std::vector<int64_t>> rows = {
      {49406, 320, 49407}, {49406, 320, 1125, 530, 49407}, {49406, 12, 49407}};
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t i = 0; i < rows[r].size(); ++i) shorts[r][i] = rows[r][i];
  auto full_row = torch::full({1, 16}, 7, torch::kLong);
  full_row[0][0] = 49406;
  full_row[0][15] = 49407;
  const auto with_full = torch::cat({shorts, full_row});
  const auto weights = torch::randn({3, m.embed_dim()});

  auto run = [&](const torch::Tensor& ids, int64_t* positions) {
    for (auto& p : m.parameters()) p.mutable_grad() = torch::Tensor();
    auto features = m.encode_text(ids, positions).slice(0, 0, 3);
    (features * weights).sum().backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : m.parameters())
      grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    return std::make_pair(features.detach(), grads);
  };
  int64_t short_positions = 0, full_positions = 0;
  const auto [cut, cut_grads] = run(shorts, &short_positions);
  const auto [full, full_grads] = run(with_full, &full_positions);
  EXPECT_EQ(short_positions, 5);  // the longest caption's EOT is at position 4
  EXPECT_EQ(full_positions, 16);
  EXPECT_TRUE(torch::allclose(cut, full, 1e-5, 1e-6)) << (cut - full).abs().max();
  ASSERT_EQ(cut_grads.size(), full_grads.size());
  const auto named = m.named_parameters();
  for (size_t i = 0; i < cut_grads.size(); ++i) {
    EXPECT_TRUE(torch::allclose(cut_grads[i], full_grads[i], 1e-4, 1e-6))
        << named[i].key() << ": " << (cut_grads[i] - full_grads[i]).abs().max();
  }
  // The positional embedding's rows after position 4 get no gradient either way.
  const auto& pos = m.positional_embedding;
  ASSERT_TRUE(pos.grad().defined());
  EXPECT_EQ(pos.grad().slice(0, 5).abs().max().item<double>(), 0.0);
  EXPECT_GT(pos.grad().slice(0, 0, 5).abs().max().item<double>(), 0.0);
}

TEST(AttentionTest, MatchesExplicitComputation) {
  torch::manual_seed(3);
  auto q = torch::randn({1, 1, 3, 2}), k = torch::randn({1, 1, 3, 2}), v = torch::randn({1, 1, 3, 2});
  for (bool causal : {false, true}) {
    auto out = ScaledDotProductAttention(q, k, v, causal);
    for (int i = 0; i < 3; ++i) {
      std::vector<double> w(3, 0.0);
      double z = 0;
      for (int j = 0; j < 3; ++j) {
        if (causal && j > i) continue;
        double s = (q[0][0][i] * k[0][0][j]).sum().item<double>() / std::sqrt(2.0);
        w[j] = std::exp(s);
        z += w[j];
      }
      for (int c = 0; c < 2; ++c) {
        double expect = 0;
        for (int j = 0; j < 3; ++j) expect += w[j] / z * v[0][0][j][c].item<double>();
        EXPECT_NEAR(out[0][0][i][c].item<double>(), expect, 1e-5) << "causal=" << causal << " i=" << i;
      }
    }
  }
}

TEST(ActivationTest, GeluAndQuickGelu) {
  auto x = torch::tensor({1.0f, -2.0f});
  auto quick = Activation(x, true);
  EXPECT_NEAR(quick[0].item<double>(), 1.0 / (1.0 + std::exp(-1.702)), 1e-6);
  EXPECT_NEAR(quick[1].item<double>(), -2.0 / (1.0 + std::exp(3.404)), 1e-6);
  auto gelu = Activation(x, false);
  EXPECT_NEAR(gelu[0].item<double>(), 0.5 * (1 + std::erf(1 / std::sqrt(2.0))), 1e-6);
  EXPECT_NEAR(gelu[1].item<double>(), -1.0 * (1 + std::erf(-2 / std::sqrt(2.0))), 1e-6);
}

}  // namespace
}  // namespace flyp::model
