#include "common/model_presets.h"

namespace flyp {
namespace {

struct PresetRow {
  const char* name;
  int embed_dim;
  int v_width, v_layers, v_heads, v_patch, v_image;
  int t_width, t_layers, t_heads, t_context, t_vocab;
  v1::Activation act;
};

constexpr v1::Activation kGelu = v1::ACTIVATION_GELU;
constexpr v1::Activation kQuick = v1::ACTIVATION_QUICK_GELU;

// OpenAI CLIP / open_clip dimensions. OpenAI's released weights use
// QuickGELU, hence the -quickgelu forms; open_clip's plain names use GELU.
// tiny is the demo / integration-test model: Fashion-MNIST's native 28x28
// px in 16 patches of 7x7, two 64-wide layers per tower, 48 text tokens (room
// for a prompt spelled byte by byte); pretrained on 12.8k captioned images
// a model of this size classifies ~78% of the test set zero-shot (tests/train). micro is for
// unit tests only.
const PresetRow kPresets[] = {
    {"ViT-B-32", 512, 768, 12, 12, 32, 224, 512, 12, 8, 77, 49408, kGelu},
    {"ViT-B-32-quickgelu", 512, 768, 12, 12, 32, 224, 512, 12, 8, 77, 49408, kQuick},
    {"ViT-B-16", 512, 768, 12, 12, 16, 224, 512, 12, 8, 77, 49408, kGelu},
    {"ViT-B-16-quickgelu", 512, 768, 12, 12, 16, 224, 512, 12, 8, 77, 49408, kQuick},
    {"ViT-L-14", 768, 1024, 24, 16, 14, 224, 768, 12, 12, 77, 49408, kGelu},
    {"ViT-L-14-quickgelu", 768, 1024, 24, 16, 14, 224, 768, 12, 12, 77, 49408, kQuick},
    {"ViT-L-14-336", 768, 1024, 24, 16, 14, 336, 768, 12, 12, 77, 49408, kGelu},
    {"ViT-L-14-336-quickgelu", 768, 1024, 24, 16, 14, 336, 768, 12, 12, 77, 49408, kQuick},
    {"tiny", 64, 64, 2, 2, 7, 28, 64, 2, 2, 48, 49408, kGelu},
    {"tiny-quickgelu", 64, 64, 2, 2, 7, 28, 64, 2, 2, 48, 49408, kQuick},
    {"micro", 16, 32, 1, 2, 8, 32, 32, 1, 2, 16, 49408, kGelu},
};

v1::Architecture FromRow(const PresetRow& r) {
  v1::Architecture a;
  a.set_embed_dim(r.embed_dim);
  auto* v = a.mutable_vision();
  v->set_width(r.v_width);
  v->set_layers(r.v_layers);
  v->set_heads(r.v_heads);
  v->set_patch_size(r.v_patch);
  v->set_image_size(r.v_image);
  v->set_mlp_ratio(4.0f);
  auto* t = a.mutable_text();
  t->set_width(r.t_width);
  t->set_layers(r.t_layers);
  t->set_heads(r.t_heads);
  t->set_context_length(r.t_context);
  t->set_vocab_size(r.t_vocab);
  t->set_mlp_ratio(4.0f);
  a.set_activation(r.act);
  return a;
}

}  // namespace

const std::vector<std::string>& ModelPresetNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& r : kPresets) n.emplace_back(r.name);
    return n;
  }();
  return names;
}

StatusOr<v1::Architecture> PresetArchitecture(const std::string& name) {
  for (const auto& r : kPresets) {
    if (name == r.name) return FromRow(r);
  }
  return NotFoundError("unknown model preset '" + name + "'");
}

StatusOr<v1::Architecture> ResolveArchitecture(const std::string& preset, const v1::Architecture& overrides) {
  v1::Architecture a;
  if (!preset.empty() && preset != "custom") {
    FLYP_ASSIGN_OR_RETURN(a, PresetArchitecture(preset));
  }
  // MergeFrom copies exactly the fields that are set (all are `optional`).
  a.MergeFrom(overrides);
  return a;
}

}  // namespace flyp
