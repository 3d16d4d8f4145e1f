// PIL-style bicubic resampling of planar float images.
//
// What is implemented (PIL's ImagingResample, Pillow >= 2.7, "BICUBIC"):
//   kernel K(x) = ((a+2)|x| - (a+3))x^2 + 1            for |x| < 1
//               = a(|x|^3 - 5|x|^2 + 8|x| - 4)          for 1 <= |x| < 2
//               = 0                                     otherwise, a = -0.5
//   For an axis resized from n input to m output samples, scale = n / m and
//   filterscale = max(scale, 1) (so downscaling widens the kernel: this is
//   PIL's antialiasing; upscaling uses the plain kernel). Output sample i has
//     center  = (i + 0.5) * scale
//     support = 2 * filterscale
//     taps    x in [max(int(center - support + 0.5), 0),
//                   min(int(center + support + 0.5), n))   (int() truncates)
//     weight  K((x - center + 0.5) / filterscale), normalised to sum to 1.
//   Taps are clamped to the input (no padding), which renormalises the
//   weights at the border exactly as PIL does. An axis whose size does not
//   change is copied (PIL skips it too).
// Difference from PIL: PIL runs the horizontal pass first and rounds and
// clips to 8 bits between and after the passes, with fixed-point weights; we
// keep float throughout (so pass order does not matter; we run the vertical
// pass first, which is faster) and do not clip (bicubic overshoot stays,
// e.g. 1.02). Results agree with PIL to about one 8-bit level.
//
// Thread safety: pure functions.
#pragma once

#include "worker/data/image.h"

namespace flyp::data {

// An integer rectangle in pixel coordinates.
struct Box {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// The bicubic kernel above (a = -0.5).
double BicubicKernel(double x);

// Resizes the `crop` region of `src` to out_width x out_height (as if the
// region were cropped first, like torchvision's resized_crop) and returns
// only the `window` of that output (e.g. a center crop), computing nothing
// outside it. `window` must lie inside [0,out_width) x [0,out_height); `crop`
// inside `src`.
FloatImage ResizeBicubic(const FloatImage& src, const Box& crop, int out_width, int out_height,
                         const Box& window);

// Whole image to out_width x out_height.
FloatImage ResizeBicubic(const FloatImage& src, int out_width, int out_height);

}  // namespace flyp::data
