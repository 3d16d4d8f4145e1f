// SlurmLauncher: each job attempt is one Slurm batch job. Slurm places and
// admits the gang (AdmitsGangs): the coordinator counts no slots of its own
// and mirrors Slurm's queue (docs/cluster-slurm.md).
//
// Launch() writes a batch script for the attempt into the job's artifact
// folder (<artifact_dir>/slurm/attempt-<N>.sh) and submits it with
//   sbatch --parsable --job-name=flyp-<job>-a<N> --chdir=<artifact_dir>
//          --output=<world.log> --open-mode=append --no-requeue --export=ALL
//          --ntasks=<world_size> --cpus-per-task=<C> [--nodes=<M>
//          --ntasks-per-node=<ranks_per_host>] [--gpus-per-task=<G>]
//          [--time=<minutes>] [--partition/--account/--qos from the config]
// run as an argv (no shell). The script runs the world as one job step,
//   srun --mpi=pmix --kill-on-bad-exit=1 --label --ntasks=... <worker> --spec <spec>
// (srun, not mpirun inside the allocation: Slurm then starts, binds,
// signals and accounts every rank itself, with no ssh or orted daemons, and
// scancel or the time limit reaches every rank), and records srun's exit
// code in <artifact_dir>/slurm/<slurm job id>.exit, so a job Slurm has
// forgotten (MinJobAge) still reports how it ended. Everything the script
// holds is quoted for sh; it holds no secret: the worker token, FLYP_* and
// the coordinator's other settings (PATH, LD_LIBRARY_PATH, OMP_*, OMPI_MCA_*)
// reach the ranks through the environment (sbatch --export=ALL, then srun),
// never a command line. The coordinator's own SLURM_* variables (it may run
// inside an allocation itself) are not passed on, except SLURM_CONF.
//
// Before submitting attempt N, active jobs of this user named
// flyp-<job>-a<M> (M < N) with the job's artifact folder as their working
// directory are cancelled: an attempt whose sbatch returned while the
// coordinator died was never recorded, and two worlds must never write one
// folder.
//
// State: a poller thread runs `squeue -h -t all -j <ids> -o %i|%T|%r|%N`
// every poll_ms for every watched job. PENDING (with Slurm's reason) and
// RUNNING are what Observe() reports; a final state (COMPLETED, FAILED,
// CANCELLED, TIMEOUT, NODE_FAIL, ...) or a job squeue no longer knows ends
// the world: its exit code is the recorded srun exit code, else 0 for
// COMPLETED, 1 for FAILED, SIGTERM/SIGKILL for CANCELLED and SIGKILL for the
// others, with the Slurm state in WorldExit::detail (no sacct: it needs
// slurmdbd, which many sites and the tests do not run). Stop() is scancel
// (Slurm sends SIGTERM, and SIGKILL after its KillWait); a forced stop is
// `scancel --signal=KILL --full` then scancel. The poller runs both.
//
// World handles are "slurm:<job id>". A restarted coordinator adopts them
// (Recover: Recovery::kAdopted, whatever state the job is in; the poller
// then reports it as for any world), so a Slurm job outlives the
// coordinator and is neither submitted again nor restarted.
//
// Thread safety: all methods may be called from any thread. Launch(),
// Recover() and StopOrphan() block on Slurm's commands (each bounded by
// command_timeout_ms); Poll(), Stop() and Observe() only touch memory.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/subprocess.h"
#include "coordinator/launcher/launcher.h"

namespace flyp::coord {

struct SlurmLauncherOptions {
  std::string bin_dir;       // where sbatch, squeue and scancel are; empty: PATH
  std::string partition;     // sbatch --partition; empty: the cluster's default
  std::string account;       // sbatch --account; empty: the user's default
  std::string qos;           // sbatch --qos; empty: the default
  std::string mpi = "pmix";  // srun --mpi (pmix, pmix_v4, ...: what the site's MPI speaks)
  // flyp-worker as the nodes see it (shared storage or the same install).
  std::string worker_binary = "flyp-worker";
  // TLS of rank 0's reports (FLYP_COORDINATOR_CA, a PEM file the nodes can
  // read; FLYP_COORDINATOR_SERVER_NAME). Empty: plaintext / the host of the
  // coordinator address.
  std::string coordinator_ca;
  std::string coordinator_server_name;
  int64_t poll_ms = 2000;              // squeue interval
  int64_t command_timeout_ms = 30000;  // each sbatch, squeue, scancel
};

// "slurm:<id>" and back; INVALID_ARGUMENT for another handle or an id that
// is not a number.
WorldHandle SlurmHandle(const std::string& slurm_job_id);
StatusOr<std::string> SlurmJobId(const WorldHandle& world);

// `text` as one sh word: in single quotes, a quote written '\''.
std::string ShellQuote(const std::string& text);

// The batch script of `req` and the sbatch argv that submits `script_path`
// (argv[0] is sbatch, under opts.bin_dir when set). INVALID_ARGUMENT for a
// request no Slurm job can express (world_size < 1, ranks_per_host < 0).
StatusOr<std::string> SlurmBatchScript(const SlurmLauncherOptions& opts, const LaunchRequest& req);
StatusOr<std::vector<std::string>> SbatchArgv(const SlurmLauncherOptions& opts, const LaunchRequest& req,
                                              const std::string& script_path);
// "<artifact_dir>/slurm".
std::string SlurmDir(const LaunchRequest& req);

// The job id in sbatch --parsable's output ("42" or "42;cluster").
StatusOr<std::string> ParseSbatchOutput(const std::string& out);

// One row of `squeue -o %i|%T|%r|%N`.
struct SlurmJobRow {
  std::string id, state, reason, nodes;
};
// Rows by job id; INVALID_ARGUMENT naming the line for a row without 4
// fields (another Slurm's output format).
StatusOr<std::map<std::string, SlurmJobRow>> ParseSqueueOutput(const std::string& out);
// Whether a job in `state` is over (COMPLETED, FAILED, CANCELLED, TIMEOUT,
// NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, OUT_OF_MEMORY, ...).
bool IsFinalSlurmState(const std::string& state);
// Where a job that is not over is (pending or allocated, with the reason).
WorldState SlurmWorldState(const SlurmJobRow& row);
// How a job that is over (or that Slurm forgot: row == nullptr) ended.
// `exit_file`: the contents of its .exit file, if it was written; `forced`:
// a forced stop was sent.
WorldExit SlurmWorldExit(const std::string& job_id, const SlurmJobRow* row,
                         const std::optional<std::string>& exit_file, bool forced);

// Jobs (id, attempt) in `squeue -o %i|%j|%Z` output that are earlier
// attempts of `req`'s job: named flyp-<job>-a<M> with M < req.attempt and
// working in req.artifact_dir (another coordinator's job of the same id
// works elsewhere).
std::vector<std::pair<std::string, int>> StaleAttempts(const std::string& squeue_out,
                                                       const LaunchRequest& req);

class SlurmLauncher : public Launcher {
 public:
  explicit SlurmLauncher(SlurmLauncherOptions opts);
  ~SlurmLauncher() override;

  StatusOr<WorldHandle> Launch(const LaunchRequest& req) override;
  std::optional<WorldExit> Poll(const WorldHandle& world) override;
  void Stop(const WorldHandle& world, bool force) override;
  StatusOr<Recovery> Recover(const WorldHandle& world, const LaunchRequest& req, int64_t grace_ms) override;
  Status StopOrphan(const WorldHandle& world, int64_t grace_ms) override;
  bool AdmitsGangs() const override { return true; }
  WorldState Observe(const WorldHandle& world) override;

 private:
  struct World {
    std::string job_id;              // Slurm's
    std::string log_path;            // world.log
    std::string exit_path;           // <slurm dir>/<job id>.exit
    std::optional<SlurmJobRow> row;  // the last squeue row
    int missing = 0;                 // consecutive polls squeue did not list it
    int stop = 0;                    // 0 running, 1 cancel requested, 2 forced
    bool cancel_sent = false;
    bool force_sent = false;
    std::optional<WorldExit> exit;
  };

  std::string Program(const std::string& name) const;
  // The program's result; UNAVAILABLE when it could not run or timed out.
  StatusOr<ProcessResult> Run(std::vector<std::string> argv,
                              std::optional<std::vector<std::string>> env = std::nullopt) const;
  // squeue rows of `ids`; UNAVAILABLE when Slurm did not answer.
  StatusOr<std::map<std::string, SlurmJobRow>> Query(const std::vector<std::string>& ids) const;
  Status Cancel(const std::string& job_id, bool force) const;
  void CancelStaleAttempts(const LaunchRequest& req) const;
  void Watch(const WorldHandle& world, const std::string& job_id, const LaunchRequest& req)
      FLYP_EXCLUDES(mu_);
  void Wake() FLYP_EXCLUDES(mu_);
  void PollLoop() FLYP_EXCLUDES(mu_);
  void PollOnce() FLYP_EXCLUDES(mu_);

  const SlurmLauncherOptions opts_;
  Mutex mu_;
  CondVar wake_;  // the poller: a world was added or asked to stop, or shutdown
  std::map<WorldHandle, World> worlds_ FLYP_GUARDED_BY(mu_);
  bool stop_thread_ FLYP_GUARDED_BY(mu_) = false;
  bool wake_pending_ FLYP_GUARDED_BY(mu_) = false;
  std::thread poller_;
};

}  // namespace flyp::coord
