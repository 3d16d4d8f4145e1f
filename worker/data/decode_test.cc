#include "worker/data/decode.h"

#include <gtest/gtest.h>
#include <png.h>

#include "tests/testing/test_env.h"
#include "worker/data/random.h"
#include "worker/data/test_images.h"

namespace flyp::data {
namespace {

using testing::EncodeJpeg;
using testing::EncodePng;
using testing::MakeImage;
using testing::PngSpec;

TEST(DecodePng, Rgb8ExactPixels) {
  const Image src = MakeImage(3, 2, 3, [](int x, int y, int c) { return 10 * x + 100 * y + c; });
  StatusOr<Image> im = DecodeImage(EncodePng(src));
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->width, 3);
  EXPECT_EQ(im->height, 2);
  EXPECT_EQ(im->channels, 3);
  EXPECT_EQ(im->at(0, 0, 0), 0);
  EXPECT_EQ(im->at(1, 2, 1), 121);
  EXPECT_EQ(im->at(1, 1, 2), 112);
  EXPECT_EQ(im->pixels, src.pixels);
}

TEST(DecodePng, GrayStaysOneChannel) {
  const Image src = MakeImage(4, 3, 1, [](int x, int y, int) { return x * 60 + y; });
  StatusOr<Image> im = DecodePng(EncodePng(src));
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->channels, 1);
  EXPECT_EQ(im->at(2, 3, 0), 182);
}

TEST(DecodePng, PaletteExpandsToRgb) {
  PngSpec spec;
  spec.width = 2;
  spec.height = 1;
  spec.color_type = PNG_COLOR_TYPE_PALETTE;
  spec.palette_rgb = {255, 0, 0, 12, 34, 56};
  spec.rows = {1, 0};
  StatusOr<Image> im = DecodePng(EncodePng(spec));
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->channels, 3);
  EXPECT_EQ(im->pixels, (std::vector<uint8_t>{12, 34, 56, 255, 0, 0}));
}

TEST(DecodePng, SixteenBitKeepsHighByte) {
  PngSpec spec;
  spec.width = 1;
  spec.height = 1;
  spec.color_type = PNG_COLOR_TYPE_RGB;
  spec.bit_depth = 16;
  spec.rows = {0x12, 0x34, 0xAB, 0xFF, 0x00, 0x01};  // big-endian samples
  StatusOr<Image> im = DecodePng(EncodePng(spec));
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->pixels, (std::vector<uint8_t>{0x12, 0xAB, 0x00}));
}

TEST(DecodePng, AlphaIsDropped) {
  PngSpec rgba;
  rgba.width = 2;
  rgba.height = 1;
  rgba.color_type = PNG_COLOR_TYPE_RGBA;
  rgba.rows = {1, 2, 3, 0, 4, 5, 6, 255};
  StatusOr<Image> im = DecodePng(EncodePng(rgba));
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->channels, 3);
  EXPECT_EQ(im->pixels, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));

  PngSpec ga;
  ga.width = 2;
  ga.height = 1;
  ga.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
  ga.rows = {77, 0, 88, 128};
  im = DecodePng(EncodePng(ga));
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->channels, 1);
  EXPECT_EQ(im->pixels, (std::vector<uint8_t>{77, 88}));
}

TEST(DecodePng, OneBitGrayExpandsTo0And255) {
  PngSpec spec;
  spec.width = 3;
  spec.height = 1;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  spec.bit_depth = 1;
  spec.rows = {0b10100000};
  StatusOr<Image> im = DecodePng(EncodePng(spec));
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->pixels, (std::vector<uint8_t>{255, 0, 255}));
}

TEST(DecodeJpeg, ConstantGrayIsExact) {
  const Image src = MakeImage(16, 8, 1, [](int, int, int) { return 131; });
  StatusOr<Image> im = DecodeImage(EncodeJpeg(src));
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->channels, 1);
  EXPECT_EQ(im->width, 16);
  EXPECT_EQ(im->height, 8);
  EXPECT_EQ(im->pixels, src.pixels);
}

TEST(DecodeJpeg, RgbBlocksWithinRounding) {
  // Two 8x8 blocks of flat colour: DC-only blocks, so only the YCbCr
  // round trip (at most one level or two per channel) separates the pixels.
  const Image src = MakeImage(
      16, 8, 3, [](int x, int, int c) { return x < 8 ? (c == 0 ? 200 : 40) : (c == 2 ? 180 : 20); });
  StatusOr<Image> im = DecodeJpeg(EncodeJpeg(src));
  ASSERT_TRUE(im.ok()) << im.status();
  ASSERT_EQ(im->channels, 3);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c)
        EXPECT_NEAR(im->at(y, x, c), src.at(y, x, c), 2) << x << "," << y << "," << c;
}

TEST(DecodeJpeg, AdobeCmykBecomesRgb) {
  // Adobe-inverted CMYK with K = 255 (no black): RGB = C, M, Y.
  std::vector<uint8_t> cmyk;
  for (int i = 0; i < 64; ++i) cmyk.insert(cmyk.end(), {200, 100, 50, 255});
  StatusOr<Image> im = DecodeJpeg(testing::EncodeJpegCmyk(8, 8, cmyk));
  ASSERT_TRUE(im.ok()) << im.status();
  ASSERT_EQ(im->channels, 3);
  EXPECT_NEAR(im->at(3, 4, 0), 200, 2);
  EXPECT_NEAR(im->at(3, 4, 1), 100, 2);
  EXPECT_NEAR(im->at(3, 4, 2), 50, 2);
}

TEST(DecodeErrors, MissingFileIsNotFoundAndNamed) {
  StatusOr<Image> im = DecodeImageFile("/nonexistent/dir/cat.png");
  ASSERT_FALSE(im.ok());
  EXPECT_EQ(im.status().code(), StatusCode::kNotFound);
  EXPECT_NE(im.status().message().find("/nonexistent/dir/cat.png"), std::string::npos);
}

TEST(DecodeErrors, CorruptFilesNameTheFile) {
  const std::string dir = flyp::testing::TempDir();
  const Image src = MakeImage(32, 32, 3, [](int x, int y, int c) { return x * 7 + y * 3 + c * 50; });
  const std::string png = EncodePng(src), jpg = EncodeJpeg(src, 90);
  struct Case {
    std::string name, bytes, expect;
  } cases[] = {
      {"trunc.png", png.substr(0, png.size() / 2), "corrupt PNG"},
      {"trunc.jpg", jpg.substr(0, jpg.size() / 2), "corrupt JPEG"},
      {"header.jpg", jpg.substr(0, 3) + std::string(40, '\x01'), "corrupt JPEG"},
      {"text.png", "hello, not an image", "not a JPEG or PNG"},
      {"empty.png", "", "not a JPEG or PNG"},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/" + c.name;
    testing::WriteFileOrDie(path, c.bytes);
    StatusOr<Image> im = DecodeImageFile(path);
    ASSERT_FALSE(im.ok()) << c.name;
    EXPECT_EQ(im.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(im.status().message().find(path), std::string::npos) << im.status();
    EXPECT_NE(im.status().message().find(c.expect), std::string::npos) << im.status();
  }
}

// Regression guard for the setjmp/longjmp paths: random byte corruption
// must give an error or an image, never a crash.
TEST(DecodeErrors, RandomCorruptionNeverCrashes) {
  const Image src = MakeImage(24, 16, 3, [](int x, int y, int c) { return x * 9 + y * 5 + c * 40; });
  const std::string files[] = {EncodePng(src), EncodeJpeg(src, 85)};
  Rng rng(7);
  int errors = 0;
  for (const std::string& good : files) {
    for (int trial = 0; trial < 300; ++trial) {
      std::string bad = good;
      const int flips = 1 + static_cast<int>(rng.UniformInt(0, 4));
      for (int f = 0; f < flips; ++f) {
        bad[static_cast<size_t>(rng.UniformInt(2, static_cast<int64_t>(bad.size()) - 1))] =
            static_cast<char>(rng.UniformInt(0, 255));
      }
      if (trial % 3 == 0)
        bad.resize(static_cast<size_t>(rng.UniformInt(8, static_cast<int64_t>(bad.size()))));
      StatusOr<Image> im = DecodeImage(bad);
      if (!im.ok()) {
        ++errors;
      } else {
        EXPECT_EQ(im->pixels.size(), static_cast<size_t>(im->width) * im->height * im->channels);
      }
    }
  }
  EXPECT_GT(errors, 50);  // PNG CRCs catch most flips
}

}  // namespace
}  // namespace flyp::data
