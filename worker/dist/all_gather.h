// Differentiable all_gather for data-parallel losses over the global batch.
//
// Forward: every rank's local [b_r, ...] concatenated in rank order into
// [B, ...], B = sum_r b_r (unequal b_r allowed).
// Backward: for this rank's slice, the SUM over ranks of each rank's gradient
// w.r.t. that slice: grad_out is all-reduced (sum), then rows
// [offset_r, offset_r + b_r) are returned. So if every rank r backpropagates
// its own loss L_r, the local input receives d(sum_r L_r)/d(local).
//
// Collective in both directions: all ranks must call it, and run backward
// through it, in the same order. `comm` must outlive the autograd graph.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "worker/dist/communicator.h"

namespace flyp::dist {

// `sizes` as from comm.AllGatherSizes(local.size(0)).
torch::Tensor AllGatherWithGrad(const torch::Tensor& local, const std::vector<int64_t>& sizes,
                                Communicator& comm);
// Exchanges the sizes first.
torch::Tensor AllGatherWithGrad(const torch::Tensor& local, Communicator& comm);

}  // namespace flyp::dist
