#include "worker/model/transformer.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

namespace flyp::model {

// torch::nn::Linear::forward (the C++ frontend's F::linear) computes a 3-D
// input as matmul + a separate bias add; ATen's at::linear, which Python's
// nn.Linear calls, folds a contiguous [N, L, in] input into one addmm with
// the bias (one pass fewer forward, and the bias gradient comes from the
// addmm backward instead of a broadcast-add backward).
torch::Tensor Affine(const torch::Tensor& x, const torch::nn::Linear& layer) {
  return at::linear(x, layer->weight, layer->bias);
}

torch::Tensor Activation(const torch::Tensor& x, bool quick_gelu) {
  if (quick_gelu) return x * torch::sigmoid(1.702 * x);
  return torch::gelu(x);
}

torch::Tensor LayerNormIn(torch::nn::LayerNorm& ln, const torch::Tensor& x) {
  const auto dtype = ln->weight.scalar_type();
  return ln->forward(x.scalar_type() == dtype ? x : x.to(dtype));
}

torch::Tensor ScaledDotProductAttention(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal);
#else
  // Same arithmetic as the textbook form with fewer passes over the L×L
  // scores: the scale is applied to q (L·d) instead of the scores, and the
  // causal mask is added by the batched matmul itself (baddbmm).
  const int64_t n = q.size(0), h = q.size(1), l = q.size(2), d = q.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto q3 = (q * scale).reshape({n * h, l, d});
  const auto kt = k.reshape({n * h, l, d}).transpose(1, 2);
  const auto v3 = v.reshape({n * h, l, d});
  torch::Tensor scores;
  if (causal) {
    // Additive mask: -inf strictly above the diagonal (key after query).
    auto mask = torch::full({l, l}, -std::numeric_limits<float>::infinity(), q.options()).triu(1);
    scores = torch::baddbmm(mask, q3, kt);
  } else {
    scores = torch::bmm(q3, kt);
  }
  return torch::bmm(torch::softmax(scores, -1), v3).view({n, h, l, d});
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
  auto qkv = at::linear(x, in_proj_weight, in_proj_bias);
  // [N, L, 3, H, d] -> [3, N, H, L, d]. On LibTorch 1.x one copy makes q, k
  // and v each contiguous, so the batched matmuls need no more copies; SDPA
  // (2.x) takes the strided views as they are (last dim contiguous).
  qkv = qkv.view({n, l, 3, heads_, d}).permute({2, 0, 3, 1, 4});
#if TORCH_VERSION_MAJOR < 2
  qkv = qkv.contiguous();
#endif
  // unbind, not qkv[0..2]: three selects would each backpropagate into a
  // zero-filled copy of the whole packed tensor; unbind's backward is one
  // stack.
  const auto parts = qkv.unbind(0);
  auto out = ScaledDotProductAttention(parts[0], parts[1], parts[2], causal);
  out = out.transpose(1, 2).reshape({n, l, w});
  return Affine(out, out_proj);
}

// ------------------------------------------------------------------- mlp ---

MlpImpl::MlpImpl(int64_t width, int64_t hidden, bool quick_gelu) : quick_gelu_(quick_gelu) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, hidden));
  c_proj = register_module("c_proj", torch::nn::Linear(hidden, width));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return Affine(Activation(Affine(x, c_fc), quick_gelu_), c_proj);
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
  auto h = x + attn->forward(LayerNormIn(ln_1, x), causal);
  return h + mlp->forward(LayerNormIn(ln_2, h));
}

// --------------------------------------------------------- checkpointing ---

namespace {

// What the checkpoint node keeps besides x: the block and the forward's
// autocast state (recomputation must use the same precision).
struct CheckpointState : torch::CustomClassHolder {
  std::shared_ptr<ResidualAttentionBlockImpl> block;
  bool causal = false;
  bool autocast_gpu = false;
  at::ScalarType autocast_gpu_dtype = at::kHalf;
  bool autocast_cpu = false;
  at::ScalarType autocast_cpu_dtype = at::kBFloat16;
};

// Restores the thread's autocast state on scope exit.
class AutocastStateGuard {
 public:
  explicit AutocastStateGuard(const CheckpointState& s)
      : gpu_(at::autocast::is_enabled()),
        gpu_dtype_(at::autocast::get_autocast_gpu_dtype()),
        cpu_(at::autocast::is_cpu_enabled()),
        cpu_dtype_(at::autocast::get_autocast_cpu_dtype()) {
    at::autocast::set_enabled(s.autocast_gpu);
    at::autocast::set_autocast_gpu_dtype(s.autocast_gpu_dtype);
    at::autocast::set_cpu_enabled(s.autocast_cpu);
    at::autocast::set_autocast_cpu_dtype(s.autocast_cpu_dtype);
  }
  ~AutocastStateGuard() {
    at::autocast::set_enabled(gpu_);
    at::autocast::set_autocast_gpu_dtype(gpu_dtype_);
    at::autocast::set_cpu_enabled(cpu_);
    at::autocast::set_autocast_cpu_dtype(cpu_dtype_);
  }
  AutocastStateGuard(const AutocastStateGuard&) = delete;
  AutocastStateGuard& operator=(const AutocastStateGuard&) = delete;

 private:
  bool gpu_;
  at::ScalarType gpu_dtype_;
  bool cpu_;
  at::ScalarType cpu_dtype_;
};

// Inputs: x, then the block's trainable parameters (so autograd routes their
// gradients through this node), then the state (not a tensor).
struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               torch::TensorList params, c10::intrusive_ptr<CheckpointState> state) {
    // Function::apply runs forward with grad mode off: no graph is kept.
    torch::Tensor out = state->block->forward(x, state->causal);
    ctx->save_for_backward({x});
    ctx->saved_data["num_params"] = static_cast<int64_t>(params.size());
    ctx->saved_data["state"] = c10::IValue::make_capsule(std::move(state));
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto state = c10::static_intrusive_pointer_cast<CheckpointState>(ctx->saved_data["state"].toCapsule());
    const int64_t num_params = ctx->saved_data["num_params"].toInt();
    const torch::Tensor saved_x = ctx->get_saved_variables()[0];
    // Inputs of the recomputation: x (always, so grad() has one input even
    // when x itself needs no gradient) and the trainable parameters.
    std::vector<torch::Tensor> params;
    for (const auto& p : state->block->parameters()) {
      if (p.requires_grad()) params.push_back(p);
    }
    TORCH_CHECK(
        static_cast<int64_t>(params.size()) == num_params,
        "activation checkpointing: the block's trainable parameters changed between forward and backward");
    torch::Tensor x = saved_x.detach().requires_grad_(true);
    torch::Tensor out;
    {
      torch::AutoGradMode grad_on(true);
      AutocastStateGuard autocast(*state);
      out = state->block->forward(x, state->causal);
    }
    std::vector<torch::Tensor> inputs{x};
    inputs.insert(inputs.end(), params.begin(), params.end());
    auto grads = torch::autograd::grad({out}, inputs, {grad_out[0]}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    // One entry per forward argument: x, each parameter, the state.
    grads.emplace_back();
    return grads;
  }
};

}  // namespace

torch::Tensor CheckpointedBlockForward(const std::shared_ptr<ResidualAttentionBlockImpl>& block,
                                       const torch::Tensor& x, bool causal) {
  std::vector<torch::Tensor> params;
  for (const auto& p : block->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  if (!torch::GradMode::is_enabled() || (!x.requires_grad() && params.empty())) {
    return block->forward(x, causal);
  }
  auto state = c10::make_intrusive<CheckpointState>();
  state->block = block;
  state->causal = causal;
  state->autocast_gpu = at::autocast::is_enabled();
  state->autocast_gpu_dtype = at::autocast::get_autocast_gpu_dtype();
  state->autocast_cpu = at::autocast::is_cpu_enabled();
  state->autocast_cpu_dtype = at::autocast::get_autocast_cpu_dtype();
  return CheckpointFunction::apply(x, torch::TensorList(params), std::move(state));
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
  for (auto& b : blocks)
    x = checkpointing_ ? CheckpointedBlockForward(b.ptr(), x, causal) : b->forward(x, causal);
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
