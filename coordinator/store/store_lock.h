// Exclusive ownership of a job store: the coordinator holds an advisory
// lock (flock) on "<db>.lock" for as long as it runs, so a second
// coordinator pointed at the same database refuses to start instead of
// sharing its jobs. The lock file holds the owner's pid, for the message;
// the lock itself, not the file, is what counts, so a lock file left by a
// killed coordinator does not block the next one.
//
// Thread safety: a StoreLock is owned by one object; move-only.
#pragma once

#include <string>

#include "common/file_util.h"
#include "common/status.h"

namespace flyp::coord {

class StoreLock {
 public:
  // Takes the lock of the store at `db_path`. FAILED_PRECONDITION naming the
  // database and the pid of the process that holds it; other errors of
  // creating the lock file as file_util's (NOT_FOUND for a missing folder,
  // PERMISSION_DENIED, ...).
  static StatusOr<StoreLock> Acquire(const std::string& db_path);

  const std::string& path() const { return path_; }

 private:
  StoreLock(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;  // the lock file
  UniqueFd fd_;       // closing it releases the lock
};

}  // namespace flyp::coord
