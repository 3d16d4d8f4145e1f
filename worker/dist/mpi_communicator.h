// The MPI backend: CPU tensors, a duplicate of MPI_COMM_WORLD with
// MPI_ERRORS_RETURN (errors become CommunicatorError, see mpi_runtime.h).
// Starts MPI if needed (MPI_THREAD_MULTIPLE requested, see mpi_runtime.h).
// Every blocking MPI call runs under a CollectiveWatchdog whose abort is
// MPI_Abort(MPI_COMM_WORLD, kWorkerExitCollectiveTimeout).
//
// all_reduce AVG = MPI_SUM then division by world_size (floating dtypes).
// Unequal all_gather = MPI_Allgatherv over bytes; each rank's block must stay
// below 2 GiB (MPI int counts), checked.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "worker/dist/communicator.h"

namespace flyp::dist {

// Collective over MPI_COMM_WORLD. UNAVAILABLE if MPI cannot start.
// `on_timeout` is the watchdog's notifier (CollectiveWatchdog::Notifier).
StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(
    std::chrono::milliseconds collective_timeout, std::function<void(const std::string&)> on_timeout = {});

}  // namespace flyp::dist
