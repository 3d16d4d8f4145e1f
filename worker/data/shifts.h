// Distribution shifts (v1::Shift) applied to a preprocessed image: after the
// resize/crop geometry, before normalisation, on values in [0,1], so pixel
// units are pixels of the model's input resolution. Each is deterministic in
// (seed, image index); only noise and occlusion use randomness.
//
//   ROTATE   severity degrees, counter-clockwise about the image center,
//            bilinear sampling, uncovered corners black (0), like
//            torchvision's rotate with fill 0.
//   INVERT   x -> 1 - x; severity ignored.
//   NOISE    x + N(0, severity^2), clipped to [0,1]; severity >= 0.
//   BLUR     separable gaussian, sigma = severity pixels, radius ceil(3 sigma),
//            edge samples replicated; severity >= 0 (0: unchanged).
//   OCCLUDE  a square of side round(severity * min(H,W)) at a random position
//            (fully inside the image) filled with mid-gray 0.5 (visible on
//            both dark and light backgrounds); severity in [0,1].
//   SCALE    zoom by factor severity about the center (bilinear): > 1 zooms
//            in, < 1 shrinks the image onto a black (0) background; > 0.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/data/image.h"

namespace flyp::data {

// INVALID_ARGUMENT naming the shift and the allowed range.
Status ValidateShift(const v1::Shift& shift);

// Applies one shift in place. Requires ValidateShift(shift).ok().
void ApplyShift(const v1::Shift& shift, uint64_t seed, int64_t index, FloatImage* image);

// Applies the shifts in order; the k-th shift draws from its own stream.
void ApplyShifts(const std::vector<v1::Shift>& shifts, uint64_t seed, int64_t index, FloatImage* image);

// "rotate", "invert", ... (for messages and reports).
const char* ShiftKindName(v1::ShiftKind kind);

}  // namespace flyp::data
