#include "coordinator/store/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace flyp::coord {

StatusOr<StoreLock> StoreLock::Acquire(const std::string& db_path) {
  const std::string path = db_path + ".lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    const int err = errno;
    const std::string what = "cannot create the job store's lock file '" + path + "': " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR) return NotFoundError(what);
    if (err == EACCES || err == EPERM || err == EROFS) return PermissionDeniedError(what);
    return InternalError(what);
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      return InternalError("cannot lock '" + path + "': " + std::strerror(err));
    }
    char buf[32] = {};
    const ssize_t n = ::pread(fd.get(), buf, sizeof(buf) - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return FailedPreconditionError("job store '" + db_path + "' is in use by another flyp-coordinator" +
                                   (pid.empty() ? std::string() : " (pid " + pid + ")") + "; it holds " +
                                   path + ". Stop it first, or give this one its own --db");
  }
  // Ours: record who holds it (for the message above).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return InternalError("cannot write '" + path + "': " + std::strerror(errno));
  }
  return StoreLock(path, std::move(fd));
}

}  // namespace flyp::coord
