#include "worker/model/clip_architecture.h"

#include <cmath>
#include <string>

namespace flyp::model {
namespace {

template <typename Tower>
StatusOr<TowerConfig> ReadTower(const Tower& t, bool present, const std::string& path) {
  if (!present) return InvalidArgumentError(path + ": missing (use a preset or set every field)");
  if (!t.has_width()) return InvalidArgumentError(path + ".width: missing");
  if (!t.has_layers()) return InvalidArgumentError(path + ".layers: missing");
  if (!t.has_heads()) return InvalidArgumentError(path + ".heads: missing");
  TowerConfig c;
  c.width = t.width();
  c.layers = t.layers();
  c.heads = t.heads();
  const double ratio = t.has_mlp_ratio() ? t.mlp_ratio() : 4.0;
  if (!(ratio > 0) || !std::isfinite(ratio)) {
    return InvalidArgumentError(path + ".mlp_ratio: must be > 0, got " + std::to_string(ratio));
  }
  c.mlp_width = static_cast<int64_t>(static_cast<double>(c.width) * ratio);
  return c;
}

}  // namespace

StatusOr<ClipConfig> ClipConfigFromArchitecture(const v1::Architecture& a) {
  const std::string p = "model.architecture";
  if (!a.has_embed_dim()) return InvalidArgumentError(p + ".embed_dim: missing");
  ClipConfig c;
  c.embed_dim = a.embed_dim();
  FLYP_ASSIGN_OR_RETURN(c.vision, ReadTower(a.vision(), a.has_vision(), p + ".vision"));
  FLYP_ASSIGN_OR_RETURN(c.text, ReadTower(a.text(), a.has_text(), p + ".text"));
  if (!a.vision().has_patch_size()) return InvalidArgumentError(p + ".vision.patch_size: missing");
  if (!a.vision().has_image_size()) return InvalidArgumentError(p + ".vision.image_size: missing");
  if (!a.text().has_context_length()) return InvalidArgumentError(p + ".text.context_length: missing");
  if (!a.text().has_vocab_size()) return InvalidArgumentError(p + ".text.vocab_size: missing");
  c.patch_size = a.vision().patch_size();
  c.image_size = a.vision().image_size();
  c.context_length = a.text().context_length();
  c.vocab_size = a.text().vocab_size();
  c.quick_gelu = a.activation() == v1::ACTIVATION_QUICK_GELU;
  FLYP_RETURN_IF_ERROR(ValidateClipConfig(c));
  return c;
}

}  // namespace flyp::model
