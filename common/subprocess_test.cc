#include "common/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

namespace flyp {
namespace {

ProcessOptions Cmd(std::vector<std::string> argv) {
  ProcessOptions o;
  o.argv = std::move(argv);
  return o;
}

ProcessResult RunOk(const ProcessOptions& o) {
  StatusOr<ProcessResult> r = RunProcess(o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : ProcessResult();
}

TEST(SubprocessTest, CollectsStdoutStderrAndTheExitCode) {
  ProcessResult r = RunOk(Cmd({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}));
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.Describe(), "exit code 3: err");
  EXPECT_TRUE(RunOk(Cmd({"true"})).ok()) << "found in PATH";
}

TEST(SubprocessTest, ArgumentsAreNeverInterpreted) {
  ProcessResult r = RunOk(Cmd({"printf", "%s|", "$(touch /x)", "a b", "; rm -rf /", "'"}));
  EXPECT_EQ(r.out, "$(touch /x)|a b|; rm -rf /|'|");
}

TEST(SubprocessTest, TheGivenEnvironmentAndDirectory) {
  ProcessOptions o;
  o.argv = {"/bin/sh", "-c", "echo \"$FOO:$HOME\"; pwd"};
  o.env = std::vector<std::string>{"FOO=bar", "PATH=/usr/bin:/bin"};
  o.working_dir = "/usr";
  ProcessResult r = RunOk(o);
  EXPECT_EQ(r.out, "bar:\n/usr\n");
}

TEST(SubprocessTest, ATimeoutKillsTheWholeGroup) {
  ProcessOptions o;
  // A grandchild that keeps the pipes open must not keep the call waiting.
  o.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30"};
  o.timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  ProcessResult r = RunOk(o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(s, 5.0);
  EXPECT_EQ(r.Describe(), "killed after its timeout");
}

TEST(SubprocessTest, AProgramThatClosesItsStreamsIsStillWaitedFor) {
  ProcessOptions o;
  o.argv = {"/bin/sh", "-c", "exec >&- 2>&-; sleep 0.3; exit 4"};
  ProcessResult r = RunOk(o);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_FALSE(r.timed_out);
}

TEST(SubprocessTest, OutputIsCutAtTheBudget) {
  ProcessOptions o;
  o.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero; echo done >&2"};
  o.max_output_bytes = 1000;
  ProcessResult r = RunOk(o);
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_EQ(r.err, "done\n");
  EXPECT_TRUE(r.ok());
}

TEST(SubprocessTest, AMissingProgramIsNamed) {
  StatusOr<ProcessResult> r = RunProcess(Cmd({"no-such-program-flyp"}));
  ASSERT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("no-such-program-flyp"), std::string::npos) << r.status();
  r = RunProcess(Cmd({"/nonexistent/sbatch"}));
  ASSERT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("cannot execute '/nonexistent/sbatch'"), std::string::npos)
      << r.status();
  EXPECT_EQ(RunProcess(Cmd({})).status().code(), StatusCode::kInvalidArgument);
  ProcessOptions o;
  o.argv = {"true"};
  o.working_dir = "/nonexistent-dir";
  r = RunProcess(o);
  ASSERT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("/nonexistent-dir"), std::string::npos) << r.status();
}

TEST(SubprocessTest, FindProgram) {
  EXPECT_EQ(FindProgram("sh", "/nonexistent:/bin").value(), "/bin/sh");
  EXPECT_EQ(FindProgram("./x/y", "").value(), "./x/y");
  EXPECT_EQ(FindProgram("sh", "/nonexistent").status().code(), StatusCode::kNotFound);
}

TEST(SplitWordsTest, SpacesAndTabs) {
  EXPECT_EQ(SplitWords("  ssh -o\tBatchMode=yes  "),
            (std::vector<std::string>{"ssh", "-o", "BatchMode=yes"}));
  EXPECT_TRUE(SplitWords(" ").empty());
}

}  // namespace
}  // namespace flyp
