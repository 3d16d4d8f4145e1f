// Process exit codes that the distributed layer uses on purpose, so launchers
// (mpirun, the coordinator's local launcher, Kubernetes) can tell them apart
// from crashes.
#pragma once

namespace flyp::dist {

// A collective made no progress within CommunicatorOptions::collective_timeout.
// The watchdog printed a line starting with kCollectiveTimeoutMessagePrefix to
// stderr (naming the collective, the step and the rank) and aborted the world:
// MPI_Abort(MPI_COMM_WORLD, 75), after ncclCommAbort for the NCCL backend. 75
// is EX_TEMPFAIL from <sysexits.h>: the job may succeed when retried from its
// last checkpoint. mpirun exits with this code too when the aborting rank is
// the first to fail.
inline constexpr int kExitCollectiveTimeout = 75;

// Every collective-timeout report on stderr starts with this text.
inline constexpr const char* kCollectiveTimeoutMessagePrefix = "flyp: collective timeout:";

}  // namespace flyp::dist
