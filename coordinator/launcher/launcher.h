// Launcher: starts, watches and stops the MPI world of one job attempt.
// Implementations: LocalLauncher (mpirun as a child process),
// KubernetesLauncher (a Kubeflow MPIJob per attempt), SlurmLauncher (an
// sbatch job per attempt) and FakeLauncher (tests).
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
//  - AdmitsGangs(): a launcher whose own scheduler places and admits gangs
//    (Slurm) says so. The coordinator then counts no slots for it: every
//    gang is handed to the launcher at once, the job stays QUEUED while
//    Observe() says the world is pending, and it is ADMITTED when the
//    launcher reports it allocated (the coordinator mirrors the launcher's
//    admission instead of making its own).
//  - Observe() tells where a world that has not exited is (pending in the
//    launcher's queue and why, or allocated); in memory only, like Poll().
//
// Thread safety: every method of every implementation may be called from any
// thread, concurrently (one world is launched while others are polled and
// stopped).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/exit_codes.h"
#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"

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

// Where one rank of a world runs, as the coordinator placed it. Launchers
// that place ranks themselves (Kubernetes) ignore it.
struct RankHost {
  std::string host;       // the host's name (logs, metrics labels)
  std::string address;    // what mpirun and the rsh agent dial
  std::vector<int> cpus;  // the rank's CPU slots on the host (slot i = CPU i)
  std::vector<int> gpus;  // CUDA device indices: the rank's CUDA_VISIBLE_DEVICES
  int metrics_port = 0;   // FLYP_METRICS_ADDRESS=0.0.0.0:<port>; 0: no /metrics
};

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
  v1::KubernetesSpec kubernetes;    // resources.kubernetes (the Kubernetes launcher's pods)
  int ranks_per_host = 0;           // 0: the launcher packs ranks as it likes
  int64_t time_limit_ms = 0;        // run_policy.active_deadline; 0: none
  std::string pool;                 // the pool the world runs in (LauncherSet routes on it)
  // By world rank (world_size entries), or empty: the launcher's own
  // placement (one mpirun context of world_size ranks).
  std::vector<RankHost> ranks;
  // Pin each rank to the CPUs of its slots (a pool's binding: cores).
  bool pin_cpus = false;
  // FLYP_DATA_ROOTS (':'-joined): the folders the ranks may read inputs
  // from, checked by the worker at every open (common/confine.h).
  std::vector<std::string> data_roots;
};

// The variables every world's ranks get, on top of `base` (the
// coordinator's own environment, which forwards PATH, LD_LIBRARY_PATH,
// OMP_* and the operator's other settings): FLYP_JOB_ID, FLYP_COORDINATOR,
// FLYP_WORKER_TOKEN, FLYP_ARTIFACT_DIR, FLYP_ATTEMPT; FLYP_DATA_ROOTS from
// `req.data_roots` only (never inherited); FLYP_COORDINATOR_CA and
// FLYP_COORDINATOR_SERVER_NAME from `ca_file`/`server_name` only (never
// inherited: a plaintext world must not get a CA); OMP_NUM_THREADS when the
// request names threads; OMP_WAIT_POLICY=PASSIVE unless `base` sets it
// (ranks share cores with their loader threads; spinning OpenMP burnt 75% of
// a rank's CPU).
std::map<std::string, std::string> WorkerEnvironment(const LaunchRequest& req, const std::string& ca_file,
                                                     const std::string& server_name,
                                                     std::map<std::string, std::string> base);
// This process's environment, by name.
std::map<std::string, std::string> ProcessEnvironment();
// "NAME=value" entries, for execve.
std::vector<std::string> EnvironmentStrings(const std::map<std::string, std::string>& env);

// The value of FLYP_DATA_ROOTS for `roots` (which contain no ':'; the
// coordinator refuses such data roots at start).
std::string JoinDataRoots(const std::vector<std::string>& roots);

// How a world ended.
struct WorldExit {
  WorldExit(int exit_code = 0, int signal = 0, std::string detail = "")
      : exit_code(exit_code), signal(signal), detail(std::move(detail)) {}
  int exit_code = 0;   // meaningful when signal == 0
  int signal = 0;      // the launcher process was killed by this signal
  std::string detail;  // what the launcher knows beyond that, e.g. "Slurm job 42 TIMEOUT"
  std::string ToString() const;
};

// Where a world that has not exited is, as its launcher knows it.
struct WorldState {
  enum class Phase {
    kUnknown,    // the launcher cannot tell (mpirun: the ranks start at once)
    kPending,    // waiting in the launcher's own queue (a Slurm job PENDING)
    kAllocated,  // resources granted: the ranks start or run
  };
  Phase phase = Phase::kUnknown;
  std::string reason;   // CamelCase, for the job's transition, e.g. "SlurmPending"
  std::string message;  // for people, e.g. "Slurm job 42 pending (Resources)"
  bool operator==(const WorldState& o) const {
    return phase == o.phase && reason == o.reason && message == o.message;
  }
  bool operator!=(const WorldState& o) const { return !(*this == o); }
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
  // Whether a job with these resources can run on this launcher at all
  // (INVALID_ARGUMENT with the reason otherwise), so SubmitJob refuses it
  // instead of a launch failing later. Pure: no I/O. Default: any.
  virtual Status CheckResources(const v1::ResourceSpec& resources) const;
  // True when the launcher's own scheduler admits gangs (see above). Constant
  // for a launcher object. The default: false.
  virtual bool AdmitsGangs() const { return false; }
  // Non-blocking: where `world` (not exited yet) is. The default: kUnknown.
  virtual WorldState Observe(const WorldHandle& world) { return WorldState(); }
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
