#include "worker/data/shifts.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "worker/data/random.h"

namespace flyp::data {
namespace {

// Bilinear sample of plane p (h x w) at (x, y) in pixel-center coordinates;
// outside the image the value is `fill`.
float Bilinear(const float* p, int w, int h, double x, double y, float fill) {
  const double fx = std::floor(x), fy = std::floor(y);
  const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
  const double ax = x - fx, ay = y - fy;
  auto at = [&](int xx, int yy) -> double {
    return (xx < 0 || yy < 0 || xx >= w || yy >= h) ? fill : p[static_cast<size_t>(yy) * w + xx];
  };
  const double top = at(x0, y0) * (1 - ax) + at(x0 + 1, y0) * ax;
  const double bottom = at(x0, y0 + 1) * (1 - ax) + at(x0 + 1, y0 + 1) * ax;
  return static_cast<float>(top * (1 - ay) + bottom * ay);
}

// out(x, y) = in(M * (x - c) + c) with the inverse 2x2 matrix M; samples
// more than half a pixel outside the image are `fill`.
void WarpAffine(const double m[4], float fill, FloatImage* image) {
  const int w = image->width, h = image->height;
  const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  FloatImage out(image->channels, h, w);
  for (int c = 0; c < image->channels; ++c) {
    const float* src = image->plane(c);
    float* dst = out.plane(c);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const double dx = x - cx, dy = y - cy;
        const double sx = m[0] * dx + m[1] * dy + cx;
        const double sy = m[2] * dx + m[3] * dy + cy;
        const bool inside = sx > -0.5 && sy > -0.5 && sx < w - 0.5 && sy < h - 0.5;
        dst[static_cast<size_t>(y) * w + x] = inside ? Bilinear(src, w, h, sx, sy, fill) : fill;
      }
    }
  }
  *image = std::move(out);
}

void Rotate(double degrees, FloatImage* image) {
  // Counter-clockwise on screen (y down): the source of an output pixel is
  // found by rotating its offset clockwise.
  const double t = degrees * M_PI / 180.0;
  const double c = std::cos(t), s = std::sin(t);
  const double m[4] = {c, -s, s, c};
  WarpAffine(m, 0.0f, image);
}

void Scale(double factor, FloatImage* image) {
  const double m[4] = {1.0 / factor, 0.0, 0.0, 1.0 / factor};
  WarpAffine(m, 0.0f, image);
}

void Blur(double sigma, FloatImage* image) {
  if (sigma <= 0.0) return;
  const int radius = static_cast<int>(std::ceil(3.0 * sigma));
  std::vector<float> k(2 * radius + 1);
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i)
    sum += k[i + radius] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& v : k) v = static_cast<float>(v / sum);
  const int w = image->width, h = image->height;
  std::vector<float> tmp(static_cast<size_t>(w) * h);
  for (int c = 0; c < image->channels; ++c) {
    float* p = image->plane(c);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        float acc = 0.0f;
        for (int i = -radius; i <= radius; ++i)
          acc += k[i + radius] * p[static_cast<size_t>(y) * w + std::clamp(x + i, 0, w - 1)];
        tmp[static_cast<size_t>(y) * w + x] = acc;
      }
    }
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        float acc = 0.0f;
        for (int i = -radius; i <= radius; ++i)
          acc += k[i + radius] * tmp[static_cast<size_t>(std::clamp(y + i, 0, h - 1)) * w + x];
        p[static_cast<size_t>(y) * w + x] = acc;
      }
    }
  }
}

void Noise(double std, Rng* rng, FloatImage* image) {
  for (float& v : image->data) {
    v = std::clamp(static_cast<float>(v + std * rng->Normal()), 0.0f, 1.0f);
  }
}

void Occlude(double fraction, Rng* rng, FloatImage* image) {
  const int side = static_cast<int>(std::nearbyint(fraction * std::min(image->width, image->height)));
  if (side <= 0) return;
  const int y0 = static_cast<int>(rng->UniformInt(0, image->height - side));
  const int x0 = static_cast<int>(rng->UniformInt(0, image->width - side));
  for (int c = 0; c < image->channels; ++c) {
    for (int y = y0; y < y0 + side; ++y) {
      float* row = image->plane(c) + static_cast<size_t>(y) * image->width;
      std::fill(row + x0, row + x0 + side, 0.5f);
    }
  }
}

}  // namespace

const char* ShiftKindName(v1::ShiftKind kind) {
  switch (kind) {
    case v1::SHIFT_KIND_ROTATE:
      return "rotate";
    case v1::SHIFT_KIND_INVERT:
      return "invert";
    case v1::SHIFT_KIND_NOISE:
      return "noise";
    case v1::SHIFT_KIND_BLUR:
      return "blur";
    case v1::SHIFT_KIND_OCCLUDE:
      return "occlude";
    case v1::SHIFT_KIND_SCALE:
      return "scale";
    default:
      return "unspecified";
  }
}

Status ValidateShift(const v1::Shift& shift) {
  const double s = shift.severity();
  const std::string name = std::string("shift ") + ShiftKindName(shift.kind());
  if (!std::isfinite(s)) return InvalidArgumentError(name + ": severity must be finite");
  switch (shift.kind()) {
    case v1::SHIFT_KIND_ROTATE:
    case v1::SHIFT_KIND_INVERT:
      return Status::Ok();
    case v1::SHIFT_KIND_NOISE:
    case v1::SHIFT_KIND_BLUR:
      if (s < 0) return InvalidArgumentError(name + ": severity must be >= 0, got " + std::to_string(s));
      if (shift.kind() == v1::SHIFT_KIND_BLUR && s > 100)
        return InvalidArgumentError(name + ": sigma must be <= 100 pixels");
      return Status::Ok();
    case v1::SHIFT_KIND_OCCLUDE:
      if (s < 0 || s > 1)
        return InvalidArgumentError(name + ": severity must be in [0,1], got " + std::to_string(s));
      return Status::Ok();
    case v1::SHIFT_KIND_SCALE:
      if (s <= 0)
        return InvalidArgumentError(name + ": severity (zoom factor) must be > 0, got " + std::to_string(s));
      return Status::Ok();
    default:
      return InvalidArgumentError("shift: kind must be one of rotate, invert, noise, blur, occlude, scale");
  }
}

void ApplyShift(const v1::Shift& shift, uint64_t seed, int64_t index, FloatImage* image) {
  Rng rng(MixSeed({seed, static_cast<uint64_t>(index), static_cast<uint64_t>(shift.kind()), 0x5817ULL}));
  const double s = shift.severity();
  switch (shift.kind()) {
    case v1::SHIFT_KIND_ROTATE:
      Rotate(s, image);
      break;
    case v1::SHIFT_KIND_INVERT:
      for (float& v : image->data) v = 1.0f - v;
      break;
    case v1::SHIFT_KIND_NOISE:
      Noise(s, &rng, image);
      break;
    case v1::SHIFT_KIND_BLUR:
      Blur(s, image);
      break;
    case v1::SHIFT_KIND_OCCLUDE:
      Occlude(s, &rng, image);
      break;
    case v1::SHIFT_KIND_SCALE:
      Scale(s, image);
      break;
    default:
      break;
  }
}

void ApplyShifts(const std::vector<v1::Shift>& shifts, uint64_t seed, int64_t index, FloatImage* image) {
  for (size_t k = 0; k < shifts.size(); ++k) ApplyShift(shifts[k], MixSeed({seed, k}), index, image);
}

}  // namespace flyp::data
