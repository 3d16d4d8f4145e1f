#include "common/subprocess.h"

#include <gtest/gtest.h>

namespace flyp {
namespace {

using std::chrono::milliseconds;

TEST(RunProcessTest, ExitCodeAndOutput) {
  auto r = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"}, milliseconds(5000));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->output, "out\nerr\n");
  EXPECT_EQ(r->Describe(), "exit code 3: out err");
  auto t = RunProcess({"true"}, milliseconds(5000));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->ok());
}

TEST(RunProcessTest, TimeoutKillsTheWholeGroup) {
  const auto start = std::chrono::steady_clock::now();
  // The shell's child sleeps on with the pipe open: the group must die.
  auto r = RunProcess({"sh", "-c", "sleep 30 & sleep 30"}, milliseconds(300));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(r->Describe(), "no answer within the timeout");
}

TEST(RunProcessTest, ALeftoverChildDoesNotHoldTheCaller) {
  const auto start = std::chrono::steady_clock::now();
  auto r = RunProcess({"sh", "-c", "sleep 30 & echo done"}, milliseconds(10000));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << r->Describe();
  EXPECT_EQ(r->output, "done\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RunProcessTest, MissingProgramAndBudget) {
  auto r = RunProcess({"/nonexistent/prog"}, milliseconds(5000));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_NE(r->output.find("/nonexistent/prog: No such file or directory"), std::string::npos) << r->output;
  auto big = RunProcess({"sh", "-c", "head -c 100000 /dev/zero"}, milliseconds(5000), 100);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->output.size(), 100u);
  EXPECT_EQ(RunProcess({}, milliseconds(1)).status().code(), StatusCode::kInvalidArgument);
}

TEST(SplitWordsTest, SpacesAndTabs) {
  EXPECT_EQ(SplitWords("  ssh -o\tBatchMode=yes  "),
            (std::vector<std::string>{"ssh", "-o", "BatchMode=yes"}));
  EXPECT_TRUE(SplitWords(" ").empty());
}

}  // namespace
}  // namespace flyp
