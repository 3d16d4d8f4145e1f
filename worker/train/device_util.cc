#include "worker/train/device_util.h"

#include <ATen/autocast_mode.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

// Provided by libopenblas when LibTorch links it (weak: absent otherwise).
extern "C" char* openblas_get_corename(void) __attribute__((weak));

#include "common/env.h"

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
  if (!enabled || !device.is_cuda()) return;
  active_ = true;
  prev_enabled_ = at::autocast::is_enabled();
  prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
  at::autocast::set_enabled(true);
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast.__exit__: the cache of low-precision weight copies
  // lives until the outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_enabled(prev_enabled_);
  at::autocast::set_autocast_gpu_dtype(prev_dtype_);
}

std::string OpenBlasCoreName() {
  if (openblas_get_corename == nullptr) return "";
  const char* name = openblas_get_corename();
  return name == nullptr ? "" : name;
}

std::string ChooseOpenBlasCoreType(const std::string& current_core, bool avx512, bool avx2_fma) {
  std::string core;
  for (char c : current_core) core += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool generic = core == "prescott" || core == "core2" || core == "nehalem" || core == "sandybridge";
  if (!generic) return "";
  if (avx512) return "SkylakeX";
  if (avx2_fma && core != "haswell") return "Haswell";
  return "";
}

namespace {
constexpr char kReexecMarker[] = "FLYP_OPENBLAS_REEXEC";
}  // namespace

bool OpenBlasTunedByReexec() { return std::getenv(kReexecMarker) != nullptr; }

void ReexecWithTunedOpenBlas(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || OpenBlasTunedByReexec()) return;
  if (EnvString(env::kOpenBlasTuning) == "0") return;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  const bool avx512 = false, avx2_fma = false;
#endif
  const std::string type = ChooseOpenBlasCoreType(OpenBlasCoreName(), avx512, avx2_fma);
  if (type.empty()) return;
  setenv("OPENBLAS_CORETYPE", type.c_str(), 1);
  setenv(kReexecMarker, "1", 1);
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the generic kernels.
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace flyp::train
