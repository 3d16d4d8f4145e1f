#include "worker/dist/gradient_reducer.h"

#include <gtest/gtest.h>

#include "worker/dist/dist_test_util.h"
#include "worker/dist/single_communicator.h"

namespace flyp::dist {
namespace {

using testing::WorldComm;

std::vector<torch::Tensor> Params() {
  // 10, 10 and 20 float64 elements: 80, 80 and 160 bytes.
  return {torch::zeros({10}, torch::kDouble).requires_grad_(true),
          torch::zeros({2, 5}, torch::kDouble).requires_grad_(true),
          torch::zeros({4, 5}, torch::kDouble).requires_grad_(true)};
}

TEST(GradientReducerTest, BucketsRespectCapDtypeAndReverseOrder) {
  auto comm = CreateSingleProcessCommunicator();
  const double cap_104_bytes = 104.0 / (1024 * 1024);
  // Reverse order: [160 B] alone (over the cap, still one bucket), [80 B],
  // then 80 + 80 > 104 starts a third.
  EXPECT_EQ(GradientReducer(Params(), *comm, {cap_104_bytes, false}).num_buckets(), 3);
  EXPECT_EQ(GradientReducer(Params(), *comm, {1.0, false}).num_buckets(), 1);
  auto mixed = Params();
  mixed.push_back(torch::zeros({3}, torch::kFloat).requires_grad_(true));
  mixed.push_back(torch::zeros({3}, torch::kDouble));  // no grad: skipped
  EXPECT_EQ(GradientReducer(mixed, *comm, {1.0, false}).num_buckets(), 2);
}

TEST(GradientReducerTest, AveragesAccumulatedGradsWithoutOverlap) {
  Communicator& comm = WorldComm();
  const int n = comm.world_size();
  auto params = Params();
  GradientReducer reducer(params, comm, {104.0 / (1024 * 1024), /*overlap=*/false});
  // Two backward passes accumulate (r+1)*(c_i) + (r+1)*(c_i) on rank r.
  for (int pass = 0; pass < 2; ++pass) {
    torch::Tensor loss = torch::zeros({}, torch::kDouble);
    for (size_t i = 0; i < params.size(); ++i)
      loss = loss + (params[i] * (comm.rank() + 1.0) * (i + 1.0)).sum();
    loss.backward();
  }
  reducer.Finish();
  for (size_t i = 0; i < params.size(); ++i) {
    // mean_r 2 (r+1)(i+1) = (n+1)(i+1)
    EXPECT_TRUE(torch::allclose(params[i].grad(), torch::full_like(params[i], (n + 1.0) * (i + 1.0)))) << i;
  }
}

TEST(GradientReducerTest, OverlapReducesDuringBackwardAndRejectsAccumulation) {
  Communicator& comm = WorldComm();
  const int n = comm.world_size();
  auto params = Params();
  GradientReducer reducer(params, comm, {104.0 / (1024 * 1024), /*overlap=*/true});
  for (int step = 0; step < 2; ++step) {  // .grad is overwritten each step
    torch::Tensor loss = torch::zeros({}, torch::kDouble);
    for (size_t i = 0; i < params.size(); ++i)
      loss = loss + (params[i] * (comm.rank() + 1.0) * (i + 1.0)).sum();
    loss.backward();
    reducer.Finish();
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(torch::allclose(params[i].grad(), torch::full_like(params[i], (n + 1.0) / 2 * (i + 1.0))))
          << "step " << step << " param " << i << params[i].grad();
    }
  }
  (params[0] * 2).sum().backward();
  EXPECT_THROW((params[0] * 2).sum().backward(), c10::Error);
  // Buckets 0..1 never completed; Finish drains every bucket on every rank.
  reducer.Finish();
  EXPECT_TRUE(torch::allclose(params[0].grad(), torch::full_like(params[0], 2.0)));
}

TEST(BroadcastParametersTest, CopiesRootValues) {
  Communicator& comm = WorldComm();
  const int root = comm.world_size() - 1;
  std::vector<torch::Tensor> params = {
      torch::full({3}, 1.0 + comm.rank(), torch::kDouble).requires_grad_(true),
      torch::full({2, 3}, 10.0 * comm.rank()).t()};  // non-contiguous
  BroadcastParameters(params, comm, root);
  EXPECT_TRUE(torch::equal(params[0], torch::full({3}, 1.0 + root, torch::kDouble)));
  EXPECT_TRUE(torch::equal(params[1], torch::full({3, 2}, 10.0f * root)));
  EXPECT_FALSE(params[0].grad_fn());  // no autograd history
}

}  // namespace
}  // namespace flyp::dist
