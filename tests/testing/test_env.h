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

}  // namespace flyp::testing
