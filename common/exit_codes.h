// flyp-worker's exit codes: the contract between the worker (which exits
// with them) and the coordinator's launchers (which read them from mpirun,
// a Kubernetes MPIJob, ...). Both sides include this one header, so a code
// cannot mean one thing to the worker and another to ClassifyExit.
//
//   0   ok                  the job finished; artifacts are complete
//   1   failure             a runtime failure; a retry from the last checkpoint may help
//   2   usage               bad command line; retried like 1 (launchers build the
//                           command line, so it is their bug, not the job's)
//   3   invalid spec        the job spec is invalid (printed with field paths): permanent
//   4   bad input           missing or corrupt data, checkpoint or vocabulary: permanent
//   5   untrusted coordinator  FLYP_COORDINATOR_CA is unreadable or does not verify the
//                           coordinator rank 0 reports to: permanent (a retry meets the
//                           same certificate)
//   6   unusable world      the launched world cannot run the job: MPI joined fewer
//                           processes than the launcher started (srun without
//                           --mpi=pmix: N worlds of 1), the launcher's variables are
//                           malformed, or this build lacks the device's backend
//                           (CUDA, NCCL): permanent (the same launch meets the same world)
//   75  collective timeout  a collective made no progress (the watchdog aborted the
//                           world; EX_TEMPFAIL from <sysexits.h>): retried
// Anything else, and death by a signal, is a crash and retried.
//
// flypctl's exit codes (cli/exit_codes.h) are a different contract — between
// the CLI and the user's scripts — and stay separate: they share 0..3 by
// design but mean what the CLI did ("the job you watched failed" is 1), have
// no 4, 6 or 75, and must stay stable for scripts when this contract changes.
#pragma once

namespace flyp {

inline constexpr int kWorkerExitOk = 0;
inline constexpr int kWorkerExitFailure = 1;
inline constexpr int kWorkerExitUsage = 2;
inline constexpr int kWorkerExitInvalidSpec = 3;
inline constexpr int kWorkerExitBadInput = 4;
inline constexpr int kWorkerExitUntrustedCoordinator = 5;
inline constexpr int kWorkerExitUnusableWorld = 6;
inline constexpr int kWorkerExitCollectiveTimeout = 75;

// Whether retrying a world that exited (not signalled) with `code` cannot help.
constexpr bool IsPermanentWorkerExit(int code) {
  return code == kWorkerExitInvalidSpec || code == kWorkerExitBadInput ||
         code == kWorkerExitUntrustedCoordinator || code == kWorkerExitUnusableWorld;
}

}  // namespace flyp
