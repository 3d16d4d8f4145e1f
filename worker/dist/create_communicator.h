// CreateCommunicator: picks and builds the Communicator for this process.
//
//   not launched (no mpirun, srun step or PMIx variables; launched_world.h)
//   or launched as a world of 1
//                         -> single-process communicator (any device)
//   device cpu            -> MPI communicator (MPI_COMM_WORLD, duplicated)
//   device cuda           -> NCCL communicator (ncclUniqueId broadcast over MPI;
//                            GPU = options.cuda_device or local_rank % #GPUs)
//
// Capabilities are checked here, never later: asking for cuda from a build
// whose LibTorch has no CUDA (FLYP_WITH_CUDA off), or for cuda with world
// size > 1 without NCCL (FLYP_WITH_NCCL off), returns FAILED_PRECONDITION
// with a message saying what to rebuild. MPI start-up failures return
// UNAVAILABLE. A launcher that started more processes than MPI joined (srun
// without --mpi=pmix: N worlds of 1) is refused with FAILED_PRECONDITION
// (CheckLaunchedWorld), as are launcher variables that cannot be read
// (INVALID_ARGUMENT). Collective on MPI_COMM_WORLD for the MPI/NCCL
// backends: every rank must call it.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "worker/dist/communicator.h"

namespace flyp::dist {

struct CommunicatorOptions {
  // A collective that makes no progress for this long aborts the whole world
  // with exit code kWorkerExitCollectiveTimeout (common/exit_codes.h). Default 10 min (the
  // first collective may wait for the slowest rank to load a checkpoint);
  // zero disables the watchdog.
  std::chrono::milliseconds collective_timeout = std::chrono::minutes(10);
  // GPU for the NCCL backend; -1: local_rank % (number of visible GPUs).
  int cuda_device = -1;
  // Called by the watchdog when it fires, before it aborts the world
  // (CollectiveWatchdog's `notify`); empty: nobody is told.
  std::function<void(const std::string& message)> on_collective_timeout;
};

StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(torch::Device device,
                                                           const CommunicatorOptions& options = {});

// What the launcher says (DetectLaunchedWorld, launched_world.h): mpirun's,
// srun's or PMIx's variables; 1 / 0 / 0 / 1 for a plain process or when they
// cannot be read.
int LaunchedWorldSize();
int LaunchedWorldRank();
int LaunchedLocalRank();
int LaunchedLocalWorldSize();  // ranks on this host

}  // namespace flyp::dist
