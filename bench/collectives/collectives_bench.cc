// Collective bandwidth, reported like nccl-tests:
//   algbw = bytes / time;  all_reduce busbw = algbw · 2(n−1)/n;
//   all_gather busbw = algbw · (n−1)/n, where bytes is the gathered (output)
//   size, as nccl-tests counts it. time = mean per call over --iters calls
//   after warm-up, averaged over ranks.
// Backends: mpi (CPU float32 tensors through flyp::dist's Communicator) and,
// when built with NCCL and a GPU is visible, nccl (raw device buffers through
// NcclComm; ncclUniqueId shared through the MPI communicator).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>

#include "worker/dist/create_communicator.h"
#ifdef FLYP_WITH_NCCL
#include "worker/dist/nccl_comm.h"
#endif

namespace {

using flyp::dist::Communicator;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string backend = "mpi";
  int64_t min_bytes = 1024;
  int64_t max_bytes = int64_t{64} << 20;
  int iters = 0;  // 0: adaptive
};

int ItersFor(const Args& a, int64_t bytes) {
  if (a.iters > 0) return a.iters;
  const int64_t budget = int64_t{512} << 20;  // bytes moved per measurement
  return static_cast<int>(std::max<int64_t>(5, std::min<int64_t>(200, budget / bytes)));
}

// Mean seconds per call of `op` (after 2 warm-ups), averaged over ranks.
double TimeIt(Communicator& comm, int iters, const std::function<void()>& op) {
  for (int i = 0; i < 2; ++i) op();
  comm.Barrier();
  const auto start = Clock::now();
  for (int i = 0; i < iters; ++i) op();
  double secs = std::chrono::duration<double>(Clock::now() - start).count() / iters;
  torch::Tensor t = torch::tensor({secs}, torch::kDouble);
  comm.AllReduce(t, flyp::dist::ReduceOp::kAvg);
  return t.item<double>();
}

void PrintHeader(Communicator& comm, const std::string& backend) {
  if (comm.rank() != 0) return;
  std::printf("# collectives_bench backend=%s ranks=%d dtype=float32\n", backend.c_str(), comm.world_size());
  std::printf("# %-10s %12s %8s %12s %12s %12s\n", "op", "size(B)", "iters", "time(us)", "algbw(GB/s)",
              "busbw(GB/s)");
}

void PrintRow(Communicator& comm, const char* op, int64_t bytes, int iters, double secs, double bus_factor) {
  if (comm.rank() != 0) return;
  const double algbw = bytes / secs / 1e9;
  std::printf("  %-10s %12lld %8d %12.1f %12.3f %12.3f\n", op, static_cast<long long>(bytes), iters,
              secs * 1e6, algbw, algbw * bus_factor);
  std::fflush(stdout);
}

void RunMpi(Communicator& comm, const Args& a) {
  const int n = comm.world_size();
  PrintHeader(comm, comm.backend());
  for (int64_t bytes = a.min_bytes; bytes <= a.max_bytes; bytes *= 4) {
    const int64_t count = bytes / 4;
    const int iters = ItersFor(a, bytes);
    torch::Tensor buf = torch::ones({count});
    const double t_ar = TimeIt(comm, iters, [&] { comm.AllReduce(buf, flyp::dist::ReduceOp::kSum); });
    PrintRow(comm, "all_reduce", bytes, iters, t_ar, 2.0 * (n - 1) / n);
    // all_gather: `bytes` is the gathered size, each rank sends bytes / n.
    torch::Tensor part = torch::ones({std::max<int64_t>(1, count / n)});
    const std::vector<int64_t> sizes(n, part.size(0));
    const double t_ag = TimeIt(comm, iters, [&] { comm.AllGather(part, sizes); });
    PrintRow(comm, "all_gather", part.size(0) * 4 * n, iters, t_ag, double(n - 1) / n);
  }
}

#ifdef FLYP_WITH_NCCL
int RunNccl(Communicator& comm, const Args& a) {
  int gpus = 0;
  if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) {
    std::cerr << "nccl backend: no CUDA device visible\n";
    return 3;
  }
  auto bcast = [&](void* data, size_t bytes) {
    torch::Tensor t = torch::from_blob(data, {static_cast<int64_t>(bytes)}, torch::kByte);
    comm.Broadcast(t, 0);
  };
  auto nccl = flyp::dist::NcclComm::Create(comm.rank(), comm.world_size(), comm.local_rank() % gpus, bcast);
  if (!nccl.ok()) {
    std::cerr << nccl.status() << "\n";
    return 1;
  }
  flyp::dist::NcclComm& nc = **nccl;
  const int n = comm.world_size();
  cudaStream_t stream;
  FLYP_CUDA_CHECK_R(cudaStreamCreate(&stream), comm.rank());
  void *send = nullptr, *recv = nullptr;
  FLYP_CUDA_CHECK_R(cudaMalloc(&send, a.max_bytes), comm.rank());
  FLYP_CUDA_CHECK_R(cudaMalloc(&recv, a.max_bytes), comm.rank());
  FLYP_CUDA_CHECK_R(cudaMemset(send, 0, a.max_bytes), comm.rank());
  PrintHeader(comm, "nccl");
  if (comm.rank() == 0) std::printf("# %s\n", flyp::dist::NcclComm::Versions().c_str());
  for (int64_t bytes = a.min_bytes; bytes <= a.max_bytes; bytes *= 4) {
    const size_t count = bytes / 4;
    const int iters = ItersFor(a, bytes) * 5;
    // Host timing around a synchronised batch of enqueued collectives.
    auto timed = [&](const std::function<void()>& op) {
      return TimeIt(comm, 1,
                    [&] {
                      for (int i = 0; i < iters; ++i) op();
                      nc.Synchronize(stream);
                    }) /
             iters;
    };
    const double t_ar = timed([&] { nc.AllReduce(send, recv, count, ncclFloat32, ncclSum, stream); });
    PrintRow(comm, "all_reduce", bytes, iters, t_ar, 2.0 * (n - 1) / n);
    const size_t per_rank = std::max<size_t>(1, count / n);
    const double t_ag = timed([&] { nc.AllGather(send, recv, per_rank, ncclFloat32, stream); });
    PrintRow(comm, "all_gather", per_rank * 4 * n, iters, t_ag, double(n - 1) / n);
  }
  cudaFree(send);
  cudaFree(recv);
  cudaStreamDestroy(stream);
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    if (f == "--backend")
      a.backend = argv[i + 1];
    else if (f == "--min_bytes")
      a.min_bytes = std::atoll(argv[i + 1]);
    else if (f == "--max_bytes")
      a.max_bytes = std::atoll(argv[i + 1]);
    else if (f == "--iters")
      a.iters = std::atoi(argv[i + 1]);
    else {
      std::cerr
          << "usage: collectives_bench [--backend mpi|nccl] [--min_bytes B] [--max_bytes B] [--iters N]\n";
      return 2;
    }
  }
  if (a.min_bytes < 4 || a.max_bytes < a.min_bytes) {
    std::cerr << "need 4 <= min_bytes <= max_bytes\n";
    return 2;
  }
  flyp::dist::CommunicatorOptions options;
  options.collective_timeout = std::chrono::minutes(2);
  auto comm = flyp::dist::CreateCommunicator(torch::kCPU, options);
  if (!comm.ok()) {
    std::cerr << comm.status() << "\n";
    return 1;
  }
  try {
    if (a.backend == "mpi") {
      RunMpi(**comm, a);
      return 0;
    }
    if (a.backend == "nccl") {
#ifdef FLYP_WITH_NCCL
      return RunNccl(**comm, a);
#else
      std::cerr << "built without NCCL (FLYP_WITH_NCCL=OFF)\n";
      return 2;
#endif
    }
    std::cerr << "unknown backend " << a.backend << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "collectives_bench: " << e.what() << "\n";
    return 1;
  }
}
