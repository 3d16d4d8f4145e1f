// device_util on any machine: the CPU paths are identities, and the autocast
// scope sets and restores the thread's CUDA autocast state (flags only, so
// this runs without a GPU). The CUDA data paths run when a GPU is present.
#include "worker/train/device_util.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

namespace flyp::train {
namespace {

TEST(DeviceUtilTest, CpuPathsAreIdentities) {
  auto t = torch::arange(6, torch::kFloat32);
  EXPECT_TRUE(ToDevice(t, torch::kCPU).is_same(t));
  if (!CudaAvailable()) {
    EXPECT_TRUE(PinnedIfCuda(t).is_same(t));
  }
  EXPECT_FALSE(PinnedIfCuda(torch::Tensor()).defined());
}

TEST(DeviceUtilTest, AutocastScopeOnCpuRunsMatmulsInBf16AndRestores) {
  ASSERT_FALSE(at::autocast::is_cpu_enabled());
  const auto a = torch::randn({4, 8}), b = torch::randn({8, 3});
  // The product of the bf16-rounded operands, to bf16's precision.
  const auto want =
      torch::matmul(a.to(torch::kBFloat16).to(torch::kFloat32), b.to(torch::kBFloat16).to(torch::kFloat32));
  {
    AutocastScope cpu(torch::kCPU, true);
    EXPECT_TRUE(cpu.active());
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    EXPECT_FALSE(at::autocast::is_enabled());  // CUDA's state untouched
    const auto c = torch::matmul(a, b);
    EXPECT_EQ(c.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::allclose(c.to(torch::kFloat32), want, 2e-2, 2e-2));
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
  {
    AutocastScope off(torch::kCPU, false);
    EXPECT_FALSE(off.active());
    EXPECT_FALSE(at::autocast::is_cpu_enabled());
  }
}

TEST(DeviceUtilTest, AutocastScopeOnCudaRestores) {
  ASSERT_FALSE(at::autocast::is_enabled());
  {
    AutocastScope off(torch::Device(torch::kCUDA, 0), false);
    EXPECT_FALSE(off.active());
    EXPECT_FALSE(at::autocast::is_enabled());
  }
  const auto before = at::autocast::get_autocast_gpu_dtype();
  {
    AutocastScope outer(torch::Device(torch::kCUDA, 0), true);
    EXPECT_TRUE(outer.active());
    EXPECT_TRUE(at::autocast::is_enabled());
    EXPECT_EQ(at::autocast::get_autocast_gpu_dtype(), at::kBFloat16);
    {
      AutocastScope inner(torch::Device(torch::kCUDA, 0), true, at::kHalf);
      EXPECT_EQ(at::autocast::get_autocast_gpu_dtype(), at::kHalf);
    }
    EXPECT_TRUE(at::autocast::is_enabled());
    EXPECT_EQ(at::autocast::get_autocast_gpu_dtype(), at::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_enabled());
  EXPECT_EQ(at::autocast::get_autocast_gpu_dtype(), before);
}

TEST(DeviceUtilTest, CudaCopiesRoundTrip) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  auto t = torch::randn({64, 3});
  auto pinned = PinnedIfCuda(t);
  EXPECT_TRUE(pinned.is_pinned());
  auto gpu = ToDevice(pinned, torch::Device(torch::kCUDA, 0));
  EXPECT_TRUE(gpu.is_cuda());
  EXPECT_TRUE(torch::equal(ToDevice(gpu, torch::kCPU), t));
  AutocastScope bf16(gpu.device(), true);
  auto y = torch::matmul(gpu, gpu.t());
  EXPECT_EQ(y.scalar_type(), at::kBFloat16);
}

TEST(Float32IfReducedTest, WidensHalfTypesOnly) {
  const auto x = torch::tensor({1.5, -2.25}, torch::kFloat64);
  for (auto type : {torch::kFloat16, torch::kBFloat16}) {
    const auto y = Float32IfReduced(x.to(type));
    EXPECT_EQ(y.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(y, x.to(torch::kFloat32)));  // both values are exact in 8 bits of mantissa
  }
  EXPECT_EQ(Float32IfReduced(x).scalar_type(), torch::kFloat64);
  const auto f = x.to(torch::kFloat32);
  EXPECT_TRUE(Float32IfReduced(f).is_same(f));  // no copy
}

}  // namespace
}  // namespace flyp::train
