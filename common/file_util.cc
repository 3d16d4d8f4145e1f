#include "common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace flyp {
namespace {

// "16 MiB" when whole mebibytes, else "1000 bytes".
std::string BudgetText(size_t bytes) {
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// `what` + ": " + strerror(err), with the code that errno means.
Status ErrnoStatus(int err, const std::string& what) {
  std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(msg));
    case EISDIR:
      return InvalidArgumentError(std::move(msg));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return ResourceExhaustedError(std::move(msg));
    case EIO:
      return DataLossError(std::move(msg));
    default:
      return InternalError(std::move(msg));
  }
}

Status OverBudget(const std::string& path, size_t max_bytes, const std::string& detail) {
  return ResourceExhaustedError("'" + path + "' " + detail + ", over the budget of " + BudgetText(max_bytes));
}

// Reads `path`; with `truncate` stops after max_bytes, otherwise more than
// max_bytes is RESOURCE_EXHAUSTED.
StatusOr<std::string> ReadUpTo(const std::string& path, size_t max_bytes, bool truncate,
                               const OpenedFileCheck& check) {
  // O_NONBLOCK: opening a FIFO that has no writer must not block forever.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoStatus(errno, "cannot open '" + path + "'");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat '" + path + "'");
  if (S_ISDIR(st.st_mode)) return InvalidArgumentError("'" + path + "' is a directory, not a file");
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) {
    return InvalidArgumentError("'" + path + "' is a device or a socket, not a file");
  }
  if (S_ISFIFO(st.st_mode)) {
    // Blocking reads from here: a pipe with a writer delivers everything.
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
      return ErrnoStatus(errno, "cannot read '" + path + "'");
    }
  }
  if (check) FLYP_RETURN_IF_ERROR(check(fd.get(), path));
  const bool sized = S_ISREG(st.st_mode) && st.st_size > 0;
  if (sized && !truncate && static_cast<uint64_t>(st.st_size) > max_bytes) {
    return OverBudget(path, max_bytes, "is " + std::to_string(st.st_size) + " bytes");
  }
  std::string out;
  // Read one byte past the budget to tell "exactly max_bytes" from "more".
  const size_t limit = truncate ? max_bytes : max_bytes + 1;
  out.resize(sized ? std::min<size_t>(static_cast<size_t>(st.st_size), limit)
                   : std::min<size_t>(limit, 1 << 16));
  size_t done = 0;
  while (done < limit) {
    if (done == out.size()) out.resize(std::min(limit, std::max<size_t>(out.size() * 2, 1 << 16)));
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return DataLossError("error reading '" + path + "': " + std::strerror(err));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  if (!truncate && done > max_bytes)
    return OverBudget(path, max_bytes, "holds more than " + BudgetText(max_bytes));
  return out;
}

bool IsGzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1F &&
         static_cast<unsigned char>(data[1]) == 0x8B;
}

// Inflates every gzip member of `data`.
StatusOr<std::string> Gunzip(std::string_view data, const std::string& path, size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return InternalError("zlib: inflateInit2 failed");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};
  const auto* base = reinterpret_cast<const Bytef*>(data.data());
  auto offset = [&] { return static_cast<size_t>(zs.next_in - base); };
  zs.next_in = const_cast<Bytef*>(base);
  std::string out;
  char buf[1 << 16];
  while (true) {  // one gzip member per iteration
    int ret = Z_OK;
    while (ret != Z_STREAM_END) {
      // avail_in is 32 bits: hand the input over in slices.
      if (zs.avail_in == 0)
        zs.avail_in = static_cast<uInt>(std::min<size_t>(data.size() - offset(), 1u << 30));
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof(buf);
      ret = inflate(&zs, Z_NO_FLUSH);
      // Z_BUF_ERROR: no progress with a free output buffer, i.e. the input
      // ended inside the stream.
      if (ret == Z_BUF_ERROR) return DataLossError("'" + path + "': truncated gzip data");
      if (ret != Z_OK && ret != Z_STREAM_END) {
        return DataLossError("'" + path + "': corrupt gzip data: " + (zs.msg ? zs.msg : zError(ret)));
      }
      const size_t produced = sizeof(buf) - zs.avail_out;
      if (out.size() + produced > max_bytes) {
        return OverBudget(path, max_bytes, "decompresses to more than " + BudgetText(max_bytes));
      }
      out.append(buf, produced);
    }
    if (offset() == data.size()) return out;
    if (!IsGzip(data.substr(offset()))) {
      return DataLossError("'" + path + "': " + std::to_string(data.size() - offset()) +
                           " unexpected bytes after the gzip data");
    }
    if (inflateReset(&zs) != Z_OK) return InternalError("zlib: inflateReset failed");
  }
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes,
                                       const OpenedFileCheck& check) {
  return ReadUpTo(path, max_bytes, /*truncate=*/false, check);
}

int64_t SelfStatusKb(const std::string& field) {
  StatusOr<std::string> status = ReadFileToString("/proc/self/status", kMiB);
  if (!status.ok()) return -1;
  const std::string key = field + ":";
  for (size_t at = 0; at < status->size();) {
    const size_t end = std::min(status->find('\n', at), status->size());
    if (status->compare(at, key.size(), key) == 0) {
      int64_t kb = -1;
      return std::sscanf(status->c_str() + at + key.size(), " %" SCNd64, &kb) == 1 ? kb : -1;
    }
    at = end + 1;
  }
  return -1;
}

StatusOr<std::string> ReadFilePrefix(const std::string& path, size_t max_bytes,
                                     const OpenedFileCheck& check) {
  return ReadUpTo(path, max_bytes, /*truncate=*/true, check);
}

StatusOr<std::string> ReadMaybeGzipFile(const std::string& path, size_t max_bytes,
                                        const OpenedFileCheck& check) {
  StatusOr<std::string> data = ReadFileToString(path, max_bytes, check);
  if (!data.ok() || !IsGzip(*data)) return data;
  return Gunzip(*data, path, max_bytes);
}

StatusOr<UniqueFd> OpenFileBeneath(const std::string& dir, const std::string& relative) {
  std::vector<std::string> parts;
  for (size_t start = 0; start <= relative.size();) {
    size_t slash = relative.find('/', start);
    if (slash == std::string::npos) slash = relative.size();
    std::string part = relative.substr(start, slash - start);
    if (part == "..") return InvalidArgumentError("'" + relative + "' leaves its folder");
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = slash + 1;
  }
  if (relative.empty() || relative[0] == '/' || parts.empty()) {
    return InvalidArgumentError("'" + relative + "' is not a relative file name");
  }
  const Status not_found = NotFoundError("'" + relative + "' not found");
  UniqueFd at(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!at.valid()) return ErrnoStatus(errno, "cannot open '" + dir + "'");
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (last ? 0 : O_DIRECTORY);
    UniqueFd next(::openat(at.get(), parts[i].c_str(), flags));
    // ELOOP: a symlink (O_NOFOLLOW); ENOTDIR: a symlink or file where a
    // directory should be.
    if (!next.valid())
      return errno == ENOENT || errno == ELOOP || errno == ENOTDIR
                 ? not_found
                 : ErrnoStatus(errno, "cannot open '" + relative + "'");
    at = std::move(next);
  }
  struct stat st;
  if (::fstat(at.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat '" + relative + "'");
  if (!S_ISREG(st.st_mode)) return not_found;
  const int flags = ::fcntl(at.get(), F_GETFL);
  if (flags >= 0) ::fcntl(at.get(), F_SETFL, flags & ~O_NONBLOCK);
  return at;
}

// ------------------------------------------------------------- writing ---

StatusOr<AtomicFileWriter> AtomicFileWriter::Create(const std::string& path, mode_t mode) {
  if (path.empty() || path.back() == '/')
    return InvalidArgumentError("cannot write '" + path + "': not a file name");
  AtomicFileWriter w;
  w.path_ = path;
  // Hidden, unique per writer (mkstemp), in the target's directory so that
  // rename() stays within one file system.
  w.tmp_path_ = DirectoryOf(path) + "/." + BaseName(path) + ".tmp.XXXXXX";
  w.fd_ = ::mkostemp(w.tmp_path_.data(), O_CLOEXEC);
  if (w.fd_ < 0) return ErrnoStatus(errno, "cannot create a temporary file for '" + path + "'");
  if (::fchmod(w.fd_, mode) != 0) {
    const int err = errno;
    w.Abandon();
    return ErrnoStatus(err, "cannot set the mode of '" + w.tmp_path_ + "'");
  }
  return w;
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      tmp_path_(std::move(other.tmp_path_)),
      fd_(std::exchange(other.fd_, -1)),
      error_(std::move(other.error_)) {
  other.tmp_path_.clear();
}

AtomicFileWriter& AtomicFileWriter::operator=(AtomicFileWriter&& other) noexcept {
  if (this != &other) {
    Abandon();
    path_ = std::move(other.path_);
    tmp_path_ = std::move(other.tmp_path_);
    other.tmp_path_.clear();
    fd_ = std::exchange(other.fd_, -1);
    error_ = std::move(other.error_);
  }
  return *this;
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  tmp_path_.clear();
}

Status AtomicFileWriter::Append(const void* data, size_t n) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return FailedPreconditionError("'" + path_ + "': write after Commit");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, std::min<size_t>(n, 1u << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      error_ = ErrnoStatus(errno, "cannot write '" + tmp_path_ + "'");
      if (error_.code() == StatusCode::kInternal) error_ = DataLossError(error_.message());
      Abandon();
      return error_;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status AtomicFileWriter::Commit() {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return FailedPreconditionError("'" + path_ + "': Commit called twice");
  auto fail = [&](const std::string& what) {
    Status s = ErrnoStatus(errno, what);
    if (s.code() == StatusCode::kInternal) s = DataLossError(s.message());
    Abandon();
    error_ = s;
    return s;
  };
  if (::fsync(fd_) != 0) return fail("cannot flush '" + tmp_path_ + "'");
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return fail("cannot close '" + tmp_path_ + "'");
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    return fail("cannot rename '" + tmp_path_ + "' to '" + path_ + "'");
  }
  tmp_path_.clear();  // it is `path_` now
  // Persist the rename itself. Some file systems cannot fsync a directory
  // (EINVAL); the rename is then as durable as they make it.
  const std::string dir = DirectoryOf(path_);
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0)
    return ErrnoStatus(errno, "'" + path_ + "' written, but cannot open its directory to sync it");
  if (::fsync(d.get()) != 0 && errno != EINVAL && errno != ENOTSUP) {
    return ErrnoStatus(errno, "'" + path_ + "' written, but syncing its directory failed");
  }
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view contents, mode_t mode) {
  FLYP_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(path, mode));
  FLYP_RETURN_IF_ERROR(w.Append(contents));
  return w.Commit();
}

bool PathIsBelow(std::string_view path, std::string_view dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  if (dir == "/") return path.size() > 1 && path[0] == '/';
  return path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

}  // namespace flyp
