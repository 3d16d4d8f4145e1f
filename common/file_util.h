// Whole files in and out: the one implementation every component uses to read
// a file into memory (with a size budget), to read a file that may be gzip
// compressed, and to replace a file atomically. Streaming readers (log tails,
// artifact downloads, safetensors' pread) stay where they are; everything
// that wants "the contents of this file" calls these.
//
// Errors name the path and say what went wrong:
//   NOT_FOUND           the file (or, when writing, its directory) does not exist
//   PERMISSION_DENIED   no permission (also a read-only file system)
//   INVALID_ARGUMENT    the path is a directory, a device or a socket (readers
//                       take regular files and pipes; a FIFO without a writer
//                       reads as empty instead of blocking)
//   RESOURCE_EXHAUSTED  the file, or its decompressed contents, exceed the
//                       caller's budget (the message gives the budget); when
//                       writing, the disk or quota is full
//   DATA_LOSS           a read or write error (strerror), a corrupt or
//                       truncated gzip stream
//   INTERNAL            anything else the system call reports (strerror)
// Callers add their own context with Status::WithContext ("spec file: ...").
//
// Thread safety: every function may be called from any thread. Concurrent
// writers of one path each use their own temporary file; the last rename wins
// and readers see either the old or a complete new file, never a mixture.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace flyp {

inline constexpr size_t kMiB = size_t{1} << 20;

// The budget for configuration-sized files read whole: job specs, the
// coordinator's configuration, token files, TLS PEM files, prompt templates,
// checkpoint position files, run reports. Bigger inputs (vocabularies,
// datasets, images) name their own budget beside the code that reads them.
inline constexpr size_t kMaxConfigFileBytes = 16 * kMiB;

// Whether `path` names something strictly below the folder `dir`, by their
// text alone (no file system access, no symlinks or ".." resolved; trailing
// '/' of `dir` ignored): "/a/b/c" is below "/a/b" and "/a/b/", but neither
// "/a/b" nor "/a/bc" is.
bool PathIsBelow(std::string_view path, std::string_view dir);

// An owned file descriptor (-1: none), closed when destroyed. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Called by the readers below with the file they opened, before reading it;
// a non-OK status is returned instead of the contents. The confinement of
// job inputs (common/confine.h) is one.
using OpenedFileCheck = std::function<Status(int fd, const std::string& path)>;

// The whole contents of `path`. RESOURCE_EXHAUSTED when it holds more than
// `max_bytes` (checked before reading for regular files, and while reading
// for files whose size the kernel does not know, such as /proc files).
StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes,
                                       const OpenedFileCheck& check = nullptr);

// The kB value of `field` ("VmRSS", "VmHWM", ...) in /proc/self/status; -1
// when the file cannot be read or has no such line.
int64_t SelfStatusKb(const std::string& field);

// At most the first `max_bytes` bytes of `path` (fewer when it is shorter);
// for sniffing a file's magic number. A longer file is not an error.
StatusOr<std::string> ReadFilePrefix(const std::string& path, size_t max_bytes,
                                     const OpenedFileCheck& check = nullptr);

// The contents of `path`, gunzipped when it starts with the gzip magic
// (1f 8b; concatenated members are read as one stream), as they are
// otherwise. `max_bytes` bounds both the file and what it decompresses to.
// DATA_LOSS naming the path for a corrupt or truncated stream or bytes after
// the last member.
StatusOr<std::string> ReadMaybeGzipFile(const std::string& path, size_t max_bytes,
                                        const OpenedFileCheck& check = nullptr);

// Opens the regular file `relative` below the directory `dir` for reading
// without following a symlink in any component of `relative`: each one is
// opened with O_NOFOLLOW relative to the one before, so no link planted
// inside `dir` (a file, or a directory such as `leak -> /etc`) reaches
// anything outside it, even if it appears between a check and the open.
// `relative` must be relative and free of ".." (INVALID_ARGUMENT). NOT_FOUND
// naming `relative` for a missing component, a symlinked component or a
// final component that is not a regular file (one message for all three, so
// a caller cannot tell what lies outside).
StatusOr<UniqueFd> OpenFileBeneath(const std::string& dir, const std::string& relative);

// Replaces `path` with `contents` atomically: writes a temporary file in the
// same directory, fsyncs it, renames it over `path` and fsyncs the
// directory, so after a crash `path` holds the old or the new contents. The
// file gets exactly `mode` (the umask is not applied). On failure `path` is
// unchanged and no temporary file is left behind.
Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode = 0644);

// WriteFileAtomic for contents produced piecewise (large tensors):
//   FLYP_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(path));
//   FLYP_RETURN_IF_ERROR(w.Append(data, n));   // as often as needed
//   FLYP_RETURN_IF_ERROR(w.Commit());
// A writer destroyed without a successful Commit removes its temporary file
// and leaves `path` as it was. Move-only; one thread at a time.
class AtomicFileWriter {
 public:
  static StatusOr<AtomicFileWriter> Create(const std::string& path, mode_t mode = 0644);

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  // Appends n bytes to the temporary file. After an error the writer is
  // spent: Commit fails and the temporary file is removed.
  Status Append(const void* data, size_t n);
  Status Append(std::string_view data) { return Append(data.data(), data.size()); }

  // fsync, rename over the target, fsync the directory. Call once.
  Status Commit();

  const std::string& path() const { return path_; }

 private:
  AtomicFileWriter() = default;
  void Abandon();  // closes and removes the temporary file

  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
  Status error_;  // the first failure of Append; Commit reports it
};

}  // namespace flyp
