#include "tests/testing/test_env.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace flyp::testing {
namespace {
std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

struct TempDirHolder {
  std::string path;
  ~TempDirHolder() {
    if (!path.empty() && std::getenv("FLYP_KEEP_TMP") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  }
};
}  // namespace

std::string SourceDir() { return EnvOr("FLYP_SOURCE_DIR", "."); }
std::string SharedDataDir() { return EnvOr("FLYP_SHARED_DATA", SourceDir() + "/../shared/data"); }
std::string BinaryDir() { return EnvOr("FLYP_BINARY_DIR", "."); }

std::string TempDir() {
  static TempDirHolder holder;
  if (holder.path.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flyp-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    if (p == nullptr) {
      std::cerr << "mkdtemp failed\n";
      std::abort();
    }
    holder.path = p;
  }
  return holder.path;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::abort();
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace flyp::testing
