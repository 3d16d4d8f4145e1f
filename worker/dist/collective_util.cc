#include "worker/dist/collective_util.h"

#include <sstream>

namespace flyp::dist::internal {

void CheckTensor(const torch::Tensor& t, const torch::Device& device, const char* collective) {
  if (!t.defined()) throw CommunicatorError(std::string(collective) + ": undefined tensor");
  if (t.device() != device) {
    std::ostringstream m;
    m << collective << ": tensor is on " << t.device() << " but this communicator works on " << device;
    throw CommunicatorError(m.str());
  }
  if (!t.is_contiguous()) throw CommunicatorError(std::string(collective) + ": tensor must be contiguous");
}

GatherLayout MakeGatherLayout(const torch::Tensor& local, const std::vector<int64_t>& sizes, int rank) {
  const int64_t local_rows = local.dim() == 0 ? 1 : local.size(0);
  if (rank < 0 || rank >= static_cast<int>(sizes.size()) || sizes[rank] != local_rows) {
    std::ostringstream m;
    m << "AllGather: sizes has " << sizes.size() << " entries and says rank " << rank << " holds "
      << (rank >= 0 && rank < static_cast<int>(sizes.size()) ? sizes[rank] : -1)
      << " rows, but the local tensor has " << local_rows;
    throw CommunicatorError(m.str());
  }
  GatherLayout layout;
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) throw CommunicatorError("AllGather: negative size in sizes");
    total += s;
  }
  layout.row_numel = 1;
  layout.out_shape.push_back(total);
  for (int64_t d = 1; d < local.dim(); ++d) {
    layout.out_shape.push_back(local.size(d));
    layout.row_numel *= local.size(d);
  }
  return layout;
}

}  // namespace flyp::dist::internal
