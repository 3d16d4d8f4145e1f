#include "worker/data/image.h"

namespace flyp::data {

FloatImage ToFloat(const Image& image, bool to_rgb) {
  const int out_c = (to_rgb && image.channels == 1) ? 3 : image.channels;
  FloatImage out(out_c, image.height, image.width);
  const size_t n = static_cast<size_t>(image.height) * image.width;
  constexpr float kInv255 = 1.0f / 255.0f;
  for (int c = 0; c < out_c; ++c) {
    const int src_c = image.channels == 1 ? 0 : c;
    float* dst = out.plane(c);
    const uint8_t* src = image.pixels.data() + src_c;
    for (size_t i = 0; i < n; ++i) dst[i] = src[i * image.channels] * kInv255;
  }
  return out;
}

}  // namespace flyp::data
