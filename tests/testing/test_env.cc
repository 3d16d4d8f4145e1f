#include "tests/testing/test_env.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "common/file_util.h"

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
  StatusOr<std::string> bytes = ReadFileToString(path, 1024 * kMiB);
  if (!bytes.ok()) {
    std::cerr << "ReadFileOrDie: " << bytes.status() << "\n";
    std::abort();
  }
  return std::move(bytes).value();
}

int FreeTcpPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

CommandResult RunCommand(const std::string& command_line) {
  CommandResult r;
  FILE* p = popen((command_line + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    r.out = "popen failed for: " + command_line;
    return r;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace flyp::testing
