// The world-size-1 Communicator: every collective is the identity (gathers
// return a copy). Works for tensors on any device; never starts MPI. The
// in-tree fake for code that takes a Communicator.
//
// Thread safety: as Communicator.
#pragma once

#include <memory>

#include "worker/dist/communicator.h"

namespace flyp::dist {

std::unique_ptr<Communicator> CreateSingleProcessCommunicator(torch::Device device = torch::kCPU);

}  // namespace flyp::dist
