#include "common/exception_edge.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace flyp {
namespace {

TEST(ExceptionEdgeTest, MainTurnsAnEscapedExceptionIntoAnExitCode) {
  EXPECT_EQ(CatchAtMain("prog", 7, [] { return 3; }), 3);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(CatchAtMain("prog", 7,
                        []() -> int {
                          // What create_directories throws for a path below a file.
                          std::filesystem::create_directories("/proc/self/status/x");
                          return 0;
                        }),
            7);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.rfind("prog: internal error: filesystem error: cannot create directories", 0), 0u) << err;
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(CatchAtMain("prog", 1, []() -> int { throw 42; }), 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "prog: internal error: an exception that is not a std::exception\n");
}

TEST(ExceptionEdgeTest, ThreadBodiesLogAndGoOn) {
  bool ok = true;
  ::testing::internal::CaptureStderr();
  std::thread t([&] { ok = CatchAtThread("loop", [] { throw std::runtime_error("boom"); }); });
  t.join();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("loop: internal error: boom"), std::string::npos) << err;
  EXPECT_TRUE(CatchAtThread("fine", [] {}));
}

}  // namespace
}  // namespace flyp
