// Pre-LN transformer blocks as in OpenAI CLIP / open_clip, with their
// parameter names: attn.in_proj_weight / attn.in_proj_bias (packed q, k, v),
// attn.out_proj, ln_1, mlp.c_fc -> activation -> mlp.c_proj, ln_2.
//
// Tensors are batch-first: [N, L, width]. Exceptions (c10::Error) on shape
// errors, as everywhere inside LibTorch code. Modules are not thread-safe;
// use one replica per thread.
#pragma once

#include <torch/torch.h>

namespace flyp::model {

// x * sigmoid(1.702 x) (OpenAI's weights were trained with it) or erf GELU.
torch::Tensor Activation(const torch::Tensor& x, bool quick_gelu);

// ln(x), computed in the norm's parameter dtype when x has another one: under
// autocast the residual stream is bf16 while the norm's weights stay
// float32, and LibTorch 1.13's CPU autocast (unlike CUDA's) neither casts
// layer_norm's input to float32 nor accepts mixed dtypes. The result is in
// the parameter dtype, as CUDA autocast's float32 policy for layer_norm gives.
torch::Tensor LayerNormIn(torch::nn::LayerNorm& ln, const torch::Tensor& x);

// softmax(q kᵀ / sqrt(d) + mask) v over [N, H, L, d] tensors. `causal` masks
// keys after the query position. Uses at::scaled_dot_product_attention on
// LibTorch >= 2, an explicit computation otherwise.
torch::Tensor ScaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v, bool causal);

class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t width, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x, bool causal);

  torch::Tensor in_proj_weight;  // [3w, w], rows q | k | v
  torch::Tensor in_proj_bias;    // [3w]
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t heads_;
};
TORCH_MODULE(MultiheadAttention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t width, int64_t hidden, bool quick_gelu);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};

 private:
  bool quick_gelu_;
};
TORCH_MODULE(Mlp);

class ResidualAttentionBlockImpl : public torch::nn::Module {
 public:
  ResidualAttentionBlockImpl(int64_t width, int64_t heads, int64_t mlp_width, bool quick_gelu);
  torch::Tensor forward(const torch::Tensor& x, bool causal);

  MultiheadAttention attn{nullptr};
  torch::nn::LayerNorm ln_1{nullptr};
  Mlp mlp{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

// One block's forward with activation checkpointing: computes
// block->forward(x, causal) without keeping the block's intermediate
// activations (only x is saved) and recomputes them in backward, under grad
// mode and the forward's autocast state, to produce the gradients of x and of
// the block's parameters that require grad. Same values and gradients as the
// plain call (the block is deterministic: no dropout); costs one extra block
// forward in backward. Falls back to the plain call when no gradient is
// needed (grad mode off, or neither x nor any parameter requires grad).
// Gradients reach the parameters through the ordinary autograd graph, so
// tensor hooks (GradientReducer) fire once per backward, as without it.
torch::Tensor CheckpointedBlockForward(const std::shared_ptr<ResidualAttentionBlockImpl>& block,
                                       const torch::Tensor& x, bool causal);

// A stack of blocks registered as `resblocks.0 ... resblocks.{layers-1}`.
class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(int64_t width, int64_t layers, int64_t heads, int64_t mlp_width, bool quick_gelu);
  torch::Tensor forward(torch::Tensor x, bool causal);

  // open_clip's text-tower initialisation: normal in_proj (std w^-0.5),
  // out_proj and c_proj (std w^-0.5 (2 layers)^-0.5), c_fc (std (2w)^-0.5).
  void InitLikeOpenClipText();

  // Activation checkpointing per block (default off): trades one extra
  // forward per block in backward for not storing the blocks' activations.
  void set_checkpointing(bool on) { checkpointing_ = on; }
  bool checkpointing() const { return checkpointing_; }

  std::vector<ResidualAttentionBlock> blocks;

 private:
  torch::nn::ModuleList resblocks_;
  int64_t width_;
  bool checkpointing_ = false;
};
TORCH_MODULE(Transformer);

}  // namespace flyp::model
