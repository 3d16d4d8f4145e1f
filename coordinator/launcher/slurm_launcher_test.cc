// The Slurm launcher's pure parts: the batch script (run by a real sh with
// a stand-in srun that records its argv), the sbatch argv, and the reading
// of sbatch's and squeue's output (recorded from Slurm 22.05). The launcher
// against real slurmctld/slurmd daemons is tests/coordinator/slurm_cluster_test.cc.
#include "coordinator/launcher/slurm_launcher.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "common/file_util.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

LaunchRequest Request(const std::string& dir) {
  LaunchRequest r;
  r.job_id = "job-000042";
  r.attempt = 3;
  r.world_size = 4;
  r.threads_per_rank = 2;
  r.slots_per_rank = 2;
  r.artifact_dir = dir;
  r.spec_path = dir + "/spec.yaml";
  r.log_path = dir + "/logs/world.log";
  r.coordinator_address = "198.18.0.1:50051";
  r.worker_token = "secret-token";
  return r;
}

std::string Read(const std::string& path) { return testing::ReadFileOrDie(path); }

TEST(SlurmLauncherTest, ShellQuoteSurvivesARealShell) {
  const std::string dir = testing::TempDir();
  for (const std::string& s :
       std::vector<std::string>{"plain", "a b", "it's", "'", "''", "$(touch x)", "`id`", "a\nb", "\\",
                                "\"q\"", "*", "", "; rm -rf /"}) {
    const std::string script = dir + "/quote.sh";
    std::ofstream(script) << "printf '%s' " << ShellQuote(s) << " > " << ShellQuote(dir + "/quoted") << "\n";
    ASSERT_EQ(testing::RunCommand("sh " + script).code, 0) << s;
    EXPECT_EQ(Read(dir + "/quoted"), s);
  }
}

// The script is run by sh with a stand-in srun: the argv srun gets, the
// exit code it records and the script's own exit code are checked.
TEST(SlurmLauncherTest, TheBatchScriptRunsTheStepAndRecordsItsExitCode) {
  const std::string dir = testing::TempDir() + "/it's a job";  // quotes and spaces in every path
  std::filesystem::create_directories(dir + "/slurm");
  std::filesystem::create_directories(dir + "/bin");
  std::ofstream(dir + "/bin/srun")
      << "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$ARGV_OUT\"\n"
      << "exit 3\n";
  std::filesystem::permissions(dir + "/bin/srun", std::filesystem::perms::owner_all);
  SlurmLauncherOptions o;
  o.worker_binary = dir + "/bin/flyp worker";
  o.mpi = "pmix_v4";
  LaunchRequest req = Request(dir);
  req.ranks_per_host = 2;
  StatusOr<std::string> script = SlurmBatchScript(o, req);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_EQ(script->find("secret-token"), std::string::npos) << "no secret in the script";
  const std::string path = dir + "/slurm/attempt-3.sh";
  ASSERT_TRUE(WriteFileAtomic(path, *script, 0755).ok());
  EXPECT_EQ(testing::RunCommand("sh -n " + ShellQuote(path)).code, 0) << *script;

  const testing::CommandResult r = testing::RunCommand(
      "env PATH=" + ShellQuote(dir + "/bin") +
      ":/usr/bin:/bin SLURM_JOB_ID=77 ARGV_OUT=" + ShellQuote(dir + "/argv") + " sh " + ShellQuote(path));
  EXPECT_EQ(r.code, 3) << r.out << *script;
  EXPECT_EQ(Read(dir + "/argv"),
            "--mpi=pmix_v4\n--kill-on-bad-exit=1\n--label\n--ntasks=4\n--cpus-per-task=2\n"
            "--ntasks-per-node=2\n" +
                dir + "/bin/flyp worker\n--spec\n" + dir + "/spec.yaml\n");
  EXPECT_EQ(Read(dir + "/slurm/77.exit"), "3\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/slurm/77.exit.tmp"));
}

TEST(SlurmLauncherTest, SbatchArgvCarriesTheSpecsGeometryAndTheConfig) {
  SlurmLauncherOptions o;
  LaunchRequest req = Request("/shared/flyp/job-000042");
  StatusOr<std::vector<std::string>> argv = SbatchArgv(o, req, "/shared/s.sh");
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_EQ(*argv,
            (std::vector<std::string>{
                "sbatch", "--parsable", "--job-name=flyp-job-000042-a3", "--chdir=/shared/flyp/job-000042",
                "--output=/shared/flyp/job-000042/logs/world.log", "--open-mode=append", "--no-requeue",
                "--export=ALL", "--ntasks=4", "--cpus-per-task=2", "/shared/s.sh"}));

  o.bin_dir = "/opt/slurm/bin";
  o.partition = "gpu";
  o.account = "vision";
  o.qos = "high";
  req.cuda = true;
  req.slots_per_rank = 2;    // GPUs per rank
  req.threads_per_rank = 6;  // its CPUs
  req.ranks_per_host = 3;    // 4 ranks: 2 nodes
  req.time_limit_ms = 90 * 60 * 1000 + 1;
  argv = SbatchArgv(o, req, "/shared/s.sh");
  ASSERT_TRUE(argv.ok()) << argv.status();
  const std::vector<std::string> tail(argv->begin() + 8, argv->end());
  EXPECT_EQ((*argv)[0], "/opt/slurm/bin/sbatch");
  EXPECT_EQ(tail,
            (std::vector<std::string>{"--ntasks=4", "--cpus-per-task=6", "--nodes=2", "--ntasks-per-node=3",
                                      "--gpus-per-task=2", "--time=91", "--partition=gpu", "--account=vision",
                                      "--qos=high", "/shared/s.sh"}));

  req.world_size = 0;
  EXPECT_EQ(SbatchArgv(o, req, "/s.sh").status().code(), StatusCode::kInvalidArgument);
  req.world_size = 2;
  req.ranks_per_host = -1;
  EXPECT_EQ(SlurmBatchScript(o, req).status().code(), StatusCode::kInvalidArgument);
}

TEST(SlurmLauncherTest, HandlesNameASlurmJob) {
  EXPECT_EQ(SlurmHandle("42").text(), "slurm:42");
  EXPECT_EQ(SlurmJobId(WorldHandle::FromText("slurm:42")).value(), "42");
  for (const char* bad : {"local:42", "slurm:", "slurm:4x", "slurm:-1", "42"}) {
    EXPECT_EQ(SlurmJobId(WorldHandle::FromText(bad)).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SlurmLauncherTest, SbatchOutput) {
  EXPECT_EQ(ParseSbatchOutput("42\n").value(), "42");
  EXPECT_EQ(ParseSbatchOutput("42;flypnet\n").value(), "42");
  EXPECT_EQ(ParseSbatchOutput("Submitted batch job 42\n").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSbatchOutput("").status().code(), StatusCode::kInvalidArgument);
}

// squeue -h -t all -j 1,2,3 -o '%i|%T|%r|%N' on the test cluster.
TEST(SlurmLauncherTest, SqueueOutput) {
  auto rows = ParseSqueueOutput(
      "1|COMPLETED|None|h[1-2]\n2|PENDING|Resources|\n3|RUNNING|None|h1\n4|PENDING|ReqNodeNotAvail, "
      "UnavailableNodes:h2|\n");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ(rows->at("1").state, "COMPLETED");
  EXPECT_EQ(rows->at("1").nodes, "h[1-2]");
  EXPECT_EQ(rows->at("2").reason, "Resources");
  EXPECT_EQ(rows->at("4").reason, "ReqNodeNotAvail, UnavailableNodes:h2");
  EXPECT_TRUE(ParseSqueueOutput("").value().empty());
  auto bad = ParseSqueueOutput("1|RUNNING|None|h1\n  JOBID PARTITION NAME\n");
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos) << bad.status();
}

TEST(SlurmLauncherTest, StatesMapToWhereTheWorldIs) {
  for (const char* s : {"COMPLETED", "FAILED", "CANCELLED", "CANCELLED by 0", "TIMEOUT", "NODE_FAIL",
                        "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY"}) {
    EXPECT_TRUE(IsFinalSlurmState(s)) << s;
  }
  for (const char* s : {"PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "REQUEUED"}) {
    EXPECT_FALSE(IsFinalSlurmState(s)) << s;
  }
  WorldState pending = SlurmWorldState({"12", "PENDING", "Resources", ""});
  EXPECT_EQ(pending.phase, WorldState::Phase::kPending);
  EXPECT_EQ(pending.reason, "SlurmPending");
  EXPECT_EQ(pending.message, "Slurm job 12 PENDING (Resources)");
  WorldState held = SlurmWorldState({"12", "PENDING", "JobHeldUser", ""});
  EXPECT_EQ(held.message, "Slurm job 12 PENDING (JobHeldUser)");
  WorldState running = SlurmWorldState({"12", "RUNNING", "None", "h[1-2]"});
  EXPECT_EQ(running.phase, WorldState::Phase::kAllocated);
  EXPECT_EQ(running.reason, "SlurmRunning");
  EXPECT_EQ(running.message, "Slurm job 12 RUNNING on h[1-2]");
  EXPECT_EQ(SlurmWorldState({"12", "COMPLETING", "None", "h1"}).phase, WorldState::Phase::kAllocated);
  EXPECT_EQ(SlurmWorldState({"12", "SUSPENDED", "None", "h1"}).phase, WorldState::Phase::kPending);
}

TEST(SlurmLauncherTest, HowAJobEnded) {
  const SlurmJobRow completed{"7", "COMPLETED", "None", "h1"};
  const SlurmJobRow failed{"7", "FAILED", "NonZeroExitCode", "h1"};
  const SlurmJobRow cancelled{"7", "CANCELLED", "None", "h1"};
  const SlurmJobRow timeout{"7", "TIMEOUT", "TimeLimit", "h1"};
  // srun's recorded exit code wins: a permanent worker exit stays permanent.
  WorldExit e = SlurmWorldExit("7", &failed, std::string("4\n"), false);
  EXPECT_EQ(e.exit_code, 4);
  EXPECT_EQ(e.signal, 0);
  EXPECT_EQ(e.ToString(), "exit code 4 (Slurm job 7 FAILED (NonZeroExitCode))");
  EXPECT_EQ(SlurmWorldExit("7", &completed, std::nullopt, false).exit_code, 0);
  EXPECT_EQ(SlurmWorldExit("7", &completed, std::nullopt, false).signal, 0);
  EXPECT_EQ(SlurmWorldExit("7", &failed, std::nullopt, false).exit_code, 1);
  EXPECT_EQ(SlurmWorldExit("7", &failed, std::string("garbage"), false).exit_code, 1);
  EXPECT_EQ(SlurmWorldExit("7", &cancelled, std::nullopt, false).signal, SIGTERM);
  EXPECT_EQ(SlurmWorldExit("7", &cancelled, std::nullopt, true).signal, SIGKILL);
  e = SlurmWorldExit("7", &timeout, std::nullopt, false);
  EXPECT_EQ(e.signal, SIGKILL);
  EXPECT_EQ(e.detail, "Slurm job 7 TIMEOUT (TimeLimit)");
  // Forgotten by Slurm (MinJobAge): the recorded code, else unknown.
  EXPECT_EQ(SlurmWorldExit("7", nullptr, std::string("0\n"), false).exit_code, 0);
  e = SlurmWorldExit("7", nullptr, std::nullopt, false);
  EXPECT_EQ(e.exit_code, 255);
  EXPECT_EQ(e.detail, "Slurm job 7 no longer known to Slurm");
}

// An attempt whose sbatch returned while the coordinator died was never
// recorded; the next attempt cancels it, and nothing else.
TEST(SlurmLauncherTest, StaleAttemptsAreEarlierAttemptsOfThisJobInItsFolder) {
  LaunchRequest req = Request("/shared/a/job-000042");  // attempt 3
  const std::string out =
      "10|flyp-job-000042-a1|/shared/a/job-000042\n"   // stale
      "11|flyp-job-000042-a2|/shared/a/job-000042\n"   // stale
      "12|flyp-job-000042-a3|/shared/a/job-000042\n"   // this attempt (cannot be yet, but not earlier)
      "13|flyp-job-000042-a1|/shared/b/job-000042\n"   // another coordinator's job-000042
      "14|flyp-job-0000421-a1|/shared/a/job-000042\n"  // another job
      "15|flyp-job-000042-ax|/shared/a/job-000042\n"   // not ours
      "16|interactive|/home/alice\n"
      "garbage\n";
  EXPECT_EQ(StaleAttempts(out, req), (std::vector<std::pair<std::string, int>>{{"10", 1}, {"11", 2}}));
  EXPECT_TRUE(StaleAttempts("", req).empty());
}

TEST(SlurmLauncherTest, WithoutSlurmsCommandsALaunchFailsNamingThem) {
  const std::string dir = testing::TempDir() + "/no-slurm";
  std::filesystem::create_directories(dir + "/logs");
  SlurmLauncherOptions o;
  o.bin_dir = "/nonexistent/slurm/bin";
  o.poll_ms = 50;
  SlurmLauncher launcher(o);
  EXPECT_TRUE(launcher.AdmitsGangs());
  StatusOr<WorldHandle> w = launcher.Launch(Request(dir));
  ASSERT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(w.status().message().find("/nonexistent/slurm/bin/sbatch"), std::string::npos) << w.status();
  EXPECT_NE(w.status().message().find("slurm-bin-dir"), std::string::npos) << w.status();
  EXPECT_EQ(launcher.Poll(WorldHandle::FromText("slurm:1"))->exit_code, 255);
  EXPECT_EQ(launcher.Recover(WorldHandle::FromText("local:1"), Request(dir), 0).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(launcher.StopOrphan(WorldHandle::FromText("k8s:a/b"), 0).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace flyp::coord
