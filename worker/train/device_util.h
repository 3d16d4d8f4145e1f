// Small device helpers for the training fast path on GPUs: pinned host
// memory, asynchronous host-to-device copies and a bf16 autocast scope (the
// CPU's OpenBLAS kernel choice is worker/openblas.h).
// Every helper compiles and works with CPU-only LibTorch (1.13): the CUDA
// behaviour switches on only for CUDA devices, and is a no-op otherwise.
//
// Thread safety: the functions are thread-safe; AutocastScope changes the
// CALLING thread's autocast state (as torch.autocast does) and must be
// destroyed on that thread, in reverse order of creation.
#pragma once

#include <torch/torch.h>

namespace flyp::train {

// True when LibTorch was built with CUDA and a device is visible.
bool CudaAvailable();

// A page-locked copy of a CPU tensor when CUDA is available (so a later
// copy to the GPU can be asynchronous), else `t` itself. Tensors that are
// already pinned or not on the CPU are returned as they are.
torch::Tensor PinnedIfCuda(const torch::Tensor& t);

// `t` on `device`. CPU -> CUDA copies are non-blocking when `t` is pinned
// (ordered on the current CUDA stream, so kernels queued after it see the
// data; the caching host allocator keeps the source alive until the copy is
// done). Same device: `t` itself, no copy.
torch::Tensor ToDevice(const torch::Tensor& t, torch::Device device);

// float16/bfloat16 tensors (an encoder's output under autocast) as float32;
// any other tensor unchanged. What the losses take: they run in float32.
torch::Tensor Float32IfReduced(const torch::Tensor& t);

// Automatic mixed precision for a block of code, as `with
// torch.autocast("cuda" or "cpu", dtype=bfloat16)`: eligible ops (matmul,
// linear, conv, SDPA) run in `dtype`, precision-sensitive ones (softmax,
// layer_norm, losses) in float32; parameters stay float32. On a CPU the
// bf16 matmuls go to oneDNN, fast only where the CPU multiplies bf16
// natively (AVX-512-BF16, AMX; worker/openblas.h CpuHasNativeBf16). On
// another device, or with enabled = false, it changes nothing. Nested scopes restore
// the enclosing state; the weight-cast cache is cleared when the outermost
// scope ends. Backward may run outside the scope (as in PyTorch).
class AutocastScope {
 public:
  AutocastScope(torch::Device device, bool enabled, at::ScalarType dtype = at::kBFloat16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  // Whether this scope turned autocast on.
  bool active() const { return active_; }

 private:
  bool active_ = false;
  bool cpu_ = false;  // the CPU's autocast state, not CUDA's
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kHalf;
};

}  // namespace flyp::train
