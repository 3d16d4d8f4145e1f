#include "worker/data/resize.h"

#include <gtest/gtest.h>

#include <cmath>

namespace flyp::data {
namespace {

// The kernel written out independently: a = -0.5.
double K(double x) {
  x = std::fabs(x);
  if (x < 1) return 1.5 * x * x * x - 2.5 * x * x + 1;
  if (x < 2) return -0.5 * x * x * x + 2.5 * x * x - 4 * x + 2;
  return 0;
}

FloatImage Row(std::vector<float> v) {
  FloatImage im(1, 1, static_cast<int>(v.size()));
  im.data = std::move(v);
  return im;
}

TEST(Bicubic, KernelValues) {
  EXPECT_DOUBLE_EQ(BicubicKernel(0), 1.0);
  EXPECT_DOUBLE_EQ(BicubicKernel(1), 0.0);
  EXPECT_DOUBLE_EQ(BicubicKernel(2), 0.0);
  EXPECT_DOUBLE_EQ(BicubicKernel(0.5), 0.5625);    // 1.5/8 - 2.5/4 + 1
  EXPECT_DOUBLE_EQ(BicubicKernel(-1.5), -0.0625);  // -0.5*3.375 + 2.5*2.25 - 6 + 2
  for (double x = -2.5; x <= 2.5; x += 0.125) EXPECT_NEAR(BicubicKernel(x), K(x), 1e-12) << x;
}

TEST(Bicubic, UpscaleTwoToFourByHand) {
  // scale 0.5: output 0 has center 0.25, taps x = 0,1 (clamped at the left
  // border) with weights K(0.25) = 0.8671875 and K(1.25) = -0.0703125,
  // normalised by their sum 0.796875.
  const FloatImage out = ResizeBicubic(Row({10, 20}), 4, 1);
  ASSERT_EQ(out.width, 4);
  const double w0 = 0.8671875 / 0.796875, w1 = -0.0703125 / 0.796875;
  EXPECT_NEAR(out.data[0], 10 * w0 + 20 * w1, 1e-5);
  EXPECT_NEAR(out.data[0], 9.1176470588, 1e-5);
  // Output 1: center 0.75, taps x = 0,1: K(-0.25), K(0.75); K(0.75) = 0.2265625.
  const double k0 = K(0.25), k1 = K(0.75);
  EXPECT_NEAR(k1, 0.2265625, 1e-12);
  EXPECT_NEAR(out.data[1], (10 * k0 + 20 * k1) / (k0 + k1), 1e-5);
  // Mirror symmetry.
  EXPECT_NEAR(out.data[3], 30 - out.data[0], 1e-5);
  EXPECT_NEAR(out.data[2], 30 - out.data[1], 1e-5);
}

TEST(Bicubic, DownscaleWidensKernelLikePil) {
  // 8 -> 2: scale 4, filterscale 4, support 8. Output 0: center 2,
  // taps x = 0..7 (clamped: int(2 - 8 + .5) < 0, int(2 + 8 + .5) = 10 > 8),
  // weights K((x - 2 + 0.5) / 4).
  std::vector<float> in = {3, 1, 4, 1, 5, 9, 2, 6};
  const FloatImage out = ResizeBicubic(Row(in), 2, 1);
  double num = 0, den = 0;
  for (int x = 0; x < 8; ++x) {
    const double w = K((x - 2 + 0.5) / 4);
    num += w * in[x];
    den += w;
  }
  EXPECT_NEAR(out.data[0], num / den, 1e-5);
  // Output 1: center 6, taps x = 0..7 again; weights K((x - 6 + 0.5) / 4).
  num = den = 0;
  for (int x = 0; x < 8; ++x) {
    const double w = K((x - 6 + 0.5) / 4);
    num += w * in[x];
    den += w;
  }
  EXPECT_NEAR(out.data[1], num / den, 1e-5);
}

TEST(Bicubic, TwoDimensionalIsSeparable) {
  // A 2x2 image upscaled to 4x4: pixel (0,0) = sum_ij w_i w_j v_ij.
  FloatImage in(1, 2, 2);
  in.data = {1, 2, 3, 5};
  const FloatImage out = ResizeBicubic(in, 4, 4);
  const double w0 = 0.8671875 / 0.796875, w1 = -0.0703125 / 0.796875;
  const double expect = w0 * (w0 * 1 + w1 * 2) + w1 * (w0 * 3 + w1 * 5);
  EXPECT_NEAR(out.at(0, 0, 0), expect, 1e-5);
}

TEST(Bicubic, ConstantStaysConstantAndIdentityIsExact) {
  FloatImage c(3, 7, 5, 0.25f);
  const FloatImage up = ResizeBicubic(c, 11, 13);
  for (float v : up.data) EXPECT_NEAR(v, 0.25f, 1e-6);
  const FloatImage down = ResizeBicubic(c, 2, 3);
  for (float v : down.data) EXPECT_NEAR(v, 0.25f, 1e-6);
  FloatImage g(1, 3, 4);
  for (size_t i = 0; i < g.data.size(); ++i) g.data[i] = static_cast<float>(i);
  EXPECT_EQ(ResizeBicubic(g, 4, 3).data, g.data);
}

TEST(Bicubic, WindowMatchesFullResizeThenCrop) {
  FloatImage g(2, 9, 13);
  for (size_t i = 0; i < g.data.size(); ++i) g.data[i] = static_cast<float>((i * 37) % 11);
  const FloatImage full = ResizeBicubic(g, 7, 5);
  const Box window{2, 1, 4, 3};
  const FloatImage part = ResizeBicubic(g, Box{0, 0, 13, 9}, 7, 5, window);
  for (int c = 0; c < 2; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) EXPECT_NEAR(part.at(c, y, x), full.at(c, y + 1, x + 2), 1e-5);
}

TEST(Bicubic, CropBoxEqualsCroppingFirst) {
  FloatImage g(1, 10, 10);
  for (size_t i = 0; i < g.data.size(); ++i) g.data[i] = static_cast<float>((i * 13) % 7);
  FloatImage cropped(1, 6, 5);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 5; ++x) cropped.at(0, y, x) = g.at(0, y + 3, x + 2);
  const FloatImage a = ResizeBicubic(cropped, 8, 8);
  const FloatImage b = ResizeBicubic(g, Box{2, 3, 5, 6}, 8, 8, Box{0, 0, 8, 8});
  for (size_t i = 0; i < a.data.size(); ++i) EXPECT_NEAR(a.data[i], b.data[i], 1e-5);
}

}  // namespace
}  // namespace flyp::data
