// Test helpers shared by the dist_test binary's files: the process-wide
// communicator (single-process, or MPI when run under mpirun).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>

#include "worker/dist/create_communicator.h"

namespace flyp::dist::testing {

// Created on first use, destroyed at exit. Watchdog 20 s: a test that makes
// the ranks diverge fails fast instead of hanging CTest.
inline Communicator& WorldComm() {
  static std::unique_ptr<Communicator> comm = [] {
    CommunicatorOptions options;
    options.collective_timeout = std::chrono::seconds(20);
    auto c = CreateCommunicator(torch::kCPU, options);
    if (!c.ok()) {
      ADD_FAILURE() << c.status();
      std::abort();
    }
    return std::move(c).value();
  }();
  return *comm;
}

// max|a-b| <= rtol * max|b| (+ a tiny absolute floor for all-zero tensors).
inline ::testing::AssertionResult AllCloseRel(const torch::Tensor& a, const torch::Tensor& b,
                                              double rtol = 1e-6) {
  if (a.sizes() != b.sizes())
    return ::testing::AssertionFailure() << "shapes " << a.sizes() << " vs " << b.sizes();
  const double diff = (a - b).abs().max().item<double>();
  const double scale = b.abs().max().item<double>();
  if (diff <= rtol * scale + 1e-12) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max abs diff " << diff << " > " << rtol << " * " << scale << "\n"
                                       << a << "\nvs\n"
                                       << b;
}

}  // namespace flyp::dist::testing
