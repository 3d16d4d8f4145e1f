#include "worker/data/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace flyp::data {
namespace {

// Taps of every output sample in [first, first + count) along one axis.
struct Taps {
  std::vector<int> start;     // first input index (absolute) per output
  std::vector<int> size;      // number of taps per output
  std::vector<float> weight;  // stride max_taps per output
  int max_taps = 0;
};

Taps ComputeTaps(int in_offset, int in_size, int out_size, int first, int count) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 2.0 * filterscale;
  Taps t;
  t.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.start.resize(count);
  t.size.resize(count);
  t.weight.assign(static_cast<size_t>(count) * t.max_taps, 0.0f);
  std::vector<double> w(t.max_taps);
  for (int k = 0; k < count; ++k) {
    const double center = (first + k + 0.5) * scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    const int n = std::min(xmax - xmin, t.max_taps);
    double sum = 0.0;
    for (int x = 0; x < n; ++x) {
      w[x] = BicubicKernel((x + xmin - center + 0.5) / filterscale);
      sum += w[x];
    }
    for (int x = 0; x < n; ++x) {
      t.weight[static_cast<size_t>(k) * t.max_taps + x] = static_cast<float>(sum != 0.0 ? w[x] / sum : 0.0);
    }
    t.start[k] = in_offset + xmin;
    t.size[k] = n;
  }
  return t;
}

}  // namespace

double BicubicKernel(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

FloatImage ResizeBicubic(const FloatImage& src, const Box& crop, int out_width, int out_height,
                         const Box& window) {
  const int C = src.channels;
  // Horizontal pass over the rows the vertical pass will read.
  const bool same_w = crop.width == out_width;
  const bool same_h = crop.height == out_height;
  const Taps ty = ComputeTaps(crop.y, crop.height, out_height, window.y, window.height);
  int row0 = crop.y + window.y;
  int row1 = row0 + window.height;
  if (!same_h) {
    row0 = ty.start.front();
    row1 = row0;
    for (int k = 0; k < window.height; ++k) row1 = std::max(row1, ty.start[k] + ty.size[k]);
  }
  const int rows = row1 - row0;
  FloatImage mid(C, rows, window.width);
  if (same_w) {
    for (int c = 0; c < C; ++c) {
      for (int y = 0; y < rows; ++y) {
        const float* s = src.plane(c) + static_cast<size_t>(row0 + y) * src.width + crop.x + window.x;
        std::copy(s, s + window.width, mid.plane(c) + static_cast<size_t>(y) * window.width);
      }
    }
  } else {
    const Taps tx = ComputeTaps(crop.x, crop.width, out_width, window.x, window.width);
    for (int c = 0; c < C; ++c) {
      for (int y = 0; y < rows; ++y) {
        const float* s = src.plane(c) + static_cast<size_t>(row0 + y) * src.width;
        float* d = mid.plane(c) + static_cast<size_t>(y) * window.width;
        for (int k = 0; k < window.width; ++k) {
          const float* w = tx.weight.data() + static_cast<size_t>(k) * tx.max_taps;
          const float* p = s + tx.start[k];
          float acc = 0.0f;
          for (int i = 0; i < tx.size[k]; ++i) acc += w[i] * p[i];
          d[k] = acc;
        }
      }
    }
  }
  if (same_h) return mid;
  FloatImage out(C, window.height, window.width);
  for (int c = 0; c < C; ++c) {
    for (int k = 0; k < window.height; ++k) {
      const float* w = ty.weight.data() + static_cast<size_t>(k) * ty.max_taps;
      float* d = out.plane(c) + static_cast<size_t>(k) * window.width;
      std::fill(d, d + window.width, 0.0f);
      for (int i = 0; i < ty.size[k]; ++i) {
        const float* s = mid.plane(c) + static_cast<size_t>(ty.start[k] - row0 + i) * window.width;
        const float wi = w[i];
        for (int x = 0; x < window.width; ++x) d[x] += wi * s[x];
      }
    }
  }
  return out;
}

FloatImage ResizeBicubic(const FloatImage& src, int out_width, int out_height) {
  return ResizeBicubic(src, Box{0, 0, src.width, src.height}, out_width, out_height,
                       Box{0, 0, out_width, out_height});
}

}  // namespace flyp::data
