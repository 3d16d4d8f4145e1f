// The NCCL backend: CUDA tensors over NcclComm (nccl_comm.h), bootstrapped
// over MPI (rank 0's ncclUniqueId is MPI_Bcast to the world). Built when
// FLYP_WITH_NCCL; usable only when LibTorch has CUDA (FLYP_WITH_CUDA), which
// CreateCommunicator checks before calling this.
//
// Collectives run on LibTorch's current CUDA stream of the communicator's
// device (the legacy default stream in builds without FLYP_WITH_CUDA) and are
// host-synchronous: each call returns after its kernels finished, polled so
// the watchdog (abort = ncclCommAbort, then MPI_Abort) can fire on a hang.
// AllReduceAsync returns at once; its Wait() does the polling.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "worker/dist/communicator.h"

namespace flyp::dist {

// Collective over MPI_COMM_WORLD. cuda_device < 0: local rank % #GPUs.
// `on_timeout` is the watchdog's notifier (CollectiveWatchdog::Notifier).
StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(
    int cuda_device, std::chrono::milliseconds collective_timeout,
    std::function<void(const std::string&)> on_timeout = {});

}  // namespace flyp::dist
