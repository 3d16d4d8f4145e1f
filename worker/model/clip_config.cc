#include "worker/model/clip_config.h"

namespace flyp::model {
namespace {

Status CheckTower(const TowerConfig& t, const std::string& path) {
  if (t.width <= 0) return InvalidArgumentError(path + ".width: must be > 0, got " + std::to_string(t.width));
  if (t.layers <= 0)
    return InvalidArgumentError(path + ".layers: must be > 0, got " + std::to_string(t.layers));
  if (t.heads <= 0) return InvalidArgumentError(path + ".heads: must be > 0, got " + std::to_string(t.heads));
  if (t.width % t.heads != 0) {
    return InvalidArgumentError(path + ".heads: " + std::to_string(t.heads) + " does not divide width " +
                                std::to_string(t.width));
  }
  if (t.mlp_width <= 0) {
    return InvalidArgumentError(path + ".mlp_ratio: gives an MLP width of " + std::to_string(t.mlp_width) +
                                ", must be > 0");
  }
  return Status::Ok();
}

}  // namespace

int64_t ParameterShape::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Status ValidateClipConfig(const ClipConfig& c) {
  const std::string p = "model.architecture";
  if (c.embed_dim <= 0)
    return InvalidArgumentError(p + ".embed_dim: must be > 0, got " + std::to_string(c.embed_dim));
  FLYP_RETURN_IF_ERROR(CheckTower(c.vision, p + ".vision"));
  FLYP_RETURN_IF_ERROR(CheckTower(c.text, p + ".text"));
  if (c.patch_size <= 0) {
    return InvalidArgumentError(p + ".vision.patch_size: must be > 0, got " + std::to_string(c.patch_size));
  }
  if (c.image_size <= 0) {
    return InvalidArgumentError(p + ".vision.image_size: must be > 0, got " + std::to_string(c.image_size));
  }
  if (c.image_size % c.patch_size != 0) {
    return InvalidArgumentError(p + ".vision.image_size: " + std::to_string(c.image_size) +
                                " is not a multiple of patch_size " + std::to_string(c.patch_size));
  }
  if (c.context_length <= 0) {
    return InvalidArgumentError(p + ".text.context_length: must be > 0, got " +
                                std::to_string(c.context_length));
  }
  if (c.vocab_size <= 0) {
    return InvalidArgumentError(p + ".text.vocab_size: must be > 0, got " + std::to_string(c.vocab_size));
  }
  return Status::Ok();
}

namespace {

void AddBlocks(std::vector<ParameterShape>& out, const std::string& prefix, const TowerConfig& t) {
  const int64_t w = t.width;
  for (int64_t i = 0; i < t.layers; ++i) {
    const std::string b = prefix + "transformer.resblocks." + std::to_string(i) + ".";
    out.push_back({b + "attn.in_proj_weight", {3 * w, w}});
    out.push_back({b + "attn.in_proj_bias", {3 * w}});
    out.push_back({b + "attn.out_proj.weight", {w, w}});
    out.push_back({b + "attn.out_proj.bias", {w}});
    out.push_back({b + "ln_1.weight", {w}});
    out.push_back({b + "ln_1.bias", {w}});
    out.push_back({b + "mlp.c_fc.weight", {t.mlp_width, w}});
    out.push_back({b + "mlp.c_fc.bias", {t.mlp_width}});
    out.push_back({b + "mlp.c_proj.weight", {w, t.mlp_width}});
    out.push_back({b + "mlp.c_proj.bias", {w}});
    out.push_back({b + "ln_2.weight", {w}});
    out.push_back({b + "ln_2.bias", {w}});
  }
}

}  // namespace

std::vector<ParameterShape> ClipParameterShapes(const ClipConfig& c) {
  std::vector<ParameterShape> out;
  const int64_t vw = c.vision.width;
  const int64_t tw = c.text.width;
  // PyTorch's state_dict and LibTorch's named_parameters both list a
  // module's own parameters first, then its children in registration order.
  // ClipModel registers in OpenAI's order, so this is also the order of an
  // OpenAI / open_clip state dict.
  out.push_back({"positional_embedding", {c.context_length, tw}});
  out.push_back({"text_projection", {tw, c.embed_dim}});
  out.push_back({"logit_scale", {}});
  out.push_back({"visual.class_embedding", {vw}});
  out.push_back({"visual.positional_embedding", {c.num_image_tokens(), vw}});
  out.push_back({"visual.proj", {vw, c.embed_dim}});
  out.push_back({"visual.conv1.weight", {vw, 3, c.patch_size, c.patch_size}});
  out.push_back({"visual.ln_pre.weight", {vw}});
  out.push_back({"visual.ln_pre.bias", {vw}});
  AddBlocks(out, "visual.", c.vision);
  out.push_back({"visual.ln_post.weight", {vw}});
  out.push_back({"visual.ln_post.bias", {vw}});
  AddBlocks(out, "", c.text);
  out.push_back({"token_embedding.weight", {c.vocab_size, tw}});
  out.push_back({"ln_final.weight", {tw}});
  out.push_back({"ln_final.bias", {tw}});
  return out;
}

int64_t ClipParameterCount(const ClipConfig& config) {
  int64_t n = 0;
  for (const auto& p : ClipParameterShapes(config)) n += p.numel();
  return n;
}

}  // namespace flyp::model
