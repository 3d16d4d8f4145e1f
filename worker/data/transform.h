// The per-example image pipeline of the loader:
//   decoded Image -> float [0,1] -> geometry (eval: resize shorter side +
//   center crop; train: random resized crop; preprocess.h) -> the source's
//   shifts (shifts.h) -> CLIP normalisation -> [3,R,R] floats.
// Randomness: the crop is a function of (seed, epoch, index), the shifts of
// (shift_seed, index) only, so a shifted eval split is the same every epoch.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/data/image.h"

namespace flyp::data {

struct TransformOptions {
  int resolution = 224;         // the model's image_size
  bool train = false;           // random resized crop instead of resize + center crop
  double crop_scale_min = 0.9;  // train crop area fraction range (open_clip)
  double crop_scale_max = 1.0;
  uint64_t seed = 0;  // crop randomness
  std::vector<v1::Shift> shifts;
  uint64_t shift_seed = 0;  // DataSource.seed
};

// INVALID_ARGUMENT naming the field: resolution in [1, 4096],
// 0 < crop_scale_min <= crop_scale_max <= 1, valid shifts.
Status ValidateTransformOptions(const TransformOptions& options);

// Options for `source` from the spec's data section (crop_scale_min/max,
// default 0.9/1.0), the model resolution and the phase.
TransformOptions TransformOptionsFor(const v1::DataSpec& spec, const v1::DataSource& source, int resolution,
                                     bool train, uint64_t seed);

// Writes 3 * resolution * resolution normalised floats (CHW) to `out`.
// `index` is the example's dataset index. Requires valid options and a
// non-empty image.
void TransformImage(const Image& image, const TransformOptions& options, int64_t index, int64_t epoch,
                    float* out);

// The same pipeline before normalisation (values in [0,1] up to bicubic
// overshoot): for tests, previews and benchmarks.
FloatImage TransformUnnormalized(const Image& image, const TransformOptions& options, int64_t index,
                                 int64_t epoch);

}  // namespace flyp::data
