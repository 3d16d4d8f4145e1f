#include "common/confine.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/env.h"
#include "common/mutex.h"

namespace flyp {
namespace {

struct Roots {
  Mutex mu;
  std::shared_ptr<const std::vector<std::string>> list FLYP_GUARDED_BY(mu) =
      std::make_shared<const std::vector<std::string>>();
};

Roots& TheRoots() {
  static Roots* roots = new Roots();  // never destroyed: loader threads may check during exit
  return *roots;
}

std::shared_ptr<const std::vector<std::string>> Snapshot() {
  Roots& r = TheRoots();
  MutexLock lock(&r.mu);
  return r.list;
}

bool Inside(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path.size() >= root.size() && path.compare(0, root.size(), root) == 0 &&
         (path.size() == root.size() || path[root.size()] == '/');
}

std::string JoinRoots(const std::vector<std::string>& roots) {
  std::string out;
  for (const auto& r : roots) out += (out.empty() ? "" : ", ") + r;
  return out;
}

}  // namespace

Status SetInputRoots(const std::vector<std::string>& roots) {
  auto resolved = std::make_shared<std::vector<std::string>>();
  for (const std::string& r : roots) {
    char buf[PATH_MAX];
    struct stat st;
    if (::realpath(r.c_str(), buf) == nullptr || ::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
      return InvalidArgumentError("data root '" + r + "' is not an existing directory");
    }
    resolved->push_back(buf);
  }
  Roots& t = TheRoots();
  MutexLock lock(&t.mu);
  t.list = std::move(resolved);
  return Status::Ok();
}

std::vector<std::string> InputRoots() { return *Snapshot(); }

Status SetInputRootsFromEnv() {
  if (!EnvIsSet(env::kDataRoots)) return Status::Ok();
  std::vector<std::string> roots;
  const std::string text = EnvString(env::kDataRoots);
  for (size_t start = 0; start <= text.size();) {
    size_t colon = text.find(':', start);
    if (colon == std::string::npos) colon = text.size();
    if (colon > start) roots.push_back(text.substr(start, colon - start));
    start = colon + 1;
  }
  return SetInputRoots(roots).WithContext(env::kDataRoots.name);
}

Status CheckInputFd(int fd, const std::string& path) {
  const auto roots = Snapshot();
  if (roots->empty()) return Status::Ok();
  // The kernel's name of the open file: symlinks and ".." already resolved.
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  char buf[PATH_MAX + 1];
  const ssize_t n = ::readlink(link.c_str(), buf, PATH_MAX);
  if (n < 0) {
    return PermissionDeniedError("'" + path + "': cannot resolve it to check the data roots (" +
                                 std::strerror(errno) + ")");
  }
  const std::string real(buf, static_cast<size_t>(n));
  for (const std::string& root : *roots) {
    if (Inside(real, root)) return Status::Ok();
  }
  return PermissionDeniedError("'" + path + "' resolves to '" + real + "', outside the data roots (" +
                               JoinRoots(*roots) + ")");
}

StatusOr<std::string> ReadInputFile(const std::string& path, size_t max_bytes) {
  return ReadFileToString(path, max_bytes, CheckInputFd);
}

StatusOr<std::string> ReadMaybeGzipInputFile(const std::string& path, size_t max_bytes) {
  return ReadMaybeGzipFile(path, max_bytes, CheckInputFd);
}

StatusOr<std::string> ReadInputFilePrefix(const std::string& path, size_t max_bytes) {
  return ReadFilePrefix(path, max_bytes, CheckInputFd);
}

StatusOr<UniqueFd> OpenInput(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    const std::string what = "cannot open '" + path + "': " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR) return NotFoundError(what);
    if (err == EACCES || err == EPERM) return PermissionDeniedError(what);
    return InternalError(what);
  }
  FLYP_RETURN_IF_ERROR(CheckInputFd(fd.get(), path));
  return fd;
}

}  // namespace flyp
