#include "worker/dist/nccl_communicator.h"

#ifdef FLYP_WITH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include "common/exit_codes.h"
#include "worker/dist/collective_util.h"
#include "worker/dist/create_communicator.h"
#include "worker/dist/mpi_runtime.h"
#include "worker/dist/nccl_comm.h"
#include "worker/dist/watchdog.h"

namespace flyp::dist {
namespace {

using internal::CheckTensor;

ncclDataType_t NcclType(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kHalf:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kInt:
      return ncclInt32;
    case torch::kLong:
      return ncclInt64;
    case torch::kByte:
      return ncclUint8;
    case torch::kChar:
      return ncclInt8;
    default:
      throw CommunicatorError(std::string("NCCL backend: unsupported dtype ") +
                              c10::toString(t.scalar_type()));
  }
}

class NcclCommunicator;

class NcclWork : public Work {
 public:
  NcclWork(NcclComm* nccl, cudaStream_t stream, CollectiveWatchdog* dog, int64_t bytes)
      : nccl_(nccl), stream_(stream), dog_(dog), bytes_(bytes) {}
  void Wait() override {
    if (done_) return;
    auto scope = dog_->Watch("all_reduce_async", bytes_);
    nccl_->Synchronize(stream_);
    done_ = true;
  }

 private:
  NcclComm* nccl_;
  cudaStream_t stream_;
  CollectiveWatchdog* dog_;
  int64_t bytes_;
  bool done_ = false;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<NcclComm> nccl, int thread_level, std::chrono::milliseconds timeout,
                   CollectiveWatchdog::Notifier on_timeout)
      : nccl_(std::move(nccl)),
        device_(torch::kCUDA, static_cast<c10::DeviceIndex>(nccl_->cuda_device())),
        watchdog_(
            timeout, {nccl_->rank(), nccl_->world_size(), "nccl"},
            [this, thread_level] {
              nccl_->Abort();
              if (thread_level >= MPI_THREAD_MULTIPLE)
                MPI_Abort(MPI_COMM_WORLD, kWorkerExitCollectiveTimeout);
            },
            std::chrono::seconds(10), std::move(on_timeout)) {}

  int rank() const override { return nccl_->rank(); }
  int world_size() const override { return nccl_->world_size(); }
  int local_rank() const override { return LaunchedLocalRank(); }
  std::string backend() const override { return "nccl"; }
  torch::Device device() const override { return device_; }
  void SetStep(int64_t step) override { watchdog_.SetStep(step); }

  std::vector<int64_t> AllGatherSizes(int64_t n) override {
    torch::Tensor mine = torch::full({1}, n, torch::TensorOptions().dtype(torch::kLong).device(device_));
    torch::Tensor all = torch::empty({world_size()}, mine.options());
    {
      auto scope = watchdog_.Watch("all_gather_sizes", sizeof(int64_t));
      nccl_->AllGather(mine.data_ptr(), all.data_ptr(), 1, ncclInt64, Stream());
      nccl_->Synchronize(Stream());
    }
    all = all.cpu();
    return std::vector<int64_t>(all.data_ptr<int64_t>(), all.data_ptr<int64_t>() + world_size());
  }

  torch::Tensor AllGather(const torch::Tensor& local, const std::vector<int64_t>& sizes) override {
    CheckTensor(local, device_, "AllGather");
    const auto layout = internal::MakeGatherLayout(local, sizes, rank());
    torch::Tensor out = torch::empty(layout.out_shape, local.options());
    const size_t row_bytes = static_cast<size_t>(layout.row_numel) * local.element_size();
    std::vector<size_t> counts;
    bool equal = true;
    for (int64_t s : sizes) {
      counts.push_back(static_cast<size_t>(s) * row_bytes);
      equal = equal && s == sizes[0];
    }
    auto scope = watchdog_.Watch("all_gather", out.nbytes());
    if (equal) {
      nccl_->AllGather(local.data_ptr(), out.data_ptr(), counts[0], ncclUint8, Stream());
    } else {
      nccl_->AllGatherV(local.data_ptr(), out.data_ptr(), counts, ncclUint8, Stream());
    }
    nccl_->Synchronize(Stream());
    return out;
  }

  void AllReduce(torch::Tensor& tensor, ReduceOp op) override {
    auto work = AllReduceAsync(tensor, op);
    work->Wait();
  }

  std::unique_ptr<Work> AllReduceAsync(torch::Tensor& tensor, ReduceOp op) override {
    CheckTensor(tensor, device_, "AllReduce");
    if (op == ReduceOp::kAvg && !tensor.is_floating_point())
      throw CommunicatorError("AllReduce AVG needs a floating dtype");
    nccl_->AllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), NcclType(tensor),
                     op == ReduceOp::kAvg ? ncclAvg : ncclSum, Stream());
    return std::make_unique<NcclWork>(nccl_.get(), Stream(), &watchdog_, tensor.nbytes());
  }

  void Broadcast(torch::Tensor& tensor, int root) override {
    CheckTensor(tensor, device_, "Broadcast");
    if (root < 0 || root >= world_size())
      throw CommunicatorError("Broadcast: root " + std::to_string(root) + " outside world");
    auto scope = watchdog_.Watch("broadcast", tensor.nbytes());
    nccl_->Broadcast(tensor.data_ptr(), tensor.nbytes(), ncclUint8, root, Stream());
    nccl_->Synchronize(Stream());
  }

  void Barrier() override {
    torch::Tensor one = torch::ones({1}, torch::TensorOptions().dtype(torch::kFloat).device(device_));
    AllReduce(one, ReduceOp::kSum);
  }

 private:
  cudaStream_t Stream() const {
#ifdef FLYP_WITH_CUDA
    return c10::cuda::getCurrentCUDAStream(device_.index()).stream();
#else
    return nullptr;  // legacy default stream
#endif
  }

  std::unique_ptr<NcclComm> nccl_;
  torch::Device device_;
  CollectiveWatchdog watchdog_;  // last: its thread may use nccl_
};

}  // namespace

StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(
    int cuda_device, std::chrono::milliseconds collective_timeout,
    std::function<void(const std::string&)> on_timeout) {
  FLYP_ASSIGN_OR_RETURN(internal::MpiInfo info, internal::EnsureMpi());
  if (cuda_device < 0) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
      return FailedPreconditionError("NCCL communicator: no CUDA device visible on rank " +
                                     std::to_string(info.world_rank));
    }
    cuda_device = LaunchedLocalRank() % count;
  }
  auto bcast = [](void* data, size_t bytes) {
    FLYP_MPI_CHECK(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, 0, MPI_COMM_WORLD));
  };
  std::unique_ptr<NcclComm> nccl;
  try {
    FLYP_ASSIGN_OR_RETURN(nccl, NcclComm::Create(info.world_rank, info.world_size, cuda_device, bcast));
  } catch (const CommunicatorError& e) {
    return UnavailableError(e.what());
  }
  std::unique_ptr<Communicator> c = std::make_unique<NcclCommunicator>(
      std::move(nccl), info.thread_level, collective_timeout, std::move(on_timeout));
  return c;
}

}  // namespace flyp::dist
