// The exception every Communicator backend throws when MPI, NCCL or CUDA
// reports an error or a collective is misused. Its message names the call,
// the rank, file:line and the library version. No LibTorch dependency, so the
// raw NCCL layer (nccl_comm.h) can use it.
#pragma once

#include <stdexcept>

namespace flyp::dist {

class CommunicatorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace flyp::dist
