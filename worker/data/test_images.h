// Test helpers: encode small PNG / JPEG images with libpng / libjpeg (so
// decoder tests check exact pixels of files we wrote) and write files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "worker/data/image.h"

namespace flyp::data::testing {

// Raw PNG description: `rows` holds height rows of packed samples exactly as
// libpng expects for (color_type, bit_depth) (16-bit samples big-endian).
struct PngSpec {
  int width = 0;
  int height = 0;
  int color_type = 0;  // PNG_COLOR_TYPE_*
  int bit_depth = 8;
  std::vector<uint8_t> rows;
  std::vector<uint8_t> palette_rgb;  // 3 bytes per entry, palette images only
};

std::string EncodePng(const PngSpec& spec);
// 8-bit gray or RGB image as PNG.
std::string EncodePng(const Image& image);
// Gray or RGB JPEG, no chroma subsampling.
std::string EncodeJpeg(const Image& image, int quality = 100);
// 4-channel CMYK JPEG from interleaved CMYK samples (libjpeg writes an Adobe
// marker, so readers treat the samples as inverted: 255 = no ink).
std::string EncodeJpegCmyk(int width, int height, const std::vector<uint8_t>& cmyk);

void WriteFileOrDie(const std::string& path, const std::string& bytes);

// A width x height image whose pixel (x, y, c) is f(x, y, c).
template <typename F>
Image MakeImage(int width, int height, int channels, F f) {
  Image im;
  im.width = width;
  im.height = height;
  im.channels = channels;
  im.pixels.resize(static_cast<size_t>(width) * height * channels);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c)
        im.pixels[(static_cast<size_t>(y) * width + x) * channels + c] = static_cast<uint8_t>(f(x, y, c));
  return im;
}

}  // namespace flyp::data::testing
