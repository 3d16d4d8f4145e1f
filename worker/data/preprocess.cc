#include "worker/data/preprocess.h"

#include <cmath>

namespace flyp::data {
namespace {

// Python's round(): half to even (the default floating-point rounding mode).
int RoundHalfEven(double v) { return static_cast<int>(std::nearbyint(v)); }

FloatImage EnsureRgb(const FloatImage& image) {
  if (image.channels == 3) return image;
  FloatImage out(3, image.height, image.width);
  for (int c = 0; c < 3; ++c)
    std::copy(image.plane(0), image.plane(0) + image.height * image.width, out.plane(c));
  return out;
}

}  // namespace

std::array<int, 2> ShorterSideSize(int width, int height, int size) {
  if (width <= height) {
    return {size, static_cast<int>(static_cast<int64_t>(size) * height / width)};
  }
  return {static_cast<int>(static_cast<int64_t>(size) * width / height), size};
}

Box CenterCropBox(int width, int height, int size) {
  return Box{RoundHalfEven((width - size) / 2.0), RoundHalfEven((height - size) / 2.0), size, size};
}

Box RandomResizedCropBox(int width, int height, double scale_min, double scale_max, double ratio_min,
                         double ratio_max, Rng* rng) {
  const double area = static_cast<double>(width) * height;
  const double log_lo = std::log(ratio_min), log_hi = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng->Uniform(scale_min, scale_max);
    const double aspect = std::exp(rng->Uniform(log_lo, log_hi));
    const int w = RoundHalfEven(std::sqrt(target_area * aspect));
    const int h = RoundHalfEven(std::sqrt(target_area / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int y = static_cast<int>(rng->UniformInt(0, height - h));
      const int x = static_cast<int>(rng->UniformInt(0, width - w));
      return Box{x, y, w, h};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < ratio_min) {
    h = RoundHalfEven(w / ratio_min);
  } else if (in_ratio > ratio_max) {
    w = RoundHalfEven(h * ratio_max);
  }
  return Box{(width - w) / 2, (height - h) / 2, w, h};
}

FloatImage ResizeCenterCrop(const FloatImage& image, int size) {
  const std::array<int, 2> wh = ShorterSideSize(image.width, image.height, size);
  const Box window = CenterCropBox(wh[0], wh[1], size);
  return EnsureRgb(ResizeBicubic(image, Box{0, 0, image.width, image.height}, wh[0], wh[1], window));
}

FloatImage RandomResizedCrop(const FloatImage& image, int size, double scale_min, double scale_max,
                             Rng* rng) {
  const Box crop =
      RandomResizedCropBox(image.width, image.height, scale_min, scale_max, 3.0 / 4.0, 4.0 / 3.0, rng);
  return EnsureRgb(ResizeBicubic(image, crop, size, size, Box{0, 0, size, size}));
}

void Normalize(FloatImage* image, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  const size_t n = static_cast<size_t>(image->height) * image->width;
  for (int c = 0; c < 3; ++c) {
    float* p = image->plane(c);
    const float m = mean[c], inv = 1.0f / std[c];
    for (size_t i = 0; i < n; ++i) p[i] = (p[i] - m) * inv;
  }
}

}  // namespace flyp::data
