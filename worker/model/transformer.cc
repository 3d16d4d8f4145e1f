#include "worker/model/transformer.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

namespace flyp::model {

torch::Tensor Activation(const torch::Tensor& x, bool quick_gelu) {
  if (quick_gelu) return x * torch::sigmoid(1.702 * x);
  return torch::gelu(x);
}

torch::Tensor ScaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (causal) {
    const int64_t l = q.size(-2);
    // Additive mask: -inf strictly above the diagonal (key after query).
    auto mask = torch::full({l, l}, -std::numeric_limits<float>::infinity(), scores.options()).triu(1);
    scores = scores + mask;
  }
  return torch::matmul(torch::softmax(scores, -1), v);
#endif
}

// ------------------------------------------------------------- attention ---

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t width, int64_t heads) : heads_(heads) {
  TORCH_CHECK(heads > 0 && width % heads == 0, "attention heads ", heads, " must divide width ", width);
  // PyTorch nn.MultiheadAttention defaults: xavier-uniform packed weight,
  // zero biases; out_proj keeps the Linear default weight.
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(in_proj_weight);
  out_proj->bias.zero_();
}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& x, bool causal) {
  const int64_t n = x.size(0), l = x.size(1), w = x.size(2);
  const int64_t d = w / heads_;
  auto qkv = torch::nn::functional::linear(x, in_proj_weight, in_proj_bias);
  // [N, L, 3, H, d] -> [3, N, H, L, d]
  qkv = qkv.view({n, l, 3, heads_, d}).permute({2, 0, 3, 1, 4});
  auto out = ScaledDotProductAttention(qkv[0], qkv[1], qkv[2], causal);
  out = out.transpose(1, 2).reshape({n, l, w});
  return out_proj->forward(out);
}

// ------------------------------------------------------------------- mlp ---

MlpImpl::MlpImpl(int64_t width, int64_t hidden, bool quick_gelu) : quick_gelu_(quick_gelu) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, hidden));
  c_proj = register_module("c_proj", torch::nn::Linear(hidden, width));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return c_proj->forward(Activation(c_fc->forward(x), quick_gelu_));
}

// ----------------------------------------------------------------- block ---

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(int64_t width, int64_t heads, int64_t mlp_width,
                                                       bool quick_gelu) {
  // Registration order = OpenAI's state-dict order: attn, ln_1, mlp, ln_2.
  attn = register_module("attn", MultiheadAttention(width, heads));
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  mlp = register_module("mlp", Mlp(width, mlp_width, quick_gelu));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
}

torch::Tensor ResidualAttentionBlockImpl::forward(const torch::Tensor& x, bool causal) {
  auto h = x + attn->forward(ln_1->forward(x), causal);
  return h + mlp->forward(ln_2->forward(h));
}

// ----------------------------------------------------------- transformer ---

TransformerImpl::TransformerImpl(int64_t width, int64_t layers, int64_t heads, int64_t mlp_width,
                                 bool quick_gelu)
    : width_(width) {
  resblocks_ = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) {
    blocks.emplace_back(width, heads, mlp_width, quick_gelu);
    resblocks_->push_back(blocks.back());
  }
}

torch::Tensor TransformerImpl::forward(torch::Tensor x, bool causal) {
  for (auto& b : blocks) x = b->forward(x, causal);
  return x;
}

void TransformerImpl::InitLikeOpenClipText() {
  torch::NoGradGuard no_grad;
  const double w = static_cast<double>(width_);
  const double layers = static_cast<double>(blocks.size());
  const double attn_std = std::pow(w, -0.5);
  const double proj_std = std::pow(w, -0.5) * std::pow(2.0 * layers, -0.5);
  const double fc_std = std::pow(2.0 * w, -0.5);
  for (auto& b : blocks) {
    b->attn->in_proj_weight.normal_(0.0, attn_std);
    b->attn->out_proj->weight.normal_(0.0, proj_std);
    b->mlp->c_fc->weight.normal_(0.0, fc_std);
    b->mlp->c_proj->weight.normal_(0.0, proj_std);
  }
}

}  // namespace flyp::model
