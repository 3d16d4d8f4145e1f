// Launcher: starts, watches and stops the MPI world of one job attempt.
// Implementations: LocalLauncher (mpirun as a child process),
// KubernetesLauncher (a Kubeflow MPIJob per attempt) and FakeLauncher (tests).
//
// The contract, which launchers to come (mpirun over ssh onto several hosts,
// Slurm's sbatch) fit as well as today's:
//
//  - Launch() starts a world and returns its WorldHandle. The JobManager
//    stores the handle verbatim (JobRecord::world) and hands it back to
//    Poll(), Stop() and, after a coordinator restart, to Recover() of a
//    launcher of the same kind. A handle must name the world on its own
//    (a pid, a namespace and name, a Slurm job id): a fresh coordinator
//    process has nothing else. No launcher derives anything from the format
//    of job ids.
//  - Launch() may block for as long as starting takes (a fork and exec; the
//    Kubernetes launcher's HTTPS calls with 15 s timeouts; an sbatch). The
//    JobManager calls it on a thread of its own, never while holding a lock
//    that other calls take. Poll() and Stop() return promptly: they never
//    wait on the world or on the network (in-memory state and short system
//    calls only; a launcher that must talk to a server does so from a
//    thread of its own, as KubernetesLauncher's poller does).
//  - Poll() and Stop() take handles that this launcher object returned from
//    Launch() or adopted in Recover(). Poll() reports a world's exit once;
//    the handle is forgotten afterwards. Stop() is idempotent; a stopped
//    world's exit is still reported by Poll().
//  - Recover() decides what happens to a world recorded by a previous
//    coordinator process: a launcher whose worlds outlive the coordinator and
//    can be watched from a new process (a Slurm job, an MPIJob) may adopt it
//    (Recovery::kAdopted: the world runs on, Poll/Stop apply to its handle);
//    one that cannot watch it (mpirun was the old coordinator's child; its
//    exit status died with it) stops it (Recovery::kGone: the job restarts
//    from its last checkpoint). The default is the latter, through
//    StopOrphan().
//
// Thread safety: every method of every implementation may be called from any
// thread, concurrently (one world is launched while others are polled and
// stopped).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/exit_codes.h"
#include "common/status.h"

namespace flyp::coord {

// Names one world for the launcher that started it: "<kind>:<id>", e.g.
// "local:12345" (mpirun's pid, also its process group) or
// "k8s:ml/flyp-job-000042-a3" (namespace/MPIJob name). Opaque to everyone
// but launchers of that kind; the coordinator keeps it as text. Empty: no
// world.
class WorldHandle {
 public:
  WorldHandle() = default;
  // Stored text, as text() returned it (any text; its launcher checks it).
  static WorldHandle FromText(std::string text) { return WorldHandle(std::move(text)); }
  // "<kind>:<id>".
  static WorldHandle Make(std::string_view kind, std::string_view id) {
    return WorldHandle(std::string(kind) + ":" + std::string(id));
  }

  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }
  // The part before the first ':' ("" when there is none) and the rest.
  std::string_view kind() const;
  std::string_view id() const;

  bool operator==(const WorldHandle& o) const { return text_ == o.text_; }
  bool operator!=(const WorldHandle& o) const { return text_ != o.text_; }
  bool operator<(const WorldHandle& o) const { return text_ < o.text_; }

 private:
  explicit WorldHandle(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

std::ostream& operator<<(std::ostream& os, const WorldHandle& w);

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
  // FLYP_DATA_ROOTS (':'-joined): the folders the ranks may read inputs
  // from, checked by the worker at every open (common/confine.h).
  std::vector<std::string> data_roots;
};

// The value of FLYP_DATA_ROOTS for `roots` (which contain no ':'; the
// coordinator refuses such data roots at start).
std::string JoinDataRoots(const std::vector<std::string>& roots);

// How a world ended.
struct WorldExit {
  int exit_code = 0;  // meaningful when signal == 0
  int signal = 0;     // the launcher process was killed by this signal
  std::string ToString() const;
};

// What Recover() did with a recorded world.
enum class Recovery {
  kGone,     // no world runs any more (it had ended, or Recover stopped it)
  kAdopted,  // it runs on, watched by this launcher: Poll/Stop apply to its handle
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  // Starts the world of `req` and returns its handle. May block (see above).
  // UNAVAILABLE when the launch may work on a retry, FAILED_PRECONDITION when
  // it cannot work (no such binary, a path the world could not see).
  virtual StatusOr<WorldHandle> Launch(const LaunchRequest& req) = 0;
  // Non-blocking: the exit of the world, once it ended (reported once).
  // A handle this launcher does not know reports exit code 255.
  virtual std::optional<WorldExit> Poll(const WorldHandle& world) = 0;
  // Asks the world to stop (SIGTERM; a delete with a grace period); `force`
  // kills it and every process it started (SIGKILL). Non-blocking and
  // idempotent; Poll() reports the exit.
  virtual void Stop(const WorldHandle& world, bool force) = 0;
  // Recovery: `world` was recorded by a previous coordinator process for
  // the attempt `req` describes (rebuilt from the store as Launch got it).
  // Adopts it or stops it (see above); blocks up to `grace_ms` plus a little
  // while stopping. FAILED_PRECONDITION for a handle of another kind of
  // launcher (the configuration changed: nothing this launcher can stop).
  // The default calls StopOrphan() and returns kGone.
  virtual StatusOr<Recovery> Recover(const WorldHandle& world, const LaunchRequest& req, int64_t grace_ms);
  // Stops a world recorded by a previous coordinator process if it is still
  // alive (TERM, KILL after `grace_ms`) and returns once it is gone; OK when
  // it already was. Blocks up to grace_ms plus a little.
  virtual Status StopOrphan(const WorldHandle& world, int64_t grace_ms) = 0;
};

// What the coordinator does after a world ended without being cancelled.
enum class ExitClass { kSucceeded, kPermanent, kRetryable };

// By flyp-worker's exit code (common/exit_codes.h): 0 succeeded; 3, 4 and 5
// (IsPermanentWorkerExit), or a worker that reported a permanent failure, are
// permanent; anything else (other codes, signals) may succeed on a retry.
ExitClass ClassifyExit(const WorldExit& exit, bool reported_permanent);

// Delay before restart number `restart` (1-based): base * 2^(restart-1), at most max.
int64_t BackoffMillis(int restart, int64_t base_ms, int64_t max_ms);

}  // namespace flyp::coord
