// Communicator: the collectives data-parallel training needs, over the ranks of
// one job. Backends: single-process (world size 1), MPI (CPU tensors) and NCCL
// (CUDA tensors; see nccl_comm.h). Create one with CreateCommunicator()
// (create_communicator.h).
//
// Contract shared by every backend:
//  - Collectives are blocking and must be called by every rank in the same
//    order with matching shapes/dtypes (like MPI). A mismatch is undefined;
//    a rank that never arrives trips the watchdog (see watchdog.h): after
//    collective_timeout the world is aborted with exit code 75.
//  - Tensors must live on device() and be contiguous; dtypes: float32,
//    float64, int32, int64, uint8 (gather/broadcast accept any dtype).
//  - Errors from the underlying library throw CommunicatorError whose message
//    names the call, rank, file:line and library version.
//
// Thread safety: one thread at a time may issue collectives on a Communicator
// (the autograd engine's thread counts as that thread during backward).
// SetStep() may be called from any thread.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "worker/dist/communicator_error.h"

namespace flyp::dist {

enum class ReduceOp { kSum, kAvg };

// An asynchronous collective started by AllReduceAsync(). Wait() blocks (under
// the watchdog) until the result is in the tensor; it must be called exactly
// once before the tensor is read or the Work is destroyed.
class Work {
 public:
  virtual ~Work() = default;
  virtual void Wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Rank among the processes on this host (the launcher's, see
  // launched_world.h; 0 for a plain process). Used to pick a GPU.
  virtual int local_rank() const = 0;
  // "single", "mpi" or "nccl".
  virtual std::string backend() const = 0;
  // Where the tensors passed to collectives must live.
  virtual torch::Device device() const = 0;

  // Tells the watchdog which training step is running, for its report.
  virtual void SetStep(int64_t step) = 0;

  // Every rank's first-dimension size n (world_size() entries, rank order).
  virtual std::vector<int64_t> AllGatherSizes(int64_t n) = 0;

  // Concatenates every rank's `local` along dim 0, in rank order. `sizes[r]`
  // is rank r's size(0) (from AllGatherSizes); trailing dims and dtype must
  // match. Returns a new tensor [sum(sizes), ...].
  virtual torch::Tensor AllGather(const torch::Tensor& local, const std::vector<int64_t>& sizes) = 0;
  // As above, exchanging the sizes first (one extra small collective).
  torch::Tensor AllGather(const torch::Tensor& local) {
    return AllGather(local, AllGatherSizes(local.dim() == 0 ? 1 : local.size(0)));
  }

  // In place: tensor = sum (or mean, floating dtypes only) over ranks.
  virtual void AllReduce(torch::Tensor& tensor, ReduceOp op) = 0;
  // Starts an in-place all-reduce; the result is valid after Wait(). The
  // tensor must not be touched until then. Collective ordering counts the
  // call, not the Wait().
  virtual std::unique_ptr<Work> AllReduceAsync(torch::Tensor& tensor, ReduceOp op) = 0;

  // In place: every rank's tensor becomes root's.
  virtual void Broadcast(torch::Tensor& tensor, int root) = 0;

  virtual void Barrier() = 0;
};

}  // namespace flyp::dist
