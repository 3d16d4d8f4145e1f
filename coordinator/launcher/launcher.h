// Launcher: starts, watches and stops the MPI world of one job attempt.
// Implementations: LocalLauncher (mpirun as a child process) and
// KubernetesLauncher (a Kubeflow MPIJob per attempt).
//
// Thread safety: implementations are called from the JobManager's loop thread
// only, except where noted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"

namespace flyp::coord {

struct LaunchRequest {
  std::string job_id;
  int attempt = 1;                  // FLYP_ATTEMPT, 1-based
  int world_size = 1;               // mpirun -np
  int threads_per_rank = 0;         // 0: leave OMP_NUM_THREADS alone
  std::string spec_path;            // <artifact_dir>/spec.yaml, written before Launch
  std::string artifact_dir;         // FLYP_ARTIFACT_DIR
  std::string log_path;             // stdout+stderr of the whole world, appended
  std::string coordinator_address;  // FLYP_COORDINATOR
  std::string worker_token;         // FLYP_WORKER_TOKEN
  bool cuda = false;                // resources.device == cuda
  int slots_per_rank = 1;           // GPUs (cuda) or CPU slots per rank
};

// How a world ended.
struct WorldExit {
  int exit_code = 0;  // meaningful when signal == 0
  int signal = 0;     // the launcher process was killed by this signal
  std::string ToString() const;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  // Starts the world; returns its id (for the local launcher: the mpirun pid,
  // which is also its process group id). Does not block on the world.
  virtual StatusOr<int64_t> Launch(const LaunchRequest& req) = 0;
  // Non-blocking: the exit of a world started by this launcher, once it ended.
  virtual std::optional<WorldExit> Poll(int64_t world) = 0;
  // Asks the world to stop (SIGTERM); `force` kills it and every process it
  // started (SIGKILL). Non-blocking; Poll() reports the exit.
  virtual void Stop(int64_t world, bool force) = 0;
  // Recovery: a world recorded by a previous coordinator process. Stops it if
  // it is still alive (TERM, KILL after `grace_ms`) and returns when it is
  // gone. Blocks up to grace_ms plus a little.
  virtual Status StopOrphan(int64_t world, int64_t grace_ms) = 0;
};

// What the coordinator does after a world ended without being cancelled.
enum class ExitClass { kSucceeded, kPermanent, kRetryable };

// Worker exit codes (flyp-worker, worker/exit_codes.h): 0 success, 3 invalid
// spec, 4 bad data, 5 rank 0 cannot verify the coordinator's certificate.
constexpr int kWorkerExitInvalidSpec = 3;
constexpr int kWorkerExitBadData = 4;
constexpr int kWorkerExitUntrustedCoordinator = 5;

// 0 succeeded; 3, 4 and 5 (or a worker that reported a permanent failure)
// are permanent; anything else (other codes, signals) may succeed on a retry.
ExitClass ClassifyExit(const WorldExit& exit, bool reported_permanent);

// Delay before restart number `restart` (1-based): base * 2^(restart-1), at most max.
int64_t BackoffMillis(int restart, int64_t base_ms, int64_t max_ms);

}  // namespace flyp::coord
