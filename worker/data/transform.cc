#include "worker/data/transform.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "worker/data/preprocess.h"
#include "worker/data/random.h"
#include "worker/data/shifts.h"

namespace flyp::data {

Status ValidateTransformOptions(const TransformOptions& o) {
  if (o.resolution < 1 || o.resolution > 4096) {
    return InvalidArgumentError("resolution must be in [1, 4096], got " + std::to_string(o.resolution));
  }
  if (!(o.crop_scale_min > 0 && o.crop_scale_min <= o.crop_scale_max && o.crop_scale_max <= 1)) {
    return InvalidArgumentError("crop_scale_min/crop_scale_max must satisfy 0 < min <= max <= 1, got " +
                                std::to_string(o.crop_scale_min) + "/" + std::to_string(o.crop_scale_max));
  }
  for (const v1::Shift& s : o.shifts) FLYP_RETURN_IF_ERROR(ValidateShift(s));
  return Status::Ok();
}

TransformOptions TransformOptionsFor(const v1::DataSpec& spec, const v1::DataSource& source, int resolution,
                                     bool train, uint64_t seed) {
  TransformOptions o;
  o.resolution = resolution;
  o.train = train;
  if (spec.has_crop_scale_min()) o.crop_scale_min = spec.crop_scale_min();
  if (spec.has_crop_scale_max()) o.crop_scale_max = spec.crop_scale_max();
  o.seed = seed;
  o.shifts.assign(source.shifts().begin(), source.shifts().end());
  o.shift_seed = static_cast<uint64_t>(source.seed());
  return o;
}

FloatImage TransformUnnormalized(const Image& image, const TransformOptions& o, int64_t index,
                                 int64_t epoch) {
  const FloatImage f = ToFloat(image, /*to_rgb=*/false);  // gray is widened after resizing (cheaper)
  FloatImage out;
  if (o.train) {
    Rng rng(MixSeed({o.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index), 0x63726f70ULL}));
    out = RandomResizedCrop(f, o.resolution, o.crop_scale_min, o.crop_scale_max, &rng);
  } else {
    out = ResizeCenterCrop(f, o.resolution);
  }
  if (!o.shifts.empty()) ApplyShifts(o.shifts, o.shift_seed, index, &out);
  return out;
}

void TransformImage(const Image& image, const TransformOptions& o, int64_t index, int64_t epoch, float* out) {
  FloatImage f = TransformUnnormalized(image, o, index, epoch);
  Normalize(&f);
  std::copy(f.data.begin(), f.data.end(), out);
}

}  // namespace flyp::data
