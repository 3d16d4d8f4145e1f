#include "worker/model/clip.h"

#include <cmath>
#include <stdexcept>

namespace flyp::model {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

// ------------------------------------------------------------ image tower ---

VisionTransformerImpl::VisionTransformerImpl(const ClipConfig& c) : config_(c) {
  const int64_t w = c.vision.width;
  const double scale = std::pow(static_cast<double>(w), -0.5);
  // Own parameters first, then children: OpenAI's state-dict order.
  class_embedding = register_parameter("class_embedding", torch::randn({w}) * scale);
  positional_embedding =
      register_parameter("positional_embedding", torch::randn({c.num_image_tokens(), w}) * scale);
  proj = register_parameter("proj", torch::randn({w, c.embed_dim}) * scale);
  conv1 = register_module(
      "conv1",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, w, c.patch_size).stride(c.patch_size).bias(false)));
  ln_pre = register_module("ln_pre", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w})));
  transformer = register_module(
      "transformer", Transformer(w, c.vision.layers, c.vision.heads, c.vision.mlp_width, c.quick_gelu));
  ln_post = register_module("ln_post", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w})));
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(2) == config_.image_size &&
                  images.size(3) == config_.image_size,
              "encode_image expects [N, 3, ", config_.image_size, ", ", config_.image_size, "] images, got ",
              images.sizes());
  const int64_t n = images.size(0);
  auto x = conv1->forward(images);   // [N, w, g, g]
  x = x.flatten(2).transpose(1, 2);  // [N, g*g, w]
  auto cls = class_embedding.to(x.dtype()).expand({n, 1, -1});
  x = torch::cat({cls, x}, 1) + positional_embedding.to(x.dtype());
  x = LayerNormIn(ln_pre, x);
  x = transformer->forward(x, /*causal=*/false);
  x = LayerNormIn(ln_post, x.select(1, 0));  // class token
  return torch::matmul(x, proj);
}

// ------------------------------------------------------------------- CLIP ---

ClipModel::ClipModel(const ClipConfig& config) : config_(config) {
  Status st = ValidateClipConfig(config);
  if (!st.ok()) throw std::invalid_argument(st.message());
  const int64_t tw = config.text.width;
  // Registration order reproduces OpenAI's state-dict order (own parameters,
  // then visual, transformer, token_embedding, ln_final).
  positional_embedding =
      register_parameter("positional_embedding", torch::empty({config.context_length, tw}));
  text_projection = register_parameter("text_projection", torch::empty({tw, config.embed_dim}));
  logit_scale_ = register_parameter("logit_scale", torch::full({}, std::log(1.0 / 0.07)));
  visual_ = register_module("visual", VisionTransformer(config));
  transformer_ = register_module("transformer", Transformer(tw, config.text.layers, config.text.heads,
                                                            config.text.mlp_width, config.quick_gelu));
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(config.vocab_size, tw));
  ln_final_ = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({tw})));

  torch::NoGradGuard no_grad;
  token_embedding_->weight.normal_(0.0, 0.02);
  positional_embedding.normal_(0.0, 0.01);
  transformer_->InitLikeOpenClipText();
  text_projection.normal_(0.0, std::pow(static_cast<double>(tw), -0.5));
}

torch::Tensor ClipModel::encode_image(const torch::Tensor& images) { return visual_->forward(images); }

torch::Tensor ClipModel::encode_text(const torch::Tensor& ids, int64_t* positions) {
  TORCH_CHECK(ids.dim() == 2 && ids.size(1) == config_.context_length, "encode_text expects [N, ",
              config_.context_length, "] token ids, got ", ids.sizes());
  TORCH_CHECK(ids.scalar_type() == torch::kLong, "encode_text expects int64 token ids, got ",
              ids.scalar_type());
  auto eot = ids.argmax(-1);  // [N]
  // The positions up to the batch's last EOT (see the header); one host
  // read of a scalar per call.
  const int64_t n = ids.size(0) == 0 ? ids.size(1) : eot.max().item<int64_t>() + 1;
  if (positions != nullptr) *positions = n;
  auto x =
      token_embedding_->forward(ids.narrow(1, 0, n)) + positional_embedding.narrow(0, 0, n);  // [N, n, w]
  x = transformer_->forward(x, /*causal=*/true);
  x = LayerNormIn(ln_final_, x);
  auto pooled = x.index({torch::arange(x.size(0), eot.options()), eot});
  return torch::matmul(pooled, text_projection);
}

void ClipModel::set_activation_checkpointing(bool on) {
  transformer_->set_checkpointing(on);
  visual_->transformer->set_checkpointing(on);
}

std::vector<torch::Tensor> ClipModel::visual_parameters() const { return visual_->parameters(); }

std::vector<std::pair<std::string, torch::Tensor>> ClipModel::named_text_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : named_parameters()) {
    if (StartsWith(p.key(), "visual.") || p.key() == "logit_scale") continue;
    out.emplace_back(p.key(), p.value());
  }
  return out;
}

std::vector<torch::Tensor> ClipModel::text_parameters() const {
  std::vector<torch::Tensor> out;
  for (auto& p : named_text_parameters()) out.push_back(p.second);
  return out;
}

}  // namespace flyp::model
