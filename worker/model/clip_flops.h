// Floating-point operations of a CLIP training step, counted from the model
// config (docs/performance.md, "FLOPs per step"): the multiply-adds of the
// dense layers and the attention products, 2 FLOPs each; layer norms,
// softmax, GELU and the optimiser are left out (they are memory-bound and a
// few percent of the total).
//
// One transformer block over n tokens of width d with MLP width m:
//   q, k, v and out projections  2·n·d·(3d) + 2·n·d·d = 8·n·d²
//   scores q·kᵀ and weights·v    2·n²·d + 2·n²·d     = 4·n²·d
//   MLP                          2·n·d·m + 2·n·m·d   = 4·n·d·m
// The image tower adds the patch embedding (2·g²·3p²·d, g² patches of
// p×p×3 pixels) and the projection 2·d·e; the text tower runs its tokens
// through every block and projects one token, 2·d·e. CountClipFlops counts
// all context_length tokens (what open_clip runs); ClipModel::encode_text
// runs only the positions up to a batch's last EOT, counted by
// TextForwardFlops. Training costs 3× the forward (backward: the
// gradients of the inputs and of the weights, one forward's worth each).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>

#include "worker/model/clip_config.h"

namespace flyp::model {

struct ClipFlops {
  double image_forward = 0;  // one image through the image tower
  double text_forward = 0;   // one caption through the text tower
  // Both towers' forward and backward for one (image, caption) pair.
  double train_per_pair() const { return 3 * (image_forward + text_forward); }
};

ClipFlops CountClipFlops(const ClipConfig& config);

// One caption through the text tower run on `positions` tokens
// (CountClipFlops(c).text_forward == TextForwardFlops(c, c.context_length)).
double TextForwardFlops(const ClipConfig& config, double positions);

}  // namespace flyp::model
