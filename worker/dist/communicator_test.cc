// Collectives of whichever backend the process gets: single-process when run
// alone, MPI under mpirun (registered with 1, 2 and 3 ranks).
#include "worker/dist/communicator.h"

#include <gtest/gtest.h>

#include "worker/dist/all_gather.h"
#include "worker/dist/dist_test_util.h"
#include "worker/dist/mpi_runtime.h"

namespace flyp::dist {
namespace {

using testing::WorldComm;

TEST(CommunicatorTest, BackendMatchesLaunch) {
  Communicator& c = WorldComm();
  EXPECT_EQ(c.world_size(), LaunchedWorldSize());
  EXPECT_EQ(c.rank(), LaunchedWorldRank());
  EXPECT_EQ(c.local_rank(), LaunchedLocalRank());
  EXPECT_EQ(c.backend(), c.world_size() == 1 ? "single" : "mpi");
}

TEST(CommunicatorTest, AllGatherEqualSizes) {
  Communicator& c = WorldComm();
  const int n = c.world_size();
  // Rank r holds rows [[10r, 10r+1, 10r+2], [10r+3, ...]].
  torch::Tensor local = torch::arange(6, torch::kDouble).reshape({2, 3}) + 10.0 * c.rank();
  torch::Tensor all = c.AllGather(local);
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{2 * n, 3}));
  for (int r = 0; r < n; ++r) {
    EXPECT_TRUE(
        torch::equal(all.narrow(0, 2 * r, 2), torch::arange(6, torch::kDouble).reshape({2, 3}) + 10.0 * r))
        << r;
  }
}

TEST(CommunicatorTest, AllGatherUnequalSizesIncludingEmpty) {
  Communicator& c = WorldComm();
  const int n = c.world_size();
  // Rank r holds (r == 1 ? 0 : r + 1) rows of int64 r*100 + i.
  auto rows = [](int r) { return r == 1 ? 0 : r + 1; };
  torch::Tensor local =
      (torch::arange(rows(c.rank()) * 2, torch::kLong) + 100 * c.rank()).reshape({rows(c.rank()), 2});
  const std::vector<int64_t> sizes = c.AllGatherSizes(local.size(0));
  ASSERT_EQ(static_cast<int>(sizes.size()), n);
  int64_t total = 0;
  for (int r = 0; r < n; ++r) {
    EXPECT_EQ(sizes[r], rows(r));
    total += rows(r);
  }
  torch::Tensor all = c.AllGather(local, sizes);
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{total, 2}));
  int64_t at = 0;
  for (int r = 0; r < n; ++r) {
    torch::Tensor expect = (torch::arange(rows(r) * 2, torch::kLong) + 100 * r).reshape({rows(r), 2});
    EXPECT_TRUE(torch::equal(all.narrow(0, at, rows(r)), expect)) << "rank " << r;
    at += rows(r);
  }
}

TEST(CommunicatorTest, AllGatherRejectsWrongSizes) {
  Communicator& c = WorldComm();
  std::vector<int64_t> sizes(c.world_size(), 2);
  EXPECT_THROW(c.AllGather(torch::zeros({3, 1}), sizes), CommunicatorError);
}

TEST(CommunicatorTest, AllReduceSumAndAvg) {
  Communicator& c = WorldComm();
  const int n = c.world_size();
  const double r = c.rank();
  torch::Tensor d = torch::tensor({1.0 + r, 2.0 * r, -3.0}, torch::kDouble);
  c.AllReduce(d, ReduceOp::kSum);
  const double sum_r = n * (n - 1) / 2.0;
  EXPECT_TRUE(torch::equal(d, torch::tensor({n + sum_r, 2 * sum_r, -3.0 * n}, torch::kDouble))) << d;

  torch::Tensor f = torch::full({5}, static_cast<float>(r + 1));
  c.AllReduce(f, ReduceOp::kAvg);
  EXPECT_TRUE(torch::allclose(f, torch::full({5}, static_cast<float>((n + 1) / 2.0)))) << f;

  torch::Tensor i = torch::full({3}, static_cast<int64_t>(c.rank() + 1), torch::kLong);
  c.AllReduce(i, ReduceOp::kSum);
  EXPECT_EQ(i[2].item<int64_t>(), n * (n + 1) / 2);

  EXPECT_THROW(c.AllReduce(i, ReduceOp::kAvg),
               CommunicatorError);  // AVG needs floats, checked before any MPI call
}

TEST(CommunicatorTest, AllReduceAsyncAverages) {
  Communicator& c = WorldComm();
  const int n = c.world_size();
  torch::Tensor a = torch::full({1000}, 2.0 * (c.rank() + 1), torch::kDouble);
  auto work = c.AllReduceAsync(a, ReduceOp::kAvg);
  work->Wait();
  EXPECT_DOUBLE_EQ(a[999].item<double>(), static_cast<double>(n + 1));
}

TEST(CommunicatorTest, BroadcastFromLastRank) {
  Communicator& c = WorldComm();
  const int root = c.world_size() - 1;
  torch::Tensor t = torch::full({2, 2}, static_cast<float>(c.rank()));
  c.Broadcast(t, root);
  EXPECT_TRUE(torch::equal(t, torch::full({2, 2}, static_cast<float>(root))));
  EXPECT_THROW(c.Broadcast(t, c.world_size()), CommunicatorError);
  c.Barrier();
}

TEST(CommunicatorTest, DifferentiableAllGatherSumsGradientsOverRanks) {
  Communicator& c = WorldComm();
  const int n = c.world_size();
  auto rows = [](int r) { return r + 1; };  // unequal
  torch::Tensor x = torch::randn({rows(c.rank()), 2}, torch::kDouble).requires_grad_(true);
  torch::Tensor all = AllGatherWithGrad(x, c);
  const int64_t total = all.size(0);
  // Rank q's loss is sum((q+1) * W * all) with W[i, j] = i*2 + j + 1, so
  // d(sum_q L_q)/d all = (sum_q (q+1)) * W.
  torch::Tensor w = torch::arange(total * 2, torch::kDouble).reshape({total, 2}) + 1;
  (all * w * (c.rank() + 1.0)).sum().backward();
  int64_t offset = 0;
  for (int r = 0; r < c.rank(); ++r) offset += rows(r);
  const double factor = n * (n + 1) / 2.0;
  EXPECT_TRUE(torch::allclose(x.grad(), w.narrow(0, offset, rows(c.rank())) * factor)) << x.grad();
}

TEST(CommunicatorTest, CudaWithoutCudaLibTorchFailsAtCreation) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "LibTorch has CUDA";
  auto c = CreateCommunicator(torch::kCUDA);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("FLYP_WITH_CUDA"), std::string::npos) << c.status();
}

TEST(CommunicatorTest, NegativeTimeoutIsRejected) {
  CommunicatorOptions options;
  options.collective_timeout = std::chrono::milliseconds(-1);
  auto c = CreateCommunicator(torch::kCPU, options);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

TEST(MpiCheckTest, ErrorNamesCallRankLocationAndVersion) {
  ASSERT_TRUE(internal::EnsureMpi().ok());  // singleton MPI when not under mpirun
  try {
    FLYP_MPI_CHECK(MPI_ERR_COUNT);
    FAIL() << "no throw";
  } catch (const CommunicatorError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("MPI_ERR_COUNT failed: "), std::string::npos) << m;
    EXPECT_NE(m.find("communicator_test.cc:"), std::string::npos) << m;
    EXPECT_NE(m.find("rank " + std::to_string(LaunchedWorldRank())), std::string::npos) << m;
    EXPECT_NE(m.find("Open MPI"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace flyp::dist
