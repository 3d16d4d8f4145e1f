// Helpers shared by tests: where the source tree, shared data and a scratch
// directory are.
#pragma once

#include <string>

namespace flyp::testing {

// Repository root (FLYP_SOURCE_DIR, set by flyp_add_test).
std::string SourceDir();
// ../shared/data next to the repository (FLYP_SHARED_DATA).
std::string SharedDataDir();
// Build directory (FLYP_BINARY_DIR).
std::string BinaryDir();
// A fresh, empty directory unique to this test process; removed at exit
// unless FLYP_KEEP_TMP is set.
std::string TempDir();
// Reads a whole file; aborts the test binary on failure.
std::string ReadFileOrDie(const std::string& path);

// A TCP port no socket of this network namespace is bound to now (for a
// daemon that binds it a moment later).
int FreeTcpPort();

// Exit code (-1 when killed by a signal) and everything the command printed.
struct CommandResult {
  int code = -1;
  std::string out;
};
// Runs a shell command line with stderr folded into stdout. Test-only: the
// command lines are built from the test's own paths.
CommandResult RunCommand(const std::string& command_line);

}  // namespace flyp::testing
