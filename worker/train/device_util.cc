#include "worker/train/device_util.h"

#include <ATen/autocast_mode.h>

namespace flyp::train {

bool CudaAvailable() { return torch::cuda::is_available(); }

torch::Tensor PinnedIfCuda(const torch::Tensor& t) {
  // pin_memory() needs the CUDA host allocator: never call it without CUDA.
  if (!t.defined() || !t.device().is_cpu() || !CudaAvailable() || t.is_pinned()) return t;
  return t.pin_memory();
}

torch::Tensor ToDevice(const torch::Tensor& t, torch::Device device) {
  if (!t.defined() || t.device() == device) return t;
  const bool async = device.is_cuda() && t.device().is_cpu() && t.is_pinned();
  return t.to(device, /*non_blocking=*/async);
}

torch::Tensor Float32IfReduced(const torch::Tensor& t) {
  const auto type = t.scalar_type();
  return type == torch::kFloat16 || type == torch::kBFloat16 ? t.to(torch::kFloat32) : t;
}

AutocastScope::AutocastScope(torch::Device device, bool enabled, at::ScalarType dtype) {
  if (!enabled || !(device.is_cuda() || device.is_cpu())) return;
  active_ = true;
  cpu_ = device.is_cpu();
  if (cpu_) {
    prev_enabled_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast.__exit__: the cache of low-precision weight copies
  // lives until the outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cpu_) {
    at::autocast::set_cpu_enabled(prev_enabled_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
  } else {
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
  }
}

}  // namespace flyp::train
