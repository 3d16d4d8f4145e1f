// Internal to worker/dist: process-wide MPI start-up and the FLYP_MPI_CHECK
// macro. Includes <mpi.h>, so only .cc files of this folder include it (MPI is
// a private dependency of flyp::dist).
//
// MPI is initialised once per process with MPI_Init_thread asking for
// MPI_THREAD_MULTIPLE: the collective watchdog calls MPI_Abort from its own
// thread while the training thread is blocked inside a collective, which the
// MPI standard allows only at that level. With a lower level provided, the
// watchdog falls back to _exit(75) (mpirun then aborts the job because a rank
// exited non-zero). If flyp initialised MPI, MPI_Finalize runs at exit.
//
// Thread safety: EnsureMpi() and the helpers are safe from any thread.
#pragma once

// C API only: OpenMPI's deprecated C++ bindings need libmpi_cxx.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <string>

#include "common/status.h"

namespace flyp::dist::internal {

struct MpiInfo {
  int thread_level = MPI_THREAD_SINGLE;  // what MPI_Init_thread provided
  int world_rank = 0;
  int world_size = 1;
};

// Initialises MPI on first call (or adopts an MPI someone else initialised).
StatusOr<MpiInfo> EnsureMpi();

// First line of MPI_Get_library_version, e.g. "Open MPI v4.1.4, ...".
std::string MpiLibraryVersion();

// Throws CommunicatorError: "<call> failed: <MPI error string> (rank R,
// file:line, <library version>)". rc == MPI_SUCCESS returns.
void CheckMpi(int rc, const char* call, const char* file, int line);

}  // namespace flyp::dist::internal

#define FLYP_MPI_CHECK(call) ::flyp::dist::internal::CheckMpi((call), #call, __FILE__, __LINE__)
