// Collective bandwidth, reported like nccl-tests:
//   algbw = bytes / time;  all_reduce busbw = algbw · 2(n−1)/n;
//   all_gather busbw = algbw · (n−1)/n, where bytes is the gathered (output)
//   size, as nccl-tests counts it. time = mean per call over --iters calls
//   after warm-up, averaged over ranks.
// Backends: mpi (CPU float32 tensors through flyp::dist's Communicator) and,
// when built with NCCL and a GPU is visible, nccl (raw device buffers through
// NcclComm; ncclUniqueId shared through the MPI communicator).
//
// After the timed calls of each op and size, one more call on known contents
// is checked element by element (a wrong result fails the run, as in
// nccl-tests' -c 1):
//   all_reduce: rank r holds (r + 1) · (1 + i mod m) at index i; every rank
//     must get n(n+1)/2 · (1 + i mod m). m = min(127, (2^24 − 1) / (n(n+1)/2))
//     keeps every partial sum an integer below 2^24, exact in float32 in any
//     summation order; worlds of more than 5792 ranks are not checked (said).
//   all_gather: rank r's element i is its gathered position r·per_rank + i
//     (mod 2^24), so element j of the result must be j mod 2^24: every
//     rank's block where it belongs.
// Rank 0 prints "VERIFY <op> size=<bytes> ok|FAILED ..." per op and size; a
// rank that sees a wrong element prints "MISMATCH <op> size=<bytes>
// rank=<r>: first bad index <i>: expected <x>, got <y> (<k> of <count>
// elements wrong)". The hidden flag --corrupt-for-test adds 1 to the last
// element rank 1 (rank 0 alone) contributes, so tests can see the check fail.
// Exit: 0 ok, 1 a check failed or a collective threw, 2 bad flags,
// 3 (nccl) no CUDA device.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

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
  bool corrupt_for_test = false;
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

// The known contents of the checks (header comment).
constexpr int64_t kExactFloatInts = int64_t{1} << 24;

class Pattern {
 public:
  explicit Pattern(int world_size)
      : tri_(int64_t{world_size} * (world_size + 1) / 2),
        period_(std::min<int64_t>(127, (kExactFloatInts - 1) / tri_)) {}
  bool checkable() const { return period_ > 0; }
  float ReduceInput(int rank, int64_t i) const { return static_cast<float>((rank + 1) * (1 + i % period_)); }
  float ReduceSum(int64_t i) const { return static_cast<float>(tri_ * (1 + i % period_)); }
  static float Gathered(int64_t j) { return static_cast<float>(j % kExactFloatInts); }

 private:
  int64_t tri_;
  int64_t period_;
};

// The rank whose input --corrupt-for-test perturbs.
int CorruptRank(const Communicator& comm) { return comm.world_size() > 1 ? 1 : 0; }

// Compares got[0, count) with expected(i); prints the first mismatch of this
// rank and returns how many elements are wrong.
template <typename Expected>
int64_t CountMismatches(const float* got, int64_t count, Expected expected, const char* op, int64_t bytes,
                        int rank) {
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < count; ++i) {
    if (got[i] != expected(i)) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad > 0) {
    std::printf(
        "MISMATCH %s size=%lld rank=%d: first bad index %lld: expected %.9g, got %.9g (%lld of %lld "
        "elements wrong)\n",
        op, static_cast<long long>(bytes), rank, static_cast<long long>(first), expected(first), got[first],
        static_cast<long long>(bad), static_cast<long long>(count));
    std::fflush(stdout);
  }
  return bad;
}

// Combines the ranks' mismatch counts; rank 0 prints the VERIFY line.
// Returns true when every rank got the right result.
bool Agree(Communicator& comm, const char* op, int64_t bytes, int64_t count, int64_t local_bad) {
  torch::Tensor t =
      torch::tensor({static_cast<double>(local_bad), local_bad > 0 ? 1.0 : 0.0}, torch::kDouble);
  comm.AllReduce(t, flyp::dist::ReduceOp::kSum);
  const auto bad = static_cast<long long>(t[0].item<double>());
  const auto bad_ranks = static_cast<long long>(t[1].item<double>());
  if (comm.rank() == 0) {
    if (bad == 0)
      std::printf("VERIFY %s size=%lld ok (%lld elements on each of %d ranks)\n", op,
                  static_cast<long long>(bytes), static_cast<long long>(count), comm.world_size());
    else
      std::printf("VERIFY %s size=%lld FAILED: %lld wrong elements on %lld of %d ranks\n", op,
                  static_cast<long long>(bytes), bad, bad_ranks, comm.world_size());
    std::fflush(stdout);
  }
  return bad == 0;
}

void SayUncheckable(Communicator& comm) {
  if (comm.rank() == 0)
    std::printf("VERIFY skipped: %d ranks: n(n+1)/2 >= 2^24, all_reduce sums are not exact in float32\n",
                comm.world_size());
}

// Returns the number of failed checks.
int RunMpi(Communicator& comm, const Args& a) {
  const int n = comm.world_size();
  const int rank = comm.rank();
  const Pattern pattern(n);
  if (!pattern.checkable()) SayUncheckable(comm);
  const bool corrupt = a.corrupt_for_test && rank == CorruptRank(comm);
  int failed = 0;
  PrintHeader(comm, comm.backend());
  for (int64_t bytes = a.min_bytes; bytes <= a.max_bytes; bytes *= 4) {
    const int64_t count = bytes / 4;
    const int iters = ItersFor(a, bytes);
    torch::Tensor buf = torch::ones({count});
    const double t_ar = TimeIt(comm, iters, [&] { comm.AllReduce(buf, flyp::dist::ReduceOp::kSum); });
    PrintRow(comm, "all_reduce", bytes, iters, t_ar, 2.0 * (n - 1) / n);
    if (pattern.checkable()) {
      float* in = buf.data_ptr<float>();
      for (int64_t i = 0; i < count; ++i) in[i] = pattern.ReduceInput(rank, i);
      if (corrupt) in[count - 1] += 1;
      comm.AllReduce(buf, flyp::dist::ReduceOp::kSum);
      const torch::Tensor got = buf.contiguous();
      const int64_t bad = CountMismatches(
          got.data_ptr<float>(), count, [&](int64_t i) { return pattern.ReduceSum(i); }, "all_reduce", bytes,
          rank);
      failed += Agree(comm, "all_reduce", bytes, count, bad) ? 0 : 1;
    }
    // all_gather: `bytes` is the gathered size, each rank sends bytes / n.
    torch::Tensor part = torch::ones({std::max<int64_t>(1, count / n)});
    const int64_t per_rank = part.size(0);
    const std::vector<int64_t> sizes(n, per_rank);
    const double t_ag = TimeIt(comm, iters, [&] { comm.AllGather(part, sizes); });
    const int64_t gathered_bytes = per_rank * 4 * n;
    PrintRow(comm, "all_gather", gathered_bytes, iters, t_ag, double(n - 1) / n);
    float* in = part.data_ptr<float>();
    for (int64_t i = 0; i < per_rank; ++i) in[i] = Pattern::Gathered(rank * per_rank + i);
    if (corrupt) in[per_rank - 1] += 1;
    const torch::Tensor got = comm.AllGather(part, sizes).contiguous();
    int64_t bad = 0;
    if (got.numel() != per_rank * n) {
      std::printf("MISMATCH all_gather size=%lld rank=%d: %lld elements gathered, expected %lld\n",
                  static_cast<long long>(gathered_bytes), rank, static_cast<long long>(got.numel()),
                  static_cast<long long>(per_rank * n));
      bad = per_rank * n;
    } else {
      bad = CountMismatches(got.data_ptr<float>(), per_rank * n, Pattern::Gathered, "all_gather",
                            gathered_bytes, rank);
    }
    failed += Agree(comm, "all_gather", gathered_bytes, per_rank * n, bad) ? 0 : 1;
  }
  return failed;
}

#ifdef FLYP_WITH_NCCL
// Returns the number of failed checks, or -3 without a CUDA device, -1 when
// NCCL did not start.
int RunNccl(Communicator& comm, const Args& a) {
  int gpus = 0;
  if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) {
    std::cerr << "nccl backend: no CUDA device visible\n";
    return -3;
  }
  auto bcast = [&](void* data, size_t bytes) {
    torch::Tensor t = torch::from_blob(data, {static_cast<int64_t>(bytes)}, torch::kByte);
    comm.Broadcast(t, 0);
  };
  auto nccl = flyp::dist::NcclComm::Create(comm.rank(), comm.world_size(), comm.local_rank() % gpus, bcast);
  if (!nccl.ok()) {
    std::cerr << nccl.status() << "\n";
    return -1;
  }
  flyp::dist::NcclComm& nc = **nccl;
  const int n = comm.world_size();
  const int rank = comm.rank();
  const Pattern pattern(n);
  if (!pattern.checkable()) SayUncheckable(comm);
  const bool corrupt = a.corrupt_for_test && rank == CorruptRank(comm);
  int failed = 0;
  cudaStream_t stream;
  FLYP_CUDA_CHECK_R(cudaStreamCreate(&stream), rank);
  // recv also holds the smallest all_gather (one element per rank).
  const int64_t recv_bytes = std::max<int64_t>(a.max_bytes, int64_t{4} * n);
  void *send = nullptr, *recv = nullptr;
  FLYP_CUDA_CHECK_R(cudaMalloc(&send, a.max_bytes), rank);
  FLYP_CUDA_CHECK_R(cudaMalloc(&recv, recv_bytes), rank);
  FLYP_CUDA_CHECK_R(cudaMemset(send, 0, a.max_bytes), rank);
  std::vector<float> host(recv_bytes / 4);
  // Host -> send, the collective, recv -> host, all in order on `stream`.
  auto checked_call = [&](int64_t send_count, int64_t recv_count, const std::function<void()>& op) {
    FLYP_CUDA_CHECK_R(cudaMemcpyAsync(send, host.data(), send_count * 4, cudaMemcpyHostToDevice, stream),
                      rank);
    op();
    nc.Synchronize(stream);
    FLYP_CUDA_CHECK_R(cudaMemcpyAsync(host.data(), recv, recv_count * 4, cudaMemcpyDeviceToHost, stream),
                      rank);
    FLYP_CUDA_CHECK_R(cudaStreamSynchronize(stream), rank);
  };
  PrintHeader(comm, "nccl");
  if (rank == 0) std::printf("# %s\n", flyp::dist::NcclComm::Versions().c_str());
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
    if (pattern.checkable()) {
      for (size_t i = 0; i < count; ++i) host[i] = pattern.ReduceInput(rank, i);
      if (corrupt) host[count - 1] += 1;
      checked_call(count, count, [&] { nc.AllReduce(send, recv, count, ncclFloat32, ncclSum, stream); });
      const int64_t bad = CountMismatches(
          host.data(), count, [&](int64_t i) { return pattern.ReduceSum(i); }, "all_reduce", bytes, rank);
      failed += Agree(comm, "all_reduce", bytes, count, bad) ? 0 : 1;
    }
    const size_t per_rank = std::max<size_t>(1, count / n);
    const int64_t gathered_bytes = per_rank * 4 * n;
    const double t_ag = timed([&] { nc.AllGather(send, recv, per_rank, ncclFloat32, stream); });
    PrintRow(comm, "all_gather", gathered_bytes, iters, t_ag, double(n - 1) / n);
    for (size_t i = 0; i < per_rank; ++i) host[i] = Pattern::Gathered(rank * per_rank + i);
    if (corrupt) host[per_rank - 1] += 1;
    checked_call(per_rank, per_rank * n, [&] { nc.AllGather(send, recv, per_rank, ncclFloat32, stream); });
    const int64_t bad =
        CountMismatches(host.data(), per_rank * n, Pattern::Gathered, "all_gather", gathered_bytes, rank);
    failed += Agree(comm, "all_gather", gathered_bytes, per_rank * n, bad) ? 0 : 1;
  }
  cudaFree(send);
  cudaFree(recv);
  cudaStreamDestroy(stream);
  return failed;
}
#endif

int Usage() {
  std::cerr << "usage: collectives_bench [--backend mpi|nccl] [--min_bytes B] [--max_bytes B] [--iters N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--corrupt-for-test") {
      a.corrupt_for_test = true;
      continue;
    }
    if (i + 1 >= argc) return Usage();
    const char* v = argv[++i];
    if (f == "--backend")
      a.backend = v;
    else if (f == "--min_bytes")
      a.min_bytes = std::atoll(v);
    else if (f == "--max_bytes")
      a.max_bytes = std::atoll(v);
    else if (f == "--iters")
      a.iters = std::atoi(v);
    else
      return Usage();
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
    int failed = 0;
    if (a.backend == "mpi") {
      failed = RunMpi(**comm, a);
    } else if (a.backend == "nccl") {
#ifdef FLYP_WITH_NCCL
      failed = RunNccl(**comm, a);
      if (failed == -3) return 3;
      if (failed < 0) return 1;
#else
      std::cerr << "built without NCCL (FLYP_WITH_NCCL=OFF)\n";
      return 2;
#endif
    } else {
      std::cerr << "unknown backend " << a.backend << "\n";
      return 2;
    }
    if (failed > 0) {
      if ((*comm)->rank() == 0) std::cerr << "collectives_bench: " << failed << " check(s) failed\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "collectives_bench: " << e.what() << "\n";
    return 1;
  }
}
