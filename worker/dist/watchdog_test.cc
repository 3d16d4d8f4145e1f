// The collective watchdog: in-process (death tests on CollectiveWatchdog) and
// end to end (mpirun world where one rank dies with SIGKILL mid-loop; the
// survivors' watchdogs must take the whole world down, promptly, with exit
// code 75 and the documented message). mpirun runs as a child via fork/exec
// with an argv, never through a shell.
#include "worker/dist/watchdog.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/exit_codes.h"
#include "tests/testing/test_env.h"

namespace flyp::dist {
namespace {

using std::chrono::milliseconds;

TEST(CollectiveWatchdogDeathTest, HungCollectiveExitsWith75AndNamesIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        CollectiveWatchdog dog(milliseconds(200), {2, 4, "test"}, nullptr);
        dog.SetStep(17);
        auto scope = dog.Watch("all_reduce", 4096);
        std::this_thread::sleep_for(std::chrono::seconds(5));
      },
      ::testing::ExitedWithCode(kWorkerExitCollectiveTimeout),
      "flyp: collective timeout: rank 2 of 4 \\(test\\) made no progress in all_reduce \\(4096 bytes\\) for "
      "[0-9]+ ms "
      "\\(collective_timeout 200 ms\\) at step 17; aborting the world with exit code 75");
}

TEST(CollectiveWatchdogDeathTest, AbortCallbackRunsThenProcessEnds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        CollectiveWatchdog dog(milliseconds(100), {0, 1, "test"}, [] { ::_exit(9); });
        auto scope = dog.Watch("barrier", 0);
        std::this_thread::sleep_for(std::chrono::seconds(5));
      },
      ::testing::ExitedWithCode(9), "made no progress in barrier");
}

// The notifier hears the message first (the worker tells the coordinator),
// then the abort runs: the exit code is the abort's, and what the notifier
// wrote shows it saw the documented line without its newline.
TEST(CollectiveWatchdogDeathTest, NotifierHearsTheMessageBeforeTheAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        CollectiveWatchdog dog(
            milliseconds(100), {1, 2, "test"}, [] { ::_exit(8); }, std::chrono::seconds(10),
            [](const std::string& message) {
              const std::string line = "notified<" + message + ">\n";
              ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
              (void)n;
            });
        auto scope = dog.Watch("all_reduce", 64);
        std::this_thread::sleep_for(std::chrono::seconds(5));
      },
      ::testing::ExitedWithCode(8),
      "notified<flyp: collective timeout: rank 1 of 2 \\(test\\) made no progress in all_reduce "
      "\\(64 bytes\\).*exit code 75>");
}

// A notifier that hangs (a coordinator that cannot be reached) does not keep
// the rank alive past the abort grace.
TEST(CollectiveWatchdogDeathTest, AHangingNotifierStillEndsTheRankWithinTheGrace) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        CollectiveWatchdog dog(
            milliseconds(100), {0, 2, "test"}, nullptr, milliseconds(300),
            [](const std::string&) { std::this_thread::sleep_for(std::chrono::seconds(30)); });
        auto scope = dog.Watch("barrier", 0);
        std::this_thread::sleep_for(std::chrono::seconds(10));
      },
      ::testing::ExitedWithCode(kWorkerExitCollectiveTimeout), "made no progress in barrier");
}

TEST(CollectiveWatchdogTest, FinishedCollectivesNeverFire) {
  bool fired = false;
  {
    CollectiveWatchdog dog(milliseconds(150), {0, 1, "test"}, [&] { fired = true; });
    for (int i = 0; i < 20; ++i) {
      auto scope = dog.Watch("all_gather", 8);
      std::this_thread::sleep_for(milliseconds(20));  // each well under the timeout
    }
    std::this_thread::sleep_for(milliseconds(300));  // idle: nothing open
  }
  EXPECT_FALSE(fired);
}

bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  // Still in the table: a zombie waiting for its (new) parent counts as gone.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

struct ChildResult {
  bool exited_in_time = false;
  int exit_code = -1;
  double seconds = 0;
};

// Runs argv with stdout+stderr to `log`, in its own process group; kills the
// group if it outlives `deadline`.
ChildResult RunWithDeadline(const std::vector<std::string>& args, const std::string& log,
                            milliseconds deadline) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ChildResult r;
  int status = 0;
  while (true) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (w == pid) {
      r.exited_in_time = true;
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return r;
    }
    if (std::chrono::steady_clock::now() - start > deadline) {
      ::kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return r;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

struct WorldRun {
  ChildResult result;
  std::string log;
  std::vector<pid_t> pids;
};

constexpr int kRanks = 3, kVictim = 1;
constexpr milliseconds kTimeout(2000);

// mpirun -np 3 dist_hang_helper; rank 1 raises `signal` at step 25.
WorldRun RunWorld(const std::string& signal, const std::vector<std::string>& mpirun_flags) {
  const std::string dir = testing::TempDir() + "/" + signal;
  ::mkdir(dir.c_str(), 0755);
  std::vector<std::string> args = {FLYP_MPIEXEC, "--allow-run-as-root", "--oversubscribe"};
  args.insert(args.end(), mpirun_flags.begin(), mpirun_flags.end());
  for (std::string a : {std::string("-np"), std::to_string(kRanks), std::string(FLYP_HANG_HELPER),
                        std::string("--timeout_ms"), std::to_string(kTimeout.count()),
                        std::string("--kill_rank"), std::to_string(kVictim), std::string("--kill_step"),
                        std::string("25"), std::string("--signal"), signal, std::string("--pid_dir"), dir}) {
    args.push_back(a);
  }
  WorldRun w;
  // Slack: start-up (seconds on a loaded 2-core machine) + 25 steps + abort.
  w.result = RunWithDeadline(args, dir + "/mpirun.log", kTimeout + std::chrono::seconds(25));
  w.log = testing::ReadFileOrDie(dir + "/mpirun.log");
  for (int rank = 0; rank < kRanks; ++rank) {
    std::ifstream f(dir + "/rank" + std::to_string(rank) + ".pid");
    pid_t pid = 0;
    if (f >> pid) w.pids.push_back(pid);
  }
  return w;
}

bool SurvivorReported(const std::string& log) {
  for (int rank = 0; rank < kRanks; ++rank) {
    if (rank == kVictim) continue;
    const std::string line = std::string(kCollectiveTimeoutMessagePrefix) + " rank " + std::to_string(rank) +
                             " of 3 (mpi) made no progress in all_reduce (64 bytes)";
    if (log.find(line) != std::string::npos) return true;
  }
  return false;
}

void ExpectNoRankLeft(const WorldRun& w) {
  ASSERT_EQ(static_cast<int>(w.pids.size()), kRanks) << "not every rank started\n" << w.log;
  for (pid_t pid : w.pids) {
    bool gone = false;
    for (int i = 0; i < 40 && !gone; ++i) {  // reparented ranks may need a moment to be reaped
      gone = ProcessGone(pid);
      if (!gone) std::this_thread::sleep_for(milliseconds(50));
    }
    EXPECT_TRUE(gone) << "rank pid " << pid << " is still alive";
  }
}

// A rank that hangs (SIGSTOP): the survivors' watchdogs fire after
// collective_timeout, MPI_Abort(75) ends the world, mpirun exits 75.
TEST(WatchdogKillTest, HungRankTakesDownTheWorldWithExit75) {
  const WorldRun w = RunWorld("STOP", {});
  ASSERT_TRUE(w.result.exited_in_time) << "world still running after " << w.result.seconds << " s\n" << w.log;
  EXPECT_EQ(w.result.exit_code, kWorkerExitCollectiveTimeout) << w.log;
  EXPECT_TRUE(SurvivorReported(w.log)) << w.log;
  EXPECT_EQ(w.log.find("loop ended without a hang"), std::string::npos) << w.log;
  ExpectNoRankLeft(w);
}

// A rank killed by SIGKILL mid-loop. Plain mpirun would tear the job down
// itself (exit 137) before anyone waits; --enable-recovery keeps it from
// doing so, so the survivors really block in the all-reduce and their
// watchdog must end the world. (OpenMPI 4.1 in recovery mode then exits 0
// after MPI_Abort, so the exit code is not asserted here.)
TEST(WatchdogKillTest, KilledRankSurvivorsAbortTheWorld) {
  const WorldRun w = RunWorld("KILL", {"--enable-recovery"});
  ASSERT_TRUE(w.result.exited_in_time) << "world still running after " << w.result.seconds << " s\n" << w.log;
  EXPECT_TRUE(SurvivorReported(w.log)) << w.log;
  EXPECT_EQ(w.log.find("loop ended without a hang"), std::string::npos) << w.log;
  ExpectNoRankLeft(w);
}

// Production default: mpirun itself ends the world when a rank dies.
TEST(WatchdogKillTest, KilledRankWithoutRecoveryEndsTheWorldNonZero) {
  const WorldRun w = RunWorld("KILL", {});
  ASSERT_TRUE(w.result.exited_in_time) << w.log;
  EXPECT_NE(w.result.exit_code, 0) << w.log;
  ExpectNoRankLeft(w);
}

}  // namespace
}  // namespace flyp::dist
