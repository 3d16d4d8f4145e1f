#include "worker/dist/mpi_communicator.h"

#include <climits>
#include <cstdlib>

#include "common/exit_codes.h"
#include "worker/dist/collective_util.h"
#include "worker/dist/create_communicator.h"
#include "worker/dist/mpi_runtime.h"
#include "worker/dist/watchdog.h"

namespace flyp::dist {
namespace {

using internal::CheckTensor;

MPI_Datatype ReduceType(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kInt:
      return MPI_INT32_T;
    case torch::kLong:
      return MPI_INT64_T;
    case torch::kByte:
      return MPI_UINT8_T;
    default:
      throw CommunicatorError(std::string("AllReduce: dtype ") + c10::toString(t.scalar_type()) +
                              " is not supported by the MPI backend (use float32/float64/int32/int64/uint8)");
  }
}

void CheckAvgDtype(const torch::Tensor& t, ReduceOp op) {
  if (op == ReduceOp::kAvg && !t.is_floating_point()) {
    throw CommunicatorError("AllReduce AVG needs a floating dtype");
  }
}

int CheckedInt(int64_t v, const char* what) {
  if (v > INT_MAX)
    throw CommunicatorError(std::string(what) + ": block larger than 2 GiB is not supported by MPI counts");
  return static_cast<int>(v);
}

// Elements per MPI call for chunked reductions/broadcasts (int counts).
constexpr int64_t kChunk = int64_t{1} << 30;

class MpiWork : public Work {
 public:
  MpiWork(std::vector<MPI_Request> requests, torch::Tensor tensor, bool average, int world,
          CollectiveWatchdog* dog)
      : requests_(std::move(requests)),
        tensor_(std::move(tensor)),
        average_(average),
        world_(world),
        dog_(dog) {}
  ~MpiWork() override {
    // Wait() is mandatory; without it the request would write into freed memory.
    if (!requests_.empty()) {
      try {
        Wait();
      } catch (...) {
      }
    }
  }
  void Wait() override {
    if (requests_.empty()) return;
    {
      auto scope = dog_->Watch("all_reduce_async", tensor_.nbytes());
      FLYP_MPI_CHECK(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE));
    }
    requests_.clear();
    if (average_) tensor_.div_(world_);
  }

 private:
  std::vector<MPI_Request> requests_;
  torch::Tensor tensor_;
  bool average_;
  int world_;
  CollectiveWatchdog* dog_;
};

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, int rank, int world, int thread_level, std::chrono::milliseconds timeout,
                  CollectiveWatchdog::Notifier on_timeout)
      : comm_(comm),
        rank_(rank),
        world_(world),
        local_rank_(LaunchedLocalRank()),
        watchdog_(
            timeout, {rank, world, "mpi"},
            [thread_level] {
              // MPI_Abort from this (non-main) thread is only legal at MPI_THREAD_MULTIPLE.
              if (thread_level >= MPI_THREAD_MULTIPLE)
                MPI_Abort(MPI_COMM_WORLD, kWorkerExitCollectiveTimeout);
            },
            std::chrono::seconds(10), std::move(on_timeout)) {}

  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  int local_rank() const override { return local_rank_; }
  std::string backend() const override { return "mpi"; }
  torch::Device device() const override { return torch::kCPU; }
  void SetStep(int64_t step) override { watchdog_.SetStep(step); }

  std::vector<int64_t> AllGatherSizes(int64_t n) override {
    std::vector<int64_t> sizes(world_);
    auto scope = watchdog_.Watch("all_gather_sizes", sizeof(int64_t));
    FLYP_MPI_CHECK(MPI_Allgather(&n, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, comm_));
    return sizes;
  }

  torch::Tensor AllGather(const torch::Tensor& local, const std::vector<int64_t>& sizes) override {
    CheckTensor(local, torch::kCPU, "AllGather");
    const auto layout = internal::MakeGatherLayout(local, sizes, rank_);
    torch::Tensor out = torch::empty(layout.out_shape, local.options());
    const int64_t row_bytes = layout.row_numel * static_cast<int64_t>(local.element_size());
    std::vector<int> counts(world_), displs(world_);
    int64_t offset = 0;
    bool equal = true;
    for (int r = 0; r < world_; ++r) {
      counts[r] = CheckedInt(sizes[r] * row_bytes, "AllGather");
      displs[r] = CheckedInt(offset, "AllGather");
      offset += sizes[r] * row_bytes;
      equal = equal && sizes[r] == sizes[0];
    }
    auto scope = watchdog_.Watch("all_gather", offset);
    if (equal) {
      FLYP_MPI_CHECK(MPI_Allgather(local.data_ptr(), counts[rank_], MPI_BYTE, out.data_ptr(), counts[rank_],
                                   MPI_BYTE, comm_));
    } else {
      FLYP_MPI_CHECK(MPI_Allgatherv(local.data_ptr(), counts[rank_], MPI_BYTE, out.data_ptr(), counts.data(),
                                    displs.data(), MPI_BYTE, comm_));
    }
    return out;
  }

  void AllReduce(torch::Tensor& tensor, ReduceOp op) override {
    CheckTensor(tensor, torch::kCPU, "AllReduce");
    CheckAvgDtype(tensor, op);
    const MPI_Datatype type = ReduceType(tensor);
    char* base = static_cast<char*>(tensor.data_ptr());
    const int64_t n = tensor.numel();
    {
      auto scope = watchdog_.Watch("all_reduce", tensor.nbytes());
      for (int64_t at = 0; at < n; at += kChunk) {
        const int count = static_cast<int>(std::min(kChunk, n - at));
        FLYP_MPI_CHECK(
            MPI_Allreduce(MPI_IN_PLACE, base + at * tensor.element_size(), count, type, MPI_SUM, comm_));
      }
    }
    if (op == ReduceOp::kAvg) tensor.div_(world_);
  }

  std::unique_ptr<Work> AllReduceAsync(torch::Tensor& tensor, ReduceOp op) override {
    CheckTensor(tensor, torch::kCPU, "AllReduceAsync");
    CheckAvgDtype(tensor, op);
    const MPI_Datatype type = ReduceType(tensor);
    char* base = static_cast<char*>(tensor.data_ptr());
    const int64_t n = tensor.numel();
    std::vector<MPI_Request> requests;
    for (int64_t at = 0; at < n; at += kChunk) {
      const int count = static_cast<int>(std::min(kChunk, n - at));
      requests.emplace_back();
      FLYP_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, base + at * tensor.element_size(), count, type, MPI_SUM,
                                    comm_, &requests.back()));
    }
    return std::make_unique<MpiWork>(std::move(requests), tensor, op == ReduceOp::kAvg, world_, &watchdog_);
  }

  void Broadcast(torch::Tensor& tensor, int root) override {
    CheckTensor(tensor, torch::kCPU, "Broadcast");
    if (root < 0 || root >= world_) {
      throw CommunicatorError("Broadcast: root " + std::to_string(root) + " outside world of size " +
                              std::to_string(world_));
    }
    char* base = static_cast<char*>(tensor.data_ptr());
    const int64_t n = static_cast<int64_t>(tensor.nbytes());
    auto scope = watchdog_.Watch("broadcast", n);
    for (int64_t at = 0; at < n; at += kChunk) {
      const int count = static_cast<int>(std::min(kChunk, n - at));
      FLYP_MPI_CHECK(MPI_Bcast(base + at, count, MPI_BYTE, root, comm_));
    }
  }

  void Barrier() override {
    auto scope = watchdog_.Watch("barrier", 0);
    FLYP_MPI_CHECK(MPI_Barrier(comm_));
  }

 private:
  MPI_Comm comm_;
  const int rank_;
  const int world_;
  const int local_rank_;
  CollectiveWatchdog watchdog_;
};

}  // namespace

StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(
    std::chrono::milliseconds collective_timeout, std::function<void(const std::string&)> on_timeout) {
  FLYP_ASSIGN_OR_RETURN(internal::MpiInfo info, internal::EnsureMpi());
  MPI_Comm comm = MPI_COMM_NULL;
  try {
    FLYP_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
    FLYP_MPI_CHECK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  } catch (const CommunicatorError& e) {
    return UnavailableError(e.what());
  }
  std::unique_ptr<Communicator> c = std::make_unique<MpiCommunicator>(
      comm, info.world_rank, info.world_size, info.thread_level, collective_timeout, std::move(on_timeout));
  return c;
}

}  // namespace flyp::dist
