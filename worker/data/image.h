// In-memory images of the data layer.
//
//   Image       8-bit, interleaved (HWC), 1 (gray) or 3 (RGB) channels: what
//               the decoders and datasets produce.
//   FloatImage  32-bit float, planar (CHW): what the transforms work on;
//               values are in [0,1] until normalisation.
//
// Both are plain values; distinct objects may be used from different threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flyp::data {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;             // 1 or 3
  std::vector<uint8_t> pixels;  // height * width * channels, row-major HWC

  bool empty() const { return pixels.empty(); }
  uint8_t at(int y, int x, int c) const {
    return pixels[(static_cast<size_t>(y) * width + x) * channels + c];
  }
};

struct FloatImage {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::vector<float> data;  // channels * height * width, planar CHW

  FloatImage() = default;
  FloatImage(int c, int h, int w, float fill = 0.0f)
      : channels(c), height(h), width(w), data(static_cast<size_t>(c) * h * w, fill) {}

  float* plane(int c) { return data.data() + static_cast<size_t>(c) * height * width; }
  const float* plane(int c) const { return data.data() + static_cast<size_t>(c) * height * width; }
  float& at(int c, int y, int x) { return plane(c)[static_cast<size_t>(y) * width + x]; }
  float at(int c, int y, int x) const { return plane(c)[static_cast<size_t>(y) * width + x]; }
};

// uint8 HWC -> float CHW in [0,1] (v / 255). A gray image becomes 3 identical
// channels when `to_rgb` is set.
FloatImage ToFloat(const Image& image, bool to_rgb);

}  // namespace flyp::data
