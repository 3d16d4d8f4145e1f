// CLIP (OpenAI CLIP / open_clip, ARCHITECTURE §4): a ViT image tower and a
// causal text transformer projected into a shared embedding space.
//
// Parameter names equal open_clip's state-dict names exactly
// ("visual.conv1.weight", "transformer.resblocks.3.attn.in_proj_weight",
// "logit_scale", ...), and named_parameters() lists them in the order of
// ClipParameterShapes() (= OpenAI's state-dict order). No buffers are
// registered: the causal mask is built on the fly.
//
// Initialisation follows open_clip: token embedding N(0, 0.02), text
// positional embedding N(0, 0.01), class/positional embedding and `proj`
// N(0, width^-0.5), text blocks and text_projection as open_clip's
// CLIP.init_parameters, vision blocks with PyTorch's defaults,
// logit_scale = ln(1/0.07). Seed with torch::manual_seed for determinism.
//
// Thread safety: like any torch::nn::Module, not safe for concurrent
// forward/backward on one instance; clone per thread.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/model/clip_config.h"
#include "worker/model/transformer.h"

namespace flyp::model {

// The image tower; registered in ClipModel as "visual".
class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const ClipConfig& config);
  // images [N, 3, H, W] (H = W = image_size) -> [N, embed_dim]
  torch::Tensor forward(const torch::Tensor& images);

  torch::Tensor class_embedding;       // [width]
  torch::Tensor positional_embedding;  // [grid^2 + 1, width]
  torch::Tensor proj;                  // [width, embed_dim]
  torch::nn::Conv2d conv1{nullptr};    // patch embedding, no bias
  torch::nn::LayerNorm ln_pre{nullptr};
  Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_post{nullptr};

 private:
  ClipConfig config_;
};
TORCH_MODULE(VisionTransformer);

class ClipModel : public torch::nn::Module {
 public:
  // Throws std::invalid_argument if ValidateClipConfig(config) fails.
  explicit ClipModel(const ClipConfig& config);

  // images [N, 3, image_size, image_size], already normalised, in the model's
  // dtype and device -> [N, embed_dim] (not L2-normalised).
  torch::Tensor encode_image(const torch::Tensor& images);
  // ids [N, context_length] int64 (SOT ... EOT, zero padded; EOT has the
  // largest id) -> [N, embed_dim] (not L2-normalised). Pools the token at
  // argmax(ids) after ln_final.
  //
  // Runs the tower on the first max(argmax(ids)) + 1 positions only: under
  // the causal mask a position sees itself and the positions before it, so
  // nothing after the batch's last EOT can reach a pooled token, and its
  // outputs are never read. The values and gradients are those of running
  // all context_length positions (the skipped positions' gradients are
  // exactly zero there), up to the GEMMs' summation order; a batch of short
  // prompts ("a photo of a {class}." is 8-13 of 77 tokens) does a sixth of
  // the text tower's work. *positions (optional): the positions it ran.
  torch::Tensor encode_text(const torch::Tensor& ids, int64_t* positions = nullptr);

  // Activation checkpointing of every transformer block in both towers
  // (default off; see CheckpointedBlockForward): same values and gradients;
  // keeps only each block's input instead of all its intermediate
  // activations, for about one extra forward pass of compute. Changes no
  // parameter or name.
  void set_activation_checkpointing(bool on);
  bool activation_checkpointing() const { return transformer_->checkpointing(); }

  // The learnable log temperature (scalar). Trainers clamp it in place.
  torch::Tensor& logit_scale() { return logit_scale_; }
  const torch::Tensor& logit_scale() const { return logit_scale_; }

  const ClipConfig& config() const { return config_; }
  int64_t image_size() const { return config_.image_size; }
  int64_t context_length() const { return config_.context_length; }
  int64_t vocab_size() const { return config_.vocab_size; }
  int64_t embed_dim() const { return config_.embed_dim; }

  // The towers' parameters, for freezing or per-tower optimiser groups.
  // visual: every "visual.*" tensor. text: token_embedding,
  // positional_embedding, transformer.*, ln_final.*, text_projection.
  // logit_scale belongs to neither.
  VisionTransformer& visual() { return visual_; }
  std::vector<torch::Tensor> visual_parameters() const;
  std::vector<torch::Tensor> text_parameters() const;
  std::vector<std::pair<std::string, torch::Tensor>> named_text_parameters() const;

  torch::Tensor positional_embedding;  // text, [context_length, width]
  torch::Tensor text_projection;       // [width, embed_dim]

 private:
  ClipConfig config_;
  torch::Tensor logit_scale_;
  VisionTransformer visual_{nullptr};
  Transformer transformer_{nullptr};
  torch::nn::Embedding token_embedding_{nullptr};
  torch::nn::LayerNorm ln_final_{nullptr};
};

}  // namespace flyp::model
