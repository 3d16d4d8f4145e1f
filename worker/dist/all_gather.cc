#include "worker/dist/all_gather.h"

#include <cstdint>

namespace flyp::dist {
namespace {

class AllGatherFunction : public torch::autograd::Function<AllGatherFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& local,
                               const std::vector<int64_t>& sizes, Communicator* comm) {
    int64_t offset = 0;
    for (int r = 0; r < comm->rank(); ++r) offset += sizes[r];
    // saved_data holds IValues only; the communicator outlives the graph
    // (documented contract), so its address is stored as an integer.
    ctx->saved_data["comm"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(comm));
    ctx->saved_data["offset"] = offset;
    ctx->saved_data["rows"] = sizes[comm->rank()];
    return comm->AllGather(local.contiguous(), sizes);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* comm = reinterpret_cast<Communicator*>(static_cast<intptr_t>(ctx->saved_data["comm"].toInt()));
    const int64_t offset = ctx->saved_data["offset"].toInt();
    const int64_t rows = ctx->saved_data["rows"].toInt();
    torch::Tensor grad = grads[0].contiguous().clone();
    comm->AllReduce(grad, ReduceOp::kSum);
    return {grad.narrow(0, offset, rows), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor AllGatherWithGrad(const torch::Tensor& local, const std::vector<int64_t>& sizes,
                                Communicator& comm) {
  return AllGatherFunction::apply(local, sizes, &comm);
}

torch::Tensor AllGatherWithGrad(const torch::Tensor& local, Communicator& comm) {
  return AllGatherWithGrad(local, comm.AllGatherSizes(local.size(0)), comm);
}

}  // namespace flyp::dist
