#include "worker/openblas.h"

#include <gtest/gtest.h>

namespace flyp::worker {
namespace {

TEST(OpenBlasTest, OpenBlasCoreTypeOnlyReplacesGenericKernels) {
  EXPECT_EQ(ChooseOpenBlasCoreType("Prescott", true, true), "SkylakeX");
  EXPECT_EQ(ChooseOpenBlasCoreType("prescott", false, true), "Haswell");
  EXPECT_EQ(ChooseOpenBlasCoreType("Prescott", false, false), "");
  EXPECT_EQ(ChooseOpenBlasCoreType("Sandybridge", false, true), "Haswell");
  EXPECT_EQ(ChooseOpenBlasCoreType("Haswell", true, true), "");
  EXPECT_EQ(ChooseOpenBlasCoreType("SkylakeX", true, true), "");
  EXPECT_EQ(ChooseOpenBlasCoreType("", true, true), "");
}

}  // namespace
}  // namespace flyp::worker
