#include "worker/dist/create_communicator.h"

#include <cstdlib>
#include <string>

#include "common/numbers.h"
#include "worker/dist/mpi_communicator.h"
#include "worker/dist/single_communicator.h"
#ifdef FLYP_WITH_NCCL
#include "worker/dist/nccl_communicator.h"
#endif

namespace flyp::dist {
namespace {

// mpirun's own variables (not FLYP_ ones, so not in common/env.h).
int IntFromEnv(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  StatusOr<int32_t> n = ParseInt32(v, name);
  return n.ok() ? *n : fallback;
}

}  // namespace

int LaunchedWorldSize() { return IntFromEnv("OMPI_COMM_WORLD_SIZE", 1); }
int LaunchedWorldRank() { return IntFromEnv("OMPI_COMM_WORLD_RANK", 0); }
int LaunchedLocalRank() { return IntFromEnv("OMPI_COMM_WORLD_LOCAL_RANK", 0); }
int LaunchedLocalWorldSize() { return IntFromEnv("OMPI_COMM_WORLD_LOCAL_SIZE", 1); }

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
  const int world = LaunchedWorldSize();
  if (world <= 1) {
    torch::Device d = device;
    if (d.is_cuda() && !d.has_index())
      d = torch::Device(torch::kCUDA, options.cuda_device < 0 ? 0 : options.cuda_device);
    return CreateSingleProcessCommunicator(d);
  }
  if (device.is_cpu())
    return CreateMpiCommunicator(options.collective_timeout, options.on_collective_timeout);
#ifdef FLYP_WITH_NCCL
  return CreateNcclCommunicator(device.has_index() ? device.index() : options.cuda_device,
                                options.collective_timeout, options.on_collective_timeout);
#else
  return FailedPreconditionError(
      "device cuda with world size " + std::to_string(world) +
      " needs NCCL, but this build has FLYP_WITH_NCCL=OFF (install the CUDA toolkit's NCCL "
      "under FLYP_CUDA_ROOT and reconfigure)");
#endif
}

}  // namespace flyp::dist
