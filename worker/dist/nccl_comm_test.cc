// NcclComm on raw device buffers. Needs a GPU (GTEST_SKIP otherwise) except
// for the error-formatting test. One process: world size 1.
#include "worker/dist/nccl_comm.h"

#include <gtest/gtest.h>

#include <vector>

#include "worker/dist/communicator_error.h"

namespace flyp::dist {
namespace {

bool HaveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

TEST(NcclCheckTest, ErrorNamesCallRankLocationAndVersions) {
  try {
    FLYP_NCCL_CHECK_R(ncclInvalidArgument, 3);
    FAIL() << "no throw";
  } catch (const CommunicatorError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("ncclInvalidArgument failed: "), std::string::npos) << m;
    EXPECT_NE(m.find("rank 3"), std::string::npos) << m;
    EXPECT_NE(m.find("nccl_comm_test.cc:"), std::string::npos) << m;
    EXPECT_NE(m.find("NCCL 2."), std::string::npos) << m;
  }
}

class NcclCommTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
    auto c = NcclComm::Create(0, 1, 0, [](void*, size_t) {});
    ASSERT_TRUE(c.ok()) << c.status();
    comm_ = std::move(c).value();
    ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
  }
  float* Upload(const std::vector<float>& v) {
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, v.size() * sizeof(float)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(p, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
    buffers_.push_back(p);
    return static_cast<float*>(p);
  }
  std::vector<float> Download(const float* p, size_t n) {
    std::vector<float> v(n);
    EXPECT_EQ(cudaMemcpy(v.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
    return v;
  }
  ~NcclCommTest() override {
    for (void* p : buffers_) cudaFree(p);
  }
  std::unique_ptr<NcclComm> comm_;
  cudaStream_t stream_ = nullptr;
  std::vector<void*> buffers_;
};

TEST_F(NcclCommTest, AllReduceAllGatherBroadcastInWorldOfOne) {
  float* a = Upload({1, 2, 3});
  float* out = Upload({0, 0, 0});
  comm_->AllReduce(a, out, 3, ncclFloat32, ncclSum, stream_);
  comm_->Synchronize(stream_);
  EXPECT_EQ(Download(out, 3), (std::vector<float>{1, 2, 3}));
  comm_->AllReduce(a, a, 3, ncclFloat32, ncclAvg, stream_);
  comm_->Synchronize(stream_);
  EXPECT_EQ(Download(a, 3), (std::vector<float>{1, 2, 3}));

  float* g = Upload({0, 0, 0});
  comm_->AllGatherV(a, g, {3}, ncclFloat32, stream_);
  comm_->Synchronize(stream_);
  EXPECT_EQ(Download(g, 3), (std::vector<float>{1, 2, 3}));
  float* g2 = Upload({0, 0, 0});
  comm_->AllGather(a, g2, 3, ncclFloat32, stream_);
  comm_->Broadcast(g2, 3, ncclFloat32, 0, stream_);
  comm_->Synchronize(stream_);
  EXPECT_EQ(Download(g2, 3), (std::vector<float>{1, 2, 3}));
}

TEST_F(NcclCommTest, CreateRejectsMissingDevice) {
  auto c = NcclComm::Create(0, 1, 4096, [](void*, size_t) {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("4096"), std::string::npos) << c.status();
}

}  // namespace
}  // namespace flyp::dist
