// Gradient accumulation with embedding caching (GradCache; open_clip's
// accum_freq): one contrastive step over a rank's batch split into k
// micro-batches, with the activation memory of ONE micro-batch and the
// gradients of the whole (global) batch.
//
//   1. Every micro-batch's image and text features are computed WITHOUT
//      autograd (no activations kept), L2-normalised and concatenated
//      ([b, d], b = sum of micro-batch sizes).
//   2. GlobalContrastiveLoss over those cached features (detached leaves)
//      and scale = exp(logit_scale); its backward gives dL/d(features) and
//      accumulates logit_scale's gradient.
//   3. Each micro-batch is encoded again WITH autograd and backpropagated
//      with its slice of the cached feature gradients, accumulating into the
//      parameters' .grad.
//
// Result: the parameters' .grad equal (to floating-point rounding) those of
// one backward of GlobalContrastiveLoss over the concatenated batch, i.e.
// of ContrastiveStep on the rank's full batch, including the loss scaling
// for rank averaging (see contrastive_loss.h). The model must be
// deterministic between the two forwards (CLIP has no dropout).
//
// Gradients ACCUMULATE into .grad (call zero_grad before), as every micro-
// batch backpropagates separately: each parameter receives k gradients per
// step, so a GradientReducer must run with overlap_with_backward = false
// (its overlap mode allows one gradient per parameter per step); call its
// Finish() after GradCacheStep, then the optimiser step.
//
// Collective: every rank must call it with the same number of micro-batches
// (sizes may differ). Errors throw c10::Error, as the loss does.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "worker/dist/communicator.h"
#include "worker/dist/contrastive_loss.h"
#include "worker/model/clip.h"

namespace flyp::train {

struct MicroBatch {
  torch::Tensor images;  // [m, 3, H, W], the model's dtype and device
  torch::Tensor ids;     // [m, context_length] int64 token ids
  torch::Tensor labels;  // [m] int64; only read with mask_same_class
};

// The text tower's features of every row of `ids` [n, context], each distinct caption
// encoded once. A batch repeats captions whenever two samples share a class
// (and template): 16 Fashion-MNIST samples have about 8 distinct ones. The
// towers treat sequences independently, so a repeated row's features are
// the same, and index_select's backward sums the rows' gradients before the
// tower's backward, which is linear in them: the loss and the gradients are
// those of encoding every row (up to float summation order), for less work.
// ContrastiveStep and GradCacheStep (per micro-batch, so memory stays
// bounded by the micro-batch) use it. *work (optional) gets the work the
// tower did added to it.
struct TextWork {
  int64_t captions = 0;  // captions the tower ran on
  int64_t tokens = 0;    // their positions, summed (encode_text stops at the last EOT)
};
torch::Tensor EncodeDistinctCaptions(model::ClipModel& model, const torch::Tensor& ids, TextWork* work);

struct GradCacheResult {
  double loss = 0;           // the single-process global loss L (as ContrastiveStep's value)
  int64_t global_batch = 0;  // B, summed over ranks
  TextWork text;             // this rank's micro-batches' text work, summed
};

// One accumulated step; see the file comment. `micro_batches` must be
// non-empty, with at least one sample on some rank.
// With `bf16_autocast` the encoders run under bf16 autocast on a CUDA
// device (AutocastScope; nothing changes on CPU) and the features are cast
// to float32 before the loss, which always runs in float32.
GradCacheResult GradCacheStep(model::ClipModel& model, const std::vector<MicroBatch>& micro_batches,
                              dist::Communicator& comm, const dist::ContrastiveLossOptions& options = {},
                              bool bf16_autocast = false);

// Splits a batch into micro-batches of at most `micro_batch_size` rows
// (the last may be smaller). `labels` may be undefined.
std::vector<MicroBatch> SplitIntoMicroBatches(const torch::Tensor& images, const torch::Tensor& ids,
                                              const torch::Tensor& labels, int64_t micro_batch_size);

}  // namespace flyp::train
