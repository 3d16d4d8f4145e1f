#include "worker/model/clip_flops.h"

namespace flyp::model {
namespace {

double BlockFlops(double n, const TowerConfig& t) {
  const double d = static_cast<double>(t.width), m = static_cast<double>(t.mlp_width);
  return 8 * n * d * d + 4 * n * n * d + 4 * n * d * m;
}

}  // namespace

ClipFlops CountClipFlops(const ClipConfig& c) {
  ClipFlops f;
  const double e = static_cast<double>(c.embed_dim);
  const double dv = static_cast<double>(c.vision.width);
  const double g2 = static_cast<double>(c.grid_size() * c.grid_size());
  const double p2 = static_cast<double>(c.patch_size * c.patch_size);
  f.image_forward =
      2 * g2 * 3 * p2 * dv +
      static_cast<double>(c.vision.layers) * BlockFlops(static_cast<double>(c.num_image_tokens()), c.vision) +
      2 * dv * e;
  f.text_forward = TextForwardFlops(c, static_cast<double>(c.context_length));
  return f;
}

double TextForwardFlops(const ClipConfig& c, double positions) {
  return static_cast<double>(c.text.layers) * BlockFlops(positions, c.text) +
         2 * static_cast<double>(c.text.width) * static_cast<double>(c.embed_dim);
}

}  // namespace flyp::model
