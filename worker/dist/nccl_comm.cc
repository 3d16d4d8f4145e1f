#include "worker/dist/nccl_comm.h"

#include <chrono>
#include <sstream>
#include <thread>

#include "worker/dist/communicator_error.h"

namespace flyp::dist {
namespace internal {

void CheckNccl(ncclResult_t rc, const char* call, int rank, const char* file, int line) {
  if (rc == ncclSuccess) return;
  std::ostringstream m;
  m << call << " failed: " << ncclGetErrorString(rc) << " (rank " << rank << ", " << file << ":" << line
    << ", " << NcclComm::Versions() << ")";
  throw CommunicatorError(m.str());
}

void CheckCuda(cudaError_t rc, const char* call, int rank, const char* file, int line) {
  if (rc == cudaSuccess) return;
  std::ostringstream m;
  m << call << " failed: " << cudaGetErrorName(rc) << ": " << cudaGetErrorString(rc) << " (rank " << rank
    << ", " << file << ":" << line << ", " << NcclComm::Versions() << ")";
  throw CommunicatorError(m.str());
}

size_t NcclTypeSize(ncclDataType_t type) {
  switch (type) {
    case ncclInt8:
    case ncclUint8:
      return 1;
    case ncclFloat16:
    case ncclBfloat16:
      return 2;
    case ncclInt32:
    case ncclUint32:
    case ncclFloat32:
      return 4;
    case ncclInt64:
    case ncclUint64:
    case ncclFloat64:
      return 8;
    default:
      throw CommunicatorError("NCCL: unsupported data type " + std::to_string(static_cast<int>(type)));
  }
}

}  // namespace internal

std::string NcclComm::Versions() {
  int nccl = 0, cuda = 0;
  std::ostringstream v;
  if (ncclGetVersion(&nccl) == ncclSuccess) {
    // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
    v << "NCCL " << nccl / 10000 << "." << (nccl % 10000) / 100 << "." << nccl % 100;
  } else {
    v << "NCCL (version unknown)";
  }
  if (cudaRuntimeGetVersion(&cuda) == cudaSuccess)
    v << ", CUDA runtime " << cuda / 1000 << "." << (cuda % 1000) / 10;
  return v.str();
}

StatusOr<std::unique_ptr<NcclComm>> NcclComm::Create(
    int rank, int world_size, int cuda_device,
    const std::function<void(void*, size_t)>& broadcast_from_root) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    return FailedPreconditionError("NCCL communicator: no CUDA device visible on rank " +
                                   std::to_string(rank) + " (" + Versions() + ")");
  }
  if (cuda_device < 0 || cuda_device >= count) {
    return FailedPreconditionError("NCCL communicator: cuda device " + std::to_string(cuda_device) +
                                   " requested on rank " + std::to_string(rank) + " but " +
                                   std::to_string(count) + " are visible");
  }
  try {
    FLYP_CUDA_CHECK_R(cudaSetDevice(cuda_device), rank);
    ncclUniqueId id{};
    if (rank == 0) FLYP_NCCL_CHECK_R(ncclGetUniqueId(&id), rank);
    broadcast_from_root(&id, sizeof(id));
    ncclComm_t comm = nullptr;
    FLYP_NCCL_CHECK_R(ncclCommInitRank(&comm, world_size, id, rank), rank);
    return std::unique_ptr<NcclComm>(new NcclComm(comm, rank, world_size, cuda_device));
  } catch (const CommunicatorError& e) {
    return UnavailableError(e.what());
  }
}

NcclComm::~NcclComm() {
  if (!aborted_ && comm_ != nullptr) ncclCommDestroy(comm_);
}

void NcclComm::AllGather(const void* send, void* recv, size_t count, ncclDataType_t type,
                         cudaStream_t stream) {
  FLYP_NCCL_CHECK(ncclAllGather(send, recv, count, type, comm_, stream));
}

void NcclComm::AllGatherV(const void* send, void* recv, const std::vector<size_t>& counts,
                          ncclDataType_t type, cudaStream_t stream) {
  if (static_cast<int>(counts.size()) != world_)
    throw CommunicatorError("AllGatherV: counts must have world_size entries");
  const size_t elem = internal::NcclTypeSize(type);
  char* out = static_cast<char*>(recv);
  FLYP_NCCL_CHECK(ncclGroupStart());
  size_t offset = 0;
  for (int r = 0; r < world_; ++r) {
    // Rank r's block lands at its offset on every rank (in place on rank r).
    const void* src = r == rank_ ? send : out + offset * elem;
    FLYP_NCCL_CHECK(ncclBroadcast(src, out + offset * elem, counts[r], type, r, comm_, stream));
    offset += counts[r];
  }
  FLYP_NCCL_CHECK(ncclGroupEnd());
}

void NcclComm::AllReduce(const void* send, void* recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                         cudaStream_t stream) {
  FLYP_NCCL_CHECK(ncclAllReduce(send, recv, count, type, op, comm_, stream));
}

void NcclComm::Broadcast(void* buf, size_t count, ncclDataType_t type, int root, cudaStream_t stream) {
  FLYP_NCCL_CHECK(ncclBroadcast(buf, buf, count, type, root, comm_, stream));
}

void NcclComm::Synchronize(cudaStream_t stream) {
  while (true) {
    const cudaError_t q = cudaStreamQuery(stream);
    if (q == cudaSuccess) return;
    if (q != cudaErrorNotReady) FLYP_CUDA_CHECK(q);
    ncclResult_t async = ncclSuccess;
    FLYP_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
    if (async != ncclSuccess && async != ncclInProgress) FLYP_NCCL_CHECK(async);
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

void NcclComm::Abort() {
  aborted_ = true;
  ncclCommAbort(comm_);
}

}  // namespace flyp::dist
