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
  // Without intermediate rounding the two 1-D passes commute, so we run the
  // vertical pass first: its inner loop runs along contiguous rows and
  // vectorises, and it shrinks the rows the (scalar) horizontal pass reads.
  const int C = src.channels;
  const bool same_w = crop.width == out_width;
  const bool same_h = crop.height == out_height;
  Taps tx, ty;
  int col0 = crop.x + window.x, col1 = col0 + window.width;
  if (!same_w) {
    tx = ComputeTaps(crop.x, crop.width, out_width, window.x, window.width);
    col0 = tx.start.front();
    col1 = col0;
    for (int k = 0; k < window.width; ++k) col1 = std::max(col1, tx.start[k] + tx.size[k]);
  }
  if (!same_h) ty = ComputeTaps(crop.y, crop.height, out_height, window.y, window.height);
  const int cols = col1 - col0;

  // Vertical pass: [C, window.height, cols].
  FloatImage mid(C, window.height, cols);
  for (int c = 0; c < C; ++c) {
    for (int k = 0; k < window.height; ++k) {
      float* d = mid.plane(c) + static_cast<size_t>(k) * cols;
      if (same_h) {
        const float* s = src.plane(c) + static_cast<size_t>(crop.y + window.y + k) * src.width + col0;
        std::copy(s, s + cols, d);
        continue;
      }
      const float* w = ty.weight.data() + static_cast<size_t>(k) * ty.max_taps;
      std::fill(d, d + cols, 0.0f);
      for (int i = 0; i < ty.size[k]; ++i) {
        const float* s = src.plane(c) + static_cast<size_t>(ty.start[k] + i) * src.width + col0;
        const float wi = w[i];
        for (int x = 0; x < cols; ++x) d[x] += wi * s[x];
      }
    }
  }
  if (same_w) return mid;

  // Horizontal pass, four rows at a time so the accumulations are
  // independent (the tap loop is short and otherwise latency bound).
  FloatImage out(C, window.height, window.width);
  for (int c = 0; c < C; ++c) {
    int y = 0;
    for (; y + 4 <= window.height; y += 4) {
      const float* s0 = mid.plane(c) + static_cast<size_t>(y) * cols;
      const float* s1 = s0 + cols;
      const float* s2 = s1 + cols;
      const float* s3 = s2 + cols;
      float* d0 = out.plane(c) + static_cast<size_t>(y) * window.width;
      for (int k = 0; k < window.width; ++k) {
        const float* w = tx.weight.data() + static_cast<size_t>(k) * tx.max_taps;
        const int o = tx.start[k] - col0;
        float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int i = 0; i < tx.size[k]; ++i) {
          a0 += w[i] * s0[o + i];
          a1 += w[i] * s1[o + i];
          a2 += w[i] * s2[o + i];
          a3 += w[i] * s3[o + i];
        }
        d0[k] = a0;
        d0[k + window.width] = a1;
        d0[k + 2 * window.width] = a2;
        d0[k + 3 * window.width] = a3;
      }
    }
    for (; y < window.height; ++y) {
      const float* s = mid.plane(c) + static_cast<size_t>(y) * cols;
      float* d = out.plane(c) + static_cast<size_t>(y) * window.width;
      for (int k = 0; k < window.width; ++k) {
        const float* w = tx.weight.data() + static_cast<size_t>(k) * tx.max_taps;
        const float* p = s + (tx.start[k] - col0);
        float acc = 0.0f;
        for (int i = 0; i < tx.size[k]; ++i) acc += w[i] * p[i];
        d[k] = acc;
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
