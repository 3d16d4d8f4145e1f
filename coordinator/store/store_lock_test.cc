#include "coordinator/store/store_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

// A second coordinator on the same database started and shared its jobs.
TEST(StoreLockTest, SecondOwnerIsRefusedNamingThePid) {
  const std::string db = testing::TempDir() + "/lock-test.db";
  std::filesystem::remove(db + ".lock");
  auto first = StoreLock::Acquire(db);
  ASSERT_TRUE(first.ok()) << first.status();
  // Another process (a second coordinator) cannot take it.
  const pid_t child = ::fork();
  if (child == 0) {
    auto second = StoreLock::Acquire(db);
    const bool ok =
        !second.ok() && second.status().code() == StatusCode::kFailedPrecondition &&
        second.status().message().find("(pid " + std::to_string(::getppid()) + ")") != std::string::npos;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Nor can another open of it in this process.
  auto again = StoreLock::Acquire(db);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), "job store '" + db + "' is in use by another flyp-coordinator (pid " +
                                          std::to_string(::getpid()) + "); it holds " + db +
                                          ".lock. Stop it first, or give this one its own --db");
}

TEST(StoreLockTest, ReleasedWhenTheOwnerGoesAway) {
  const std::string db = testing::TempDir() + "/lock-release.db";
  { ASSERT_TRUE(StoreLock::Acquire(db).ok()); }
  // The file stays (it holds the last pid) but does not block.
  EXPECT_TRUE(std::filesystem::exists(db + ".lock"));
  EXPECT_TRUE(StoreLock::Acquire(db).ok());
  EXPECT_EQ(StoreLock::Acquire(testing::TempDir() + "/no/such/dir/x.db").status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace flyp::coord
