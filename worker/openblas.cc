#include "worker/openblas.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <sstream>
#include <unordered_set>

#include "common/env.h"
#include "common/file_util.h"

// Provided by libopenblas when LibTorch links it (weak: absent otherwise).
extern "C" char* openblas_get_corename(void) __attribute__((weak));

namespace flyp::worker {

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

std::string CpuIsaNameFromFlags(const std::string& flags) {
  std::unordered_set<std::string> have;
  std::istringstream words(flags);
  for (std::string w; words >> w;) have.insert(w);
  if (have.count("amx_bf16")) return "AMX-BF16";
  if (have.count("avx512_bf16")) return "AVX-512-BF16";
  if (have.count("avx512f")) return "AVX-512";
  if (have.count("avx2")) return "AVX2";
  return "SSE";
}

std::string CpuIsaName() {
  auto info = ReadFileToString("/proc/cpuinfo", size_t{64} << 20);
  if (!info.ok()) return "unknown";
  const size_t at = info->find("\nflags");
  if (at == std::string::npos) return "unknown";
  const size_t colon = info->find(':', at);
  const size_t end = info->find('\n', at + 1);
  if (colon == std::string::npos || colon > end) return "unknown";
  return CpuIsaNameFromFlags(info->substr(colon + 1, end - colon - 1));
}

bool CpuHasNativeBf16(const std::string& isa) { return isa == "AMX-BF16" || isa == "AVX-512-BF16"; }

bool OpenBlasTunedByReexec() { return EnvIsSet(env::kOpenBlasReexec); }

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
  setenv(env::kOpenBlasReexec.name, "1", 1);
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the generic kernels.
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace flyp::worker
