#include "worker/model/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <fstream>
#include <set>

#include "common/model_presets.h"
#include "tests/testing/test_env.h"
#include "worker/model/clip_architecture.h"

namespace flyp::model {
namespace {

ClipConfig MicroConfig() { return *ClipConfigFromArchitecture(*PresetArchitecture("micro")); }

std::unique_ptr<ClipModel> Micro(int seed) {
  torch::manual_seed(seed);
  return std::make_unique<ClipModel>(MicroConfig());
}

std::string Path(const std::string& name) { return flyp::testing::TempDir() + "/" + name; }

NamedTensors StateDict(const ClipModel& m) {
  NamedTensors out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value().detach().clone());
  return out;
}

// Fixed inputs: two images, two captions (EOT at different places).
std::pair<torch::Tensor, torch::Tensor> Embed(ClipModel& m) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1234);
  auto images = torch::randn({2, 3, 32, 32});
  auto ids = torch::randint(1, 49000, {2, 16}, torch::kLong);
  ids.index_put_({0, 4}, 49407);
  ids.index_put_({1, 9}, 49407);
  return {m.encode_image(images), m.encode_text(ids)};
}

void ExpectSameWeights(const ClipModel& a, const ClipModel& b) {
  auto pa = a.named_parameters();
  auto pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
}

// Same names in the same order, equal values.
void ExpectSameTensors(const NamedTensors& got, const NamedTensors& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_TRUE(torch::equal(got[i].second, want[i].second)) << want[i].first;
  }
}

Status LoadTensors(const NamedTensors& t, ClipModel& m) {
  return LoadClipStateDict(t, m, "test.safetensors");
}

TEST(CheckpointTest, SaveLoadRoundTrip) {
  auto a = Micro(1);
  auto b = Micro(2);
  const std::string p = Path("rt.safetensors");
  ASSERT_TRUE(SaveClipCheckpoint(p, *a, {{"step", "3"}}).ok());
  std::map<std::string, std::string> meta;
  auto raw = ReadSafetensors(p, &meta);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(meta.at("step"), "3");
  EXPECT_EQ(meta.at("format"), "pt");
  EXPECT_EQ((*raw)[0].first, "positional_embedding");
  EXPECT_EQ(raw->back().first, "ln_final.bias");
  ASSERT_TRUE(LoadClipCheckpoint(p, *b).ok());
  ExpectSameWeights(*a, *b);
  auto ea = Embed(*a), eb = Embed(*b);
  EXPECT_TRUE(torch::equal(ea.first, eb.first));
  EXPECT_TRUE(torch::equal(ea.second, eb.second));
}

TEST(CheckpointTest, HuggingFaceNamesAndLayout) {
  auto a = Micro(3);
  NamedTensors oc = StateDict(*a);
  NamedTensors hf = MapOpenClipToHf(oc);
  std::map<std::string, torch::Tensor> by;
  for (auto& [n, t] : hf) by[n] = t;
  const int64_t w = 32;
  ASSERT_TRUE(by.count("vision_model.pre_layrnorm.weight"));
  ASSERT_TRUE(by.count("vision_model.post_layernorm.bias"));
  ASSERT_TRUE(by.count("vision_model.embeddings.patch_embedding.weight"));
  ASSERT_TRUE(by.count("vision_model.embeddings.class_embedding"));
  ASSERT_TRUE(by.count("text_model.final_layer_norm.weight"));
  ASSERT_TRUE(by.count("text_model.encoder.layers.0.mlp.fc1.weight"));
  ASSERT_TRUE(by.count("vision_model.encoder.layers.0.layer_norm2.bias"));
  ASSERT_TRUE(by.count("text_model.embeddings.position_embedding.weight"));
  ASSERT_TRUE(by.count("logit_scale"));
  auto params = a->named_parameters();
  // Projections are stored transposed: [embed_dim, width].
  EXPECT_EQ(by["visual_projection.weight"].sizes().vec(), (std::vector<int64_t>{16, w}));
  EXPECT_TRUE(torch::equal(by["visual_projection.weight"], params["visual.proj"].t()));
  EXPECT_TRUE(torch::equal(by["text_projection.weight"], params["text_projection"].t()));
  // in_proj rows are q | k | v.
  const auto& in_w = params["visual.transformer.resblocks.0.attn.in_proj_weight"];
  EXPECT_TRUE(torch::equal(by["vision_model.encoder.layers.0.self_attn.q_proj.weight"], in_w.slice(0, 0, w)));
  EXPECT_TRUE(
      torch::equal(by["vision_model.encoder.layers.0.self_attn.k_proj.weight"], in_w.slice(0, w, 2 * w)));
  EXPECT_TRUE(torch::equal(by["vision_model.encoder.layers.0.self_attn.v_proj.bias"],
                           params["visual.transformer.resblocks.0.attn.in_proj_bias"].slice(0, 2 * w)));
  // 12 tensors per block become 16 (q/k/v weight and bias instead of in_proj).
  EXPECT_EQ(hf.size(), oc.size() + 4 * (1 + 1));

  auto back = MapHfToOpenClip(hf);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameTensors(*back, oc);
}

// The one name table read both ways: open_clip -> HF -> open_clip and
// HF -> open_clip -> HF are the identity on names, order and values, no two
// names collide, and every HF name is one of CLIPModel's.
TEST(CheckpointTest, NameTableRoundTripsBothWays) {
  ClipConfig cfg = MicroConfig();
  cfg.vision.layers = 2;  // more than one block per tower: layer numbers survive
  cfg.text.layers = 3;
  torch::manual_seed(21);
  ClipModel m(cfg);
  const NamedTensors oc = StateDict(m);
  const NamedTensors hf = MapOpenClipToHf(oc);
  // 12 tensors per block become 16 (q/k/v weight and bias instead of in_proj).
  EXPECT_EQ(hf.size(), oc.size() + 4 * (2 + 3));
  std::set<std::string> hf_names;
  for (const auto& [n, t] : hf) {
    EXPECT_TRUE(hf_names.insert(n).second) << "two tensors named " << n;
    const bool clip_model_name = n.rfind("vision_model.", 0) == 0 || n.rfind("text_model.", 0) == 0 ||
                                 n == "visual_projection.weight" || n == "text_projection.weight" ||
                                 n == "logit_scale";
    EXPECT_TRUE(clip_model_name) << n << " is not a HuggingFace CLIPModel name";
  }
  EXPECT_EQ(DetectCheckpointScheme(hf), CheckpointScheme::kHuggingFace);
  EXPECT_EQ(DetectCheckpointScheme(oc), CheckpointScheme::kOpenClip);

  auto back = MapHfToOpenClip(hf);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameTensors(*back, oc);
  ExpectSameTensors(MapOpenClipToHf(*back), hf);
  EXPECT_TRUE(hf_names.count("text_model.encoder.layers.2.self_attn.v_proj.bias"));
  EXPECT_TRUE(hf_names.count("vision_model.encoder.layers.1.mlp.fc2.weight"));
}

TEST(CheckpointTest, NamesOutsideTheTablePassThroughBothWays) {
  const torch::Tensor t = torch::ones({2});
  const NamedTensors odd = {{"visual.extra", t},
                            {"transformer.resblocks.x.ln_1.weight", t},         // no layer number
                            {"transformer.resblocks.0.attn.in_proj_scale", t},  // not weight/bias
                            {"transformer.resblocks.0.unknown.weight", t}};
  const NamedTensors hf = MapOpenClipToHf(odd);
  ASSERT_EQ(hf.size(), odd.size());
  for (size_t i = 0; i < odd.size(); ++i) EXPECT_EQ(hf[i].first, odd[i].first);
  const NamedTensors odd_hf = {{"text_model.encoder.layers.0.self_attn.q_proj.scale", t},
                               {"vision_model.encoder.layers.0.unknown.bias", t},
                               {"text_model.something", t}};
  auto oc = MapHfToOpenClip(odd_hf);
  ASSERT_TRUE(oc.ok()) << oc.status();
  ASSERT_EQ(oc->size(), odd_hf.size());
  for (size_t i = 0; i < odd_hf.size(); ++i) EXPECT_EQ((*oc)[i].first, odd_hf[i].first);
}

TEST(CheckpointTest, HuggingFaceFileGivesIdenticalEmbeddings) {
  auto a = Micro(4);
  NamedTensors hf = MapOpenClipToHf(StateDict(*a));
  hf.emplace_back("text_model.embeddings.position_ids", torch::arange(16).unsqueeze(0));
  hf.emplace_back("vision_model.embeddings.position_ids", torch::arange(17).unsqueeze(0));
  const std::string p = Path("hf.safetensors");
  ASSERT_TRUE(WriteSafetensors(p, hf).ok());
  auto b = Micro(5);
  Status st = LoadClipCheckpoint(p, *b);
  ASSERT_TRUE(st.ok()) << st;
  ExpectSameWeights(*a, *b);
  auto ea = Embed(*a), eb = Embed(*b);
  EXPECT_TRUE(torch::equal(ea.first, eb.first));
  EXPECT_TRUE(torch::equal(ea.second, eb.second));
}

TEST(CheckpointTest, DdpModulePrefixIsStripped) {
  auto a = Micro(6);
  NamedTensors t;
  for (auto& [n, v] : StateDict(*a)) t.emplace_back("module." + n, v);
  auto b = Micro(7);
  ASSERT_TRUE(LoadTensors(t, *b).ok());
  ExpectSameWeights(*a, *b);
}

TEST(CheckpointTest, MissingTensorIsNamed) {
  auto a = Micro(8);
  NamedTensors t = StateDict(*a);
  t.erase(std::remove_if(t.begin(), t.end(), [](auto& p) { return p.first == "visual.ln_post.bias"; }),
          t.end());
  auto b = Micro(9);
  auto before = StateDict(*b);
  Status st = LoadTensors(t, *b);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      st.message(),
      "test.safetensors (open_clip names): missing tensor 'visual.ln_post.bias'; 1 of the model's 38 tensors "
      "are missing");
  // Nothing was copied.
  EXPECT_TRUE(torch::equal(before[0].second, b->named_parameters()[before[0].first]));

  NamedTensors hf = MapOpenClipToHf(StateDict(*a));
  hf.erase(
      std::remove_if(hf.begin(), hf.end(), [](auto& p) { return p.first == "visual_projection.weight"; }),
      hf.end());
  st = LoadTensors(hf, *b);
  EXPECT_EQ(st.message(),
            "test.safetensors (huggingface names): missing tensor 'visual.proj' (HuggingFace "
            "'visual_projection.weight'); 1 of the model's 38 tensors are missing");
}

TEST(CheckpointTest, IncompleteQkvIsAnError) {
  auto a = Micro(10);
  NamedTensors hf = MapOpenClipToHf(StateDict(*a));
  hf.erase(
      std::remove_if(hf.begin(), hf.end(),
                     [](auto& p) { return p.first == "text_model.encoder.layers.0.self_attn.k_proj.bias"; }),
      hf.end());
  Status st = LoadTensors(hf, *a);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      st.message(),
      "test.safetensors (huggingface names): incomplete q/k/v projection for "
      "'transformer.resblocks.0.attn.in_proj_bias': 'text_model.encoder.layers.0.self_attn.k_proj.bias' "
      "is missing");
}

TEST(CheckpointTest, MissingQkvTripleIsNamedWithItsHuggingFaceNames) {
  auto a = Micro(12);
  NamedTensors hf = MapOpenClipToHf(StateDict(*a));
  const std::set<std::string> gone = {"vision_model.encoder.layers.0.self_attn.q_proj.weight",
                                      "vision_model.encoder.layers.0.self_attn.k_proj.weight",
                                      "vision_model.encoder.layers.0.self_attn.v_proj.weight"};
  const size_t before = hf.size();
  hf.erase(std::remove_if(hf.begin(), hf.end(), [&](auto& p) { return gone.count(p.first) > 0; }), hf.end());
  ASSERT_EQ(hf.size(), before - 3);
  Status st = LoadTensors(hf, *a);
  EXPECT_EQ(st.message(),
            "test.safetensors (huggingface names): missing tensor "
            "'visual.transformer.resblocks.0.attn.in_proj_weight' (HuggingFace "
            "'vision_model.encoder.layers.0.self_attn.{q,k,v}_proj.weight'); 1 of the model's 38 tensors are "
            "missing");
}

TEST(CheckpointTest, UnexpectedTensorsAreListed) {
  auto a = Micro(11);
  NamedTensors t = StateDict(*a);
  t.emplace_back("visual.extra", torch::zeros({1}));
  t.emplace_back("head.weight", torch::zeros({1}));
  Status st = LoadTensors(t, *a);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "test.safetensors (open_clip names): 2 unexpected tensor(s) not in the model: 'visual.extra', "
            "'head.weight'");
}

TEST(CheckpointTest, ShapeMismatchNamesBothShapes) {
  auto a = Micro(12);
  auto arch = *PresetArchitecture("micro");
  arch.set_embed_dim(24);
  ClipModel other(*ClipConfigFromArchitecture(arch));
  const std::string p = Path("shape.safetensors");
  ASSERT_TRUE(SaveClipCheckpoint(p, other).ok());
  Status st = LoadClipCheckpoint(p, *a);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), p + " (open_clip names): tensor 'text_projection' has shape [32, 24] but the model "
                              "expects [32, 16] (does the checkpoint match the model preset?)");
}

TEST(CheckpointTest, HalfPrecisionLoadsAsRoundedFloat) {
  auto a = Micro(13);
  for (auto dtype : {torch::kHalf, torch::kBFloat16}) {
    NamedTensors t;
    for (auto& [n, v] : StateDict(*a)) t.emplace_back(n, v.to(dtype));
    const std::string p = Path("half.safetensors");
    ASSERT_TRUE(WriteSafetensors(p, t).ok());
    auto b = Micro(14);
    ASSERT_TRUE(LoadClipCheckpoint(p, *b).ok());
    for (const auto& param : b->named_parameters()) {
      EXPECT_EQ(param.value().scalar_type(), torch::kFloat);
      auto expect = a->named_parameters()[param.key()].to(dtype).to(torch::kFloat);
      EXPECT_TRUE(torch::equal(param.value(), expect)) << param.key() << " " << dtype;
    }
  }
}

// Builds a TorchScript module whose parameter names are the given dotted
// names (one nested submodule per path component), as OpenAI's archives.
void AddParameter(torch::jit::Module& root, const std::string& name, const torch::Tensor& t, bool buffer) {
  torch::jit::Module cur = root;  // a handle: copies share the module
  std::string rest = name, prefix;
  size_t dot;
  while ((dot = rest.find('.')) != std::string::npos) {
    const std::string part = rest.substr(0, dot);
    prefix += part + "_";
    rest = rest.substr(dot + 1);
    if (cur.hasattr(part)) {
      cur = torch::jit::Module(cur.attr(part).toObject());
    } else {
      torch::jit::Module m(c10::QualifiedName("__torch__.flyp_test.M_" + prefix));
      cur.register_module(part, m);
      cur = m;
    }
  }
  cur.register_parameter(rest, t, buffer);
}

TEST(CheckpointTest, OpenAiTorchScriptArchiveLoads) {
  auto a = Micro(15);
  torch::jit::Module root(c10::QualifiedName("__torch__.flyp_test.CLIP"));
  // OpenAI's released archives hold fp16 weights and a few non-weight entries.
  for (auto& [n, v] : StateDict(*a)) AddParameter(root, n, v.to(torch::kHalf), false);
  AddParameter(root, "input_resolution", torch::tensor(32), true);
  const std::string p = Path("ViT-micro.pt");
  root.save(p);
  auto tensors = ReadTorchScriptTensors(p);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  EXPECT_EQ(tensors->size(), a->named_parameters().size() + 1);

  auto b = Micro(16);
  Status st = LoadClipCheckpoint(p, *b);
  ASSERT_TRUE(st.ok()) << st;
  for (const auto& param : b->named_parameters()) {
    auto expect = a->named_parameters()[param.key()].to(torch::kHalf).to(torch::kFloat);
    EXPECT_TRUE(torch::equal(param.value(), expect)) << param.key();
  }

  const std::string bad = Path("bad.pt");
  std::ofstream(bad) << "PK\x03\x04 this is not a zip archive";
  st = LoadClipCheckpoint(bad, *b);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find(bad + ": not a loadable TorchScript archive"), std::string::npos) << st;
}

TEST(BuildClipModelTest, BuildsLoadsAndConverts) {
  auto a = Micro(17);
  const std::string p = Path("build.safetensors");
  ASSERT_TRUE(SaveClipCheckpoint(p, *a).ok());
  v1::ModelSpec spec;
  spec.set_preset("micro");
  spec.set_checkpoint(p);
  auto m = BuildClipModel(spec);
  ASSERT_TRUE(m.ok()) << m.status();
  ExpectSameWeights(*a, **m);

  spec.set_dtype(v1::DTYPE_BFLOAT16);
  m = BuildClipModel(spec);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->logit_scale().scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal((*m)->text_projection, a->text_projection.to(torch::kBFloat16)));

  spec.set_dtype(static_cast<v1::Dtype>(9));  // a number from a newer client
  EXPECT_EQ(BuildClipModel(spec).status().message(),
            "model.dtype: value 9 is not one of float32, float16, bfloat16");
  spec.clear_dtype();
  spec.set_checkpoint(Path("missing.safetensors"));
  EXPECT_EQ(BuildClipModel(spec).status().code(), StatusCode::kNotFound);
  spec.set_preset("ViT-Z-1");
  EXPECT_EQ(BuildClipModel(spec).status().code(), StatusCode::kNotFound);
  // Architecture overrides apply on top of the preset and are validated.
  spec.set_preset("micro");
  spec.clear_checkpoint();
  spec.mutable_architecture()->mutable_text()->set_heads(3);
  EXPECT_EQ(BuildClipModel(spec).status().message(),
            "model.architecture.text.heads: 3 does not divide width 32");
}

}  // namespace
}  // namespace flyp::model
