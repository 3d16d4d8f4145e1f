// NcclComm: a thin, checked NCCL communicator over raw device pointers and a
// cudaStream_t, so it builds and links without a CUDA LibTorch (only the CUDA
// toolkit's nccl.h / cuda_runtime_api.h; built when FLYP_WITH_NCCL). Internal
// to worker/dist (it includes nccl.h); nccl_communicator.h puts tensors on top.
//
// Every NCCL / CUDA call goes through FLYP_NCCL_CHECK / FLYP_CUDA_CHECK, which
// throw CommunicatorError naming the call, rank, file:line, NCCL version
// (ncclGetVersion) and CUDA runtime version.
//
// Collectives enqueue on `stream`; Synchronize(stream) waits for them by
// polling cudaStreamQuery and ncclCommGetAsyncError, so a blocked collective
// leaves the host thread in a loop the watchdog can interrupt (Abort()).
//
// Thread safety: collectives from one thread at a time; Abort() from any
// thread (the watchdog's).
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace flyp::dist {

class NcclComm {
 public:
  // Collective over `world_size` processes. Rank 0 creates the ncclUniqueId;
  // `broadcast_from_root(data, bytes)` must copy rank 0's bytes to every rank
  // (the MPI bootstrap passes MPI_Bcast). Selects `cuda_device` first.
  // Errors: FAILED_PRECONDITION (no such device), UNAVAILABLE (NCCL init).
  static StatusOr<std::unique_ptr<NcclComm>> Create(
      int rank, int world_size, int cuda_device,
      const std::function<void(void*, size_t)>& broadcast_from_root);
  ~NcclComm();  // ncclCommDestroy (skipped after Abort)
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_; }
  int cuda_device() const { return device_; }

  // `count` elements per rank; recv holds world_size * count.
  void AllGather(const void* send, void* recv, size_t count, ncclDataType_t type, cudaStream_t stream);
  // Unequal blocks: rank r contributes counts[r] elements; recv is their
  // concatenation (one ncclBroadcast per rank inside a group).
  void AllGatherV(const void* send, void* recv, const std::vector<size_t>& counts, ncclDataType_t type,
                  cudaStream_t stream);
  void AllReduce(const void* send, void* recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                 cudaStream_t stream);
  void Broadcast(void* buf, size_t count, ncclDataType_t type, int root, cudaStream_t stream);
  // Waits for all work on `stream`; throws on an asynchronous NCCL error.
  void Synchronize(cudaStream_t stream);
  // ncclCommAbort: unblocks kernels stuck in a collective. Any thread.
  void Abort();

  // "NCCL 2.28.9, CUDA runtime 12.8"
  static std::string Versions();

 private:
  NcclComm(ncclComm_t comm, int rank, int world, int device)
      : comm_(comm), rank_(rank), world_(world), device_(device) {}
  ncclComm_t comm_;
  const int rank_;
  const int world_;
  const int device_;
  bool aborted_ = false;
};

namespace internal {
void CheckNccl(ncclResult_t rc, const char* call, int rank, const char* file, int line);
void CheckCuda(cudaError_t rc, const char* call, int rank, const char* file, int line);
size_t NcclTypeSize(ncclDataType_t type);
}  // namespace internal

}  // namespace flyp::dist

// `rank_` must be in scope (members of NcclComm) or pass it explicitly via the
// _R forms.
#define FLYP_NCCL_CHECK_R(call, rank) \
  ::flyp::dist::internal::CheckNccl((call), #call, (rank), __FILE__, __LINE__)
#define FLYP_CUDA_CHECK_R(call, rank) \
  ::flyp::dist::internal::CheckCuda((call), #call, (rank), __FILE__, __LINE__)
#define FLYP_NCCL_CHECK(call) FLYP_NCCL_CHECK_R(call, rank_)
#define FLYP_CUDA_CHECK(call) FLYP_CUDA_CHECK_R(call, rank_)
