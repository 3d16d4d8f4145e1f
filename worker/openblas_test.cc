#include "worker/openblas.h"

#include <gtest/gtest.h>

namespace flyp::worker {
namespace {

TEST(OpenBlasTest, OpenBlasCoreTypeOnlyReplacesGenericKernels) {
  EXPECT_EQ(ChooseOpenBlasCoreType("Prescott", true, true), "SkylakeX");
  EXPECT_EQ(ChooseOpenBlasCoreType("prescott", false, true), "Haswell");
  EXPECT_EQ(ChooseOpenBlasCoreType("Prescott", false, false), "");
  EXPECT_EQ(ChooseOpenBlasCoreType("Sandybridge", false, true), "Haswell");
  EXPECT_EQ(ChooseOpenBlasCoreType("Haswell", true, true), "");
  EXPECT_EQ(ChooseOpenBlasCoreType("SkylakeX", true, true), "");
  EXPECT_EQ(ChooseOpenBlasCoreType("", true, true), "");
}

TEST(OpenBlasTest, CpuIsaNameIsTheWidestFlag) {
  EXPECT_EQ(CpuIsaNameFromFlags("fpu sse2 avx avx2 fma"), "AVX2");
  EXPECT_EQ(CpuIsaNameFromFlags("avx2 avx512f avx512bw"), "AVX-512");
  EXPECT_EQ(CpuIsaNameFromFlags("avx2 avx512f avx512_bf16 avx512_vnni"), "AVX-512-BF16");
  EXPECT_EQ(CpuIsaNameFromFlags("avx512f avx512_bf16 amx_bf16 amx_tile"), "AMX-BF16");
  EXPECT_EQ(CpuIsaNameFromFlags("fpu sse sse2"), "SSE");
  // Whole words only: "avx512_bf16x" is not avx512_bf16.
  EXPECT_EQ(CpuIsaNameFromFlags("avx2 avx512_bf16x"), "AVX2");
  EXPECT_NE(CpuIsaName(), "");
}

}  // namespace
}  // namespace flyp::worker
