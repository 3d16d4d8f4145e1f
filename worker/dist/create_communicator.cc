#include "worker/dist/create_communicator.h"

#include <algorithm>
#include <string>

#include "worker/dist/launched_world.h"
#include "worker/dist/mpi_communicator.h"
#include "worker/dist/single_communicator.h"
#ifdef FLYP_WITH_NCCL
#include "worker/dist/nccl_communicator.h"
#endif

namespace flyp::dist {
namespace {

// The launched world, or the defaults of a plain process when the
// launcher's variables cannot be read (CreateCommunicator reports that).
LaunchedWorld LaunchedOrDefault() {
  StatusOr<LaunchedWorld> w = DetectLaunchedWorld();
  return w.ok() ? *w : LaunchedWorld();
}

StatusOr<std::unique_ptr<Communicator>> CreateParallel(torch::Device device,
                                                       const CommunicatorOptions& options,
                                                       const LaunchedWorld& launched) {
  if (device.is_cpu())
    return CreateMpiCommunicator(options.collective_timeout, options.on_collective_timeout);
#ifdef FLYP_WITH_NCCL
  return CreateNcclCommunicator(device.has_index() ? device.index() : options.cuda_device,
                                options.collective_timeout, options.on_collective_timeout);
#else
  return FailedPreconditionError(
      "device cuda with a world of " + (launched.size > 0 ? std::to_string(launched.size) : "several") +
      " ranks needs NCCL, but this build has FLYP_WITH_NCCL=OFF (install the CUDA toolkit's NCCL "
      "under FLYP_CUDA_ROOT and reconfigure)");
#endif
}

}  // namespace

int LaunchedWorldSize() { return std::max(1, LaunchedOrDefault().size); }
int LaunchedWorldRank() { return LaunchedOrDefault().rank; }
int LaunchedLocalRank() { return LaunchedOrDefault().local_rank; }
int LaunchedLocalWorldSize() { return LaunchedOrDefault().local_size; }

StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(torch::Device device,
                                                           const CommunicatorOptions& options) {
  if (options.collective_timeout.count() < 0) {
    return InvalidArgumentError("collective_timeout must be >= 0 (0 disables the watchdog)");
  }
  if (device.is_cuda()) {
#ifndef FLYP_WITH_CUDA
    return FailedPreconditionError(
        "device cuda requested, but this build's LibTorch has no CUDA (FLYP_WITH_CUDA=OFF); build against a "
        "CUDA "
        "LibTorch (-DCMAKE_PREFIX_PATH=...) or run with device cpu");
#endif
  } else if (!device.is_cpu()) {
    return InvalidArgumentError("unsupported communicator device '" + device.str() + "' (use cpu or cuda)");
  }
  StatusOr<LaunchedWorld> launched = DetectLaunchedWorld();
  if (!launched.ok()) return launched.status().WithContext("the launcher's environment");
  if (!launched->needs_mpi()) {
    torch::Device d = device;
    if (d.is_cuda() && !d.has_index())
      d = torch::Device(torch::kCUDA, options.cuda_device < 0 ? 0 : options.cuda_device);
    return CreateSingleProcessCommunicator(d);
  }
  StatusOr<std::unique_ptr<Communicator>> comm = CreateParallel(device, options, *launched);
  if (!comm.ok()) return comm;
  FLYP_RETURN_IF_ERROR(CheckLaunchedWorld(*launched, (*comm)->world_size(), (*comm)->rank()));
  return comm;
}

}  // namespace flyp::dist
