// LaunchedWorld: what the program that started this process says about the
// world it belongs to, read from the environment that program sets (these
// are the launchers' variables, not flyp's, so they are not in common/env.h;
// this file is the one place that reads them):
//
//   Open MPI's mpirun   OMPI_COMM_WORLD_SIZE, _RANK, _LOCAL_RANK, _LOCAL_SIZE
//   Slurm's srun        SLURM_STEP_NUM_TASKS, SLURM_PROCID, SLURM_LOCALID,
//                       SLURM_STEP_TASKS_PER_NODE with SLURM_NODEID
//   a PMIx server       PMIX_RANK (srun --mpi=pmix, prterun): the world's size
//                       is only known once MPI has started
//
// The first that is present wins, in that order: mpirun inside a Slurm
// allocation starts its daemons with srun, so its ranks also inherit a step's
// SLURM_ variables, which then describe the daemons, not the ranks. A batch
// script's own process (sbatch) is no step task: it has SLURM_PROCID but no
// SLURM_STEP_NUM_TASKS, and counts as not launched.
//
// CheckLaunchedWorld() is the guard against the failure this exists for: N
// tasks that each start a world of 1 (srun without an MPI plugin that joins
// them) train N separate models into the same folder and all "succeed".
//
// Thread safety: pure functions.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"

namespace flyp::dist {

struct LaunchedWorld {
  // "mpirun", "srun" or "pmix"; empty when no launcher started this process.
  std::string launcher;
  // What the launcher's variables say, e.g. "SLURM_STEP_NUM_TASKS=2", for
  // error messages.
  std::string evidence;
  int size = 1;  // 0: launched, but the size is only known after MPI_Init (PMIx)
  int rank = 0;
  int local_rank = 0;  // among the ranks on this host
  int local_size = 1;  // ranks on this host (1 when unknown)

  bool launched() const { return !launcher.empty(); }
  // A world of more than one process, or one whose size MPI must tell.
  bool needs_mpi() const { return launched() && size != 1; }
};

// Reads the variables through `getenv` (tests pass a map's lookup).
// INVALID_ARGUMENT naming the variable when one that is present is not a
// number in range (a rank outside the size, a size below 1), or when
// SLURM_STEP_TASKS_PER_NODE cannot be read.
using EnvLookup = std::function<const char*(const char*)>;
StatusOr<LaunchedWorld> DetectLaunchedWorld(const EnvLookup& getenv);
// The process environment's.
StatusOr<LaunchedWorld> DetectLaunchedWorld();

// OK when MPI's world (`mpi_size` processes, this one `mpi_rank`) is the one
// the launcher started. FAILED_PRECONDITION otherwise, saying what the
// launcher started, what MPI joined and what to change (srun --mpi=pmix).
Status CheckLaunchedWorld(const LaunchedWorld& launched, int mpi_size, int mpi_rank);

// SLURM_STEP_TASKS_PER_NODE ("2(x3),1": 2 tasks on each of 3 nodes, then 1)
// expanded to one count per node; INVALID_ARGUMENT when malformed or longer
// than kMaxSlurmNodes entries.
inline constexpr int kMaxSlurmNodes = 65536;
StatusOr<std::vector<int>> ParseSlurmTasksPerNode(const std::string& text);

}  // namespace flyp::dist
