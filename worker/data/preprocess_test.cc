#include "worker/data/preprocess.h"

#include <gtest/gtest.h>

#include "worker/data/test_images.h"
#include "worker/data/transform.h"

namespace flyp::data {
namespace {

TEST(Geometry, ShorterSideTruncatesLikeTorchvision) {
  EXPECT_EQ(ShorterSideSize(500, 375, 224), (std::array<int, 2>{298, 224}));  // 298.67
  EXPECT_EQ(ShorterSideSize(375, 500, 224), (std::array<int, 2>{224, 298}));
  EXPECT_EQ(ShorterSideSize(28, 28, 224), (std::array<int, 2>{224, 224}));
  EXPECT_EQ(ShorterSideSize(640, 480, 336), (std::array<int, 2>{448, 336}));
}

TEST(Geometry, CenterCropRoundsHalfToEven) {
  // (W - size) / 2 = 37 exactly.
  Box b = CenterCropBox(298, 224, 224);
  EXPECT_EQ(b.x, 37);
  EXPECT_EQ(b.y, 0);
  EXPECT_EQ(b.width, 224);
  EXPECT_EQ(b.height, 224);
  // Python round: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
  EXPECT_EQ(CenterCropBox(5, 4, 4).x, 0);
  EXPECT_EQ(CenterCropBox(7, 4, 4).x, 2);
  EXPECT_EQ(CenterCropBox(9, 4, 4).x, 2);
  EXPECT_EQ(CenterCropBox(4, 9, 4).y, 2);
}

TEST(Geometry, RandomResizedCropStaysInsideAndInScale) {
  Rng rng(3);
  for (int t = 0; t < 500; ++t) {
    const Box b = RandomResizedCropBox(300, 200, 0.9, 1.0, 3.0 / 4, 4.0 / 3, &rng);
    ASSERT_GE(b.x, 0);
    ASSERT_GE(b.y, 0);
    ASSERT_LE(b.x + b.width, 300);
    ASSERT_LE(b.y + b.height, 200);
    const double frac = static_cast<double>(b.width) * b.height / (300.0 * 200.0);
    // Either an accepted attempt (area within rounding of [0.9, 1]) or the
    // ratio-clamped center fallback (whole height, width 4/3 of it).
    if (b.width == 267 && b.height == 200) continue;
    EXPECT_GE(frac, 0.88);
    EXPECT_LE(frac, 1.0);
  }
  // Fallback: a very wide image can never fit a 0.9-area crop of ratio
  // <= 4/3, so the center crop of ratio 4/3 is used.
  const Box f = RandomResizedCropBox(1000, 10, 0.9, 1.0, 3.0 / 4, 4.0 / 3, &rng);
  EXPECT_EQ(f.height, 10);
  EXPECT_EQ(f.width, 13);  // round(10 * 4/3)
  EXPECT_EQ(f.x, (1000 - 13) / 2);
}

TEST(Normalize, ClipMeanStdAtPixels) {
  // A flat colour survives resize + crop exactly, so every output pixel is
  // (v / 255 - mean) / std.
  const Image im =
      testing::MakeImage(40, 30, 3, [](int, int, int c) { return c == 0 ? 255 : (c == 1 ? 128 : 0); });
  TransformOptions o;
  o.resolution = 16;
  std::vector<float> out(3 * 16 * 16);
  TransformImage(im, o, 0, 0, out.data());
  const float expect[3] = {(1.0f - 0.48145466f) / 0.26862954f, (128 / 255.0f - 0.4578275f) / 0.26130258f,
                           (0.0f - 0.40821073f) / 0.27577711f};
  for (int c = 0; c < 3; ++c) {
    for (int p : {0, 17, 255}) EXPECT_NEAR(out[c * 256 + p], expect[c], 1e-5) << c << " " << p;
  }
  EXPECT_NEAR(expect[0], 1.930336, 1e-5);
}

TEST(Preprocess, GrayBecomesThreeEqualChannels) {
  const Image im = testing::MakeImage(28, 28, 1, [](int x, int y, int) { return (x * y) % 256; });
  const FloatImage f = ResizeCenterCrop(ToFloat(im, false), 32);
  ASSERT_EQ(f.channels, 3);
  ASSERT_EQ(f.width, 32);
  for (int i = 0; i < 32 * 32; ++i) {
    EXPECT_EQ(f.plane(0)[i], f.plane(1)[i]);
    EXPECT_EQ(f.plane(0)[i], f.plane(2)[i]);
  }
}

TEST(Preprocess, CenterCropTakesTheMiddle) {
  // 6x2 image, resolution 2: shorter side already 2, so the result is the
  // center crop x in [2, 4) with no resampling.
  const Image im = testing::MakeImage(6, 2, 1, [](int x, int y, int) { return 10 * x + y; });
  const FloatImage f = ResizeCenterCrop(ToFloat(im, false), 2);
  EXPECT_NEAR(f.at(0, 0, 0) * 255, 20, 1e-4);
  EXPECT_NEAR(f.at(0, 1, 1) * 255, 31, 1e-4);
}

TEST(Preprocess, TrainCropIsDeterministicPerEpochAndIndex) {
  const Image im =
      testing::MakeImage(50, 40, 3, [](int x, int y, int c) { return (x * 5 + y * 3 + c * 70) % 256; });
  TransformOptions o;
  o.resolution = 24;
  o.train = true;
  o.crop_scale_min = 0.5;
  o.seed = 11;
  const FloatImage a = TransformUnnormalized(im, o, 4, 1);
  const FloatImage b = TransformUnnormalized(im, o, 4, 1);
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(TransformUnnormalized(im, o, 4, 2).data, a.data);
  EXPECT_NE(TransformUnnormalized(im, o, 5, 1).data, a.data);
}

TEST(TransformOptions, Validation) {
  TransformOptions o;
  EXPECT_TRUE(ValidateTransformOptions(o).ok());
  o.crop_scale_min = 0;
  EXPECT_FALSE(ValidateTransformOptions(o).ok());
  o.crop_scale_min = 0.9;
  o.resolution = 0;
  EXPECT_FALSE(ValidateTransformOptions(o).ok());
}

}  // namespace
}  // namespace flyp::data
