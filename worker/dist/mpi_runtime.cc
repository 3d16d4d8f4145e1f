#include "worker/dist/mpi_runtime.h"

#include <cstdlib>
#include <sstream>

#include "common/mutex.h"
#include "worker/dist/communicator.h"

namespace flyp::dist::internal {
namespace {

void FinalizeAtExit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

int WorldRankOrMinusOne() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return -1;
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace

StatusOr<MpiInfo> EnsureMpi() {
  static Mutex mu;  // MPI_Init_thread runs once, on one thread (MPI's own state)
  MutexLock lock(&mu);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized)
    return FailedPreconditionError(
        "MPI was already finalized in this process; cannot create an MPI communicator");
  MpiInfo info;
  if (!initialized) {
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &info.thread_level);
    if (rc != MPI_SUCCESS) {
      return UnavailableError("MPI_Init_thread(MPI_THREAD_MULTIPLE) failed with code " + std::to_string(rc) +
                              " (" + MpiLibraryVersion() + ")");
    }
    std::atexit(FinalizeAtExit);
  } else {
    MPI_Query_thread(&info.thread_level);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &info.world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &info.world_size);
  return info;
}

std::string MpiLibraryVersion() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(buf, &len);
  std::string v(buf, len > 0 ? static_cast<size_t>(len) : 0);
  const size_t nl = v.find_first_of("\r\n");
  if (nl != std::string::npos) v.resize(nl);
  while (!v.empty() && (v.back() == '\0' || v.back() == ' ')) v.pop_back();
  return v;
}

void CheckMpi(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char err[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  if (MPI_Error_string(rc, err, &len) != MPI_SUCCESS) len = 0;
  std::ostringstream msg;
  msg << call << " failed: " << (len > 0 ? std::string(err, len) : "MPI error " + std::to_string(rc))
      << " (rank " << WorldRankOrMinusOne() << ", " << file << ":" << line << ", " << MpiLibraryVersion()
      << ")";
  throw CommunicatorError(msg.str());
}

}  // namespace flyp::dist::internal
