// The CPU's OpenBLAS kernels: which ones the library picked, and the
// re-execution of flyp-worker that makes it pick the right ones.
//
// An OpenBLAS release chooses its kernels by CPU model when it is loaded and
// falls back to the generic SSE3 "Prescott" kernels on models it does not
// know (Debian 12's 0.3.21 on Xeon family 6 model 207, Emerald Rapids): sgemm,
// most of a training step on CPU, then runs about 3x slower (see
// docs/performance.md). OPENBLAS_CORETYPE, read only at load time, overrides
// the choice.
//
// Thread safety: OpenBlasCoreName and ChooseOpenBlasCoreType are thread-safe;
// ReexecWithTunedOpenBlas must run before any other thread starts.
#pragma once

#include <string>

namespace flyp::worker {

// The kernels in use ("Prescott", "SkylakeX", ...), or "" when OpenBLAS is
// not loaded (e.g. a LibTorch built with MKL).
std::string OpenBlasCoreName();

// The OPENBLAS_CORETYPE worth forcing: "SkylakeX" with AVX-512 F/BW/VL/DQ,
// "Haswell" with AVX2 + FMA, when `current_core` is a generic fallback
// ("Prescott", "Core2", "Nehalem", "Sandybridge" with AVX2); "" otherwise.
std::string ChooseOpenBlasCoreType(const std::string& current_core, bool avx512, bool avx2_fma);

// For the first lines of main(), before any thread starts: when
// OPENBLAS_CORETYPE is unset and ChooseOpenBlasCoreType() on this CPU says
// so, sets it and re-executes /proc/self/exe with the same arguments (once;
// FLYP_OPENBLAS_REEXEC guards against loops). Returns (doing nothing) when no
// change is needed, FLYP_OPENBLAS_TUNING=0 is set, or exec fails.
void ReexecWithTunedOpenBlas(char** argv);

// The widest vector ISA of this CPU that decides LibTorch's CPU kernels, from
// /proc/cpuinfo's flags: "AMX-BF16", "AVX-512-BF16", "AVX-512", "AVX2",
// "SSE" (or "unknown" when the flags cannot be read). Benchmarks print it:
// the machines flyp runs on differ (an AVX2-only Zen 3, a Sapphire Rapids
// with AMX), and so do their fp32 and bf16 matmul rates.
std::string CpuIsaName();

// The ISA name for a /proc/cpuinfo "flags" list (space-separated).
std::string CpuIsaNameFromFlags(const std::string& flags);

// Whether a CPU of ISA `isa` (CpuIsaName(), read once by the caller)
// multiplies bfloat16 natively (AVX-512-BF16 or AMX-BF16); without it
// LibTorch emulates bf16 matmuls, slower than float32.
bool CpuHasNativeBf16(const std::string& isa);

// Whether this process is the re-executed one (OPENBLAS_CORETYPE was set by
// ReexecWithTunedOpenBlas).
bool OpenBlasTunedByReexec();

}  // namespace flyp::worker
