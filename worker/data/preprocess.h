// CLIP image preprocessing (open_clip's image_transform), geometry first:
//
//   eval : Resize(shorter side -> R, bicubic) ; CenterCrop(R) ; ToTensor ;
//          Normalize(kClipMean, kClipStd)
//   train: RandomResizedCrop(R, scale=[min,max], ratio=[3/4,4/3], bicubic) ;
//          ToTensor ; Normalize
//
// Geometry follows torchvision exactly: the resized long side is
// int(R * long / short); the center crop's offsets are
// round((H - R) / 2), round((W - R) / 2) with Python's round-half-to-even;
// RandomResizedCrop.get_params (10 attempts, then the ratio-clamped center
// fallback) with our deterministic Rng in place of torch's generator.
// Resampling is resize.h's PIL-style bicubic. Grayscale becomes 3 channels.
//
// Thread safety: pure functions (an Rng is passed in).
#pragma once

#include <array>

#include "worker/data/image.h"
#include "worker/data/random.h"
#include "worker/data/resize.h"

namespace flyp::data {

inline constexpr std::array<float, 3> kClipMean = {0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr std::array<float, 3> kClipStd = {0.26862954f, 0.26130258f, 0.27577711f};

// Size after resizing the shorter side to `size` (aspect kept, long side
// truncated as torchvision does): {width, height}.
std::array<int, 2> ShorterSideSize(int width, int height, int size);

// torchvision CenterCrop offsets of a size x size crop of width x height.
Box CenterCropBox(int width, int height, int size);

// torchvision RandomResizedCrop.get_params.
Box RandomResizedCropBox(int width, int height, double scale_min, double scale_max, double ratio_min,
                         double ratio_max, Rng* rng);

// Eval geometry: [C,size,size] in [0,1] (up to bicubic overshoot), RGB.
FloatImage ResizeCenterCrop(const FloatImage& image, int size);

// Train geometry with crop scale in [scale_min, scale_max], ratio 3/4..4/3.
FloatImage RandomResizedCrop(const FloatImage& image, int size, double scale_min, double scale_max, Rng* rng);

// In place: (x - mean[c]) / std[c] per channel; requires 3 channels.
void Normalize(FloatImage* image, const std::array<float, 3>& mean = kClipMean,
               const std::array<float, 3>& std = kClipStd);

}  // namespace flyp::data
