// The CLIP / FLYP contrastive loss over the GLOBAL batch of a data-parallel
// job (ARCHITECTURE §4 "FLYP step", "Global batch").
//
// Inputs (per rank r, holding b_r samples; b_r may differ between ranks and
// may be 0):
//   image_features [b_r, d], text_features [b_r, d], already L2-normalised by
//     the caller; row i of both belongs to sample i.
//   scale: 0-dim tensor s = exp(logit_scale), i.e. the caller passes
//     `logit_scale.exp()` (NOT the raw parameter) and clamps the parameter to
//     [0, ln 100] after each optimiser step. s may require grad.
//   labels [b_r] int64: class ids, needed only with mask_same_class.
//
// With F, G the features gathered in rank order (B = sum_r b_r rows), the
// single-process loss on the global batch is
//   L = ( CE(s·F Gᵀ, arange(B)) + CE(s·G Fᵀ, arange(B)) ) / 2,
// CE averaged over the B rows. mask_same_class sets logit (i, j) to -inf when
// i != j and labels agree, so same-class pairs are not negatives (they drop
// out of the softmax denominators); the diagonal is always kept.
//
// Modes:
//  - full (local_loss = false): every rank builds the B×B logits and computes
//    L itself. Memory O(B²) per rank.
//  - local_loss: rank r builds only its b_r rows against all B columns:
//    image logits s·F_r Gᵀ and text logits s·G_r Fᵀ, targets
//    offset_r + arange(b_r) (offset_r = b_0 + ... + b_{r-1}). Its mean loss
//    L_r satisfies L = sum_r (b_r / B) · L_r. Memory O(b_r·B).
//
// GRADIENT SCALING (both modes): `loss` is scaled so that when every rank
// calls loss.backward() and then AVERAGES parameter gradients over the N
// ranks (GradientReducer, i.e. all-reduce sum / N), every parameter gradient
// equals the single-process gradient dL/dθ exactly:
//  - full:       loss = L. Rank r's features receive N·dL/dF_r (the gather's
//                backward sums N identical copies); the average over ranks
//                divides the N back out. s gets dL/ds on every rank.
//  - local_loss: loss = (N·b_r/B) · L_r  (= L_r when all b_r are equal).
//                The gather's backward sums every rank's contribution, so
//                rank r's features receive (N)·dL/dF_r, again cancelled by
//                the average; s gets N(b_r/B)·dL_r/ds, whose average is dL/ds.
// `global_loss` is L itself (detached, identical on every rank): log this,
// not `loss`. In local_loss mode it costs one extra scalar all-reduce.
//
// Collective: every rank must call it (and backward) in the same order.
// Errors (shape/dtype mismatches) throw c10::Error / CommunicatorError.
#pragma once

#include <torch/torch.h>

#include "worker/dist/communicator.h"

namespace flyp::dist {

struct ContrastiveLossOptions {
  // Compute only this rank's rows (memory O(b·B) instead of O(B²)).
  bool local_loss = false;
  // Exclude same-class off-diagonal pairs from the denominators (needs labels).
  bool mask_same_class = false;
};

struct ContrastiveLossResult {
  torch::Tensor loss;         // 0-dim; backward() on this (scaled, see above)
  torch::Tensor global_loss;  // 0-dim, detached: the single-process loss L
  int64_t global_batch = 0;   // B
};

ContrastiveLossResult GlobalContrastiveLoss(const torch::Tensor& image_features,
                                            const torch::Tensor& text_features, const torch::Tensor& scale,
                                            Communicator& comm, const ContrastiveLossOptions& options = {},
                                            const torch::Tensor& labels = torch::Tensor());

}  // namespace flyp::dist
