// Internal to worker/dist: argument checks and shape arithmetic shared by the
// MPI and NCCL backends. Throws CommunicatorError naming the collective.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "worker/dist/communicator.h"

namespace flyp::dist::internal {

// `t` is defined, contiguous and on `device`.
void CheckTensor(const torch::Tensor& t, const torch::Device& device, const char* collective);

struct GatherLayout {
  std::vector<int64_t> out_shape;  // [sum(sizes), trailing dims...]
  int64_t row_numel = 0;           // elements per first-dimension row
};
// Validates `sizes` (world_size entries, non-negative, sizes[rank] matching
// local) and computes the gathered shape. A 0-dim tensor counts as one row.
GatherLayout MakeGatherLayout(const torch::Tensor& local, const std::vector<int64_t>& sizes, int rank);

}  // namespace flyp::dist::internal
