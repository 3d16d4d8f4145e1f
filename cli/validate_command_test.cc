// End-to-end test of `flypctl validate` through the real binary.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/testing/test_env.h"

namespace {

using Result = flyp::testing::CommandResult;

// Runs flypctl with stderr folded into stdout.
Result RunFlypctl(const std::string& args) {
  const char* bin = std::getenv("FLYPCTL");
  return flyp::testing::RunCommand(std::string(bin ? bin : "flypctl") + " " + args);
}

TEST(FlypctlValidateTest, ExampleIsPrintedNormalised) {
  Result r = RunFlypctl("validate " + flyp::testing::SourceDir() + "/examples/fashion-mnist-flyp.yaml");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("name: \"fmnist-flyp\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("beta2: 0.999"), std::string::npos) << r.out;  // a default filled in
}

TEST(FlypctlValidateTest, EveryProblemOnItsOwnLine) {
  std::string path = flyp::testing::TempDir() + "/bad.yaml";
  std::ofstream(path) << "model: {preset: tiny, vocab: byte, checkpoint: c}\n"
                         "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist}}\n"
                         "optim: {learning_rat: 0.1}\n"
                         "resources: {world_size: 0}\n";
  Result r = RunFlypctl("validate " + path);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out,
            "optim.learning_rat: unknown field; did you mean learning_rate?\n" + path + ": 1 problem\n");
  std::ofstream(path) << "model: {preset: tiny, vocab: byte, checkpoint: c}\n"
                         "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist}}\n"
                         "resources: {world_size: 0}\n"
                         "schedule: {epochs: 0}\n";
  r = RunFlypctl("validate " + path);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out, "schedule.epochs: must be >= 1 (got 0)\nresources.world_size: must be >= 1 (got 0)\n" +
                       path + ": 2 problems\n");
}

TEST(FlypctlValidateTest, UsageErrors) {
  EXPECT_EQ(RunFlypctl("validate").code, 2);
  EXPECT_EQ(RunFlypctl("frobnicate").code, 2);
  Result r = RunFlypctl("validate /nonexistent.yaml");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.out.find("spec file: cannot open '/nonexistent.yaml': No such file or directory"),
            std::string::npos);
}

}  // namespace
