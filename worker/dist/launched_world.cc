#include "worker/dist/launched_world.h"

#include <cstdlib>
#include <string_view>

#include "common/numbers.h"

namespace flyp::dist {
namespace {

// A variable's value; nullptr when unset or empty.
const char* Get(const EnvLookup& getenv, const char* name) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

// `name` as an integer in [min, max]; `fallback` when unset.
StatusOr<int> Int(const EnvLookup& getenv, const char* name, int fallback, int min, int max) {
  const char* v = Get(getenv, name);
  if (v == nullptr) return fallback;
  return ParseInt32(v, name, min, max);
}

constexpr int kMaxWorld = 1 << 24;

Status CheckRanks(const LaunchedWorld& w, const char* rank_var) {
  if (w.size > 0 && w.rank >= w.size) {
    return InvalidArgumentError(std::string(rank_var) + "=" + std::to_string(w.rank) +
                                " is not below the world size " + std::to_string(w.size) + " (" + w.evidence +
                                ")");
  }
  if (w.local_rank >= w.local_size) {
    return InvalidArgumentError("local rank " + std::to_string(w.local_rank) +
                                " is not below the ranks on this host (" + std::to_string(w.local_size) +
                                ")");
  }
  return Status::Ok();
}

StatusOr<LaunchedWorld> FromMpirun(const EnvLookup& getenv) {
  LaunchedWorld w;
  w.launcher = "mpirun";
  FLYP_ASSIGN_OR_RETURN(w.size, Int(getenv, "OMPI_COMM_WORLD_SIZE", 1, 1, kMaxWorld));
  FLYP_ASSIGN_OR_RETURN(w.rank, Int(getenv, "OMPI_COMM_WORLD_RANK", 0, 0, kMaxWorld));
  FLYP_ASSIGN_OR_RETURN(w.local_rank, Int(getenv, "OMPI_COMM_WORLD_LOCAL_RANK", 0, 0, kMaxWorld));
  FLYP_ASSIGN_OR_RETURN(w.local_size, Int(getenv, "OMPI_COMM_WORLD_LOCAL_SIZE", 1, 1, kMaxWorld));
  w.evidence = "OMPI_COMM_WORLD_SIZE=" + std::to_string(w.size);
  FLYP_RETURN_IF_ERROR(CheckRanks(w, "OMPI_COMM_WORLD_RANK"));
  return w;
}

StatusOr<LaunchedWorld> FromSrun(const EnvLookup& getenv) {
  LaunchedWorld w;
  w.launcher = "srun";
  FLYP_ASSIGN_OR_RETURN(w.size, Int(getenv, "SLURM_STEP_NUM_TASKS", 1, 1, kMaxWorld));
  FLYP_ASSIGN_OR_RETURN(w.rank, Int(getenv, "SLURM_PROCID", 0, 0, kMaxWorld));
  FLYP_ASSIGN_OR_RETURN(w.local_rank, Int(getenv, "SLURM_LOCALID", 0, 0, kMaxWorld));
  w.evidence = "SLURM_STEP_NUM_TASKS=" + std::to_string(w.size);
  if (const char* per_node = Get(getenv, "SLURM_STEP_TASKS_PER_NODE")) {
    StatusOr<std::vector<int>> counts = ParseSlurmTasksPerNode(per_node);
    if (!counts.ok()) return counts.status().WithContext("SLURM_STEP_TASKS_PER_NODE");
    FLYP_ASSIGN_OR_RETURN(const int node,
                          Int(getenv, "SLURM_NODEID", 0, 0, static_cast<int>(counts->size()) - 1));
    w.local_size = (*counts)[static_cast<size_t>(node)];
  } else {
    w.local_size = w.local_rank + 1;  // at least this many; unknown beyond
  }
  FLYP_RETURN_IF_ERROR(CheckRanks(w, "SLURM_PROCID"));
  return w;
}

StatusOr<LaunchedWorld> FromPmix(const EnvLookup& getenv) {
  LaunchedWorld w;
  w.launcher = "pmix";
  w.size = 0;  // PMIx publishes the job size through its API, not the environment
  FLYP_ASSIGN_OR_RETURN(w.rank, Int(getenv, "PMIX_RANK", 0, 0, kMaxWorld));
  w.evidence = "PMIX_RANK=" + std::to_string(w.rank);
  return w;
}

}  // namespace

StatusOr<std::vector<int>> ParseSlurmTasksPerNode(const std::string& text) {
  std::vector<int> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (comma != std::string_view::npos && rest.empty())
      return InvalidArgumentError("'" + QuoteForError(text) + "' ends with ','");
    int repeat = 1;
    if (const size_t open = item.find("(x"); open != std::string_view::npos) {
      if (item.back() != ')')
        return InvalidArgumentError("expected N or N(xM) items, got '" + QuoteForError(text) + "'");
      FLYP_ASSIGN_OR_RETURN(repeat, ParseInt32(item.substr(open + 2, item.size() - open - 3), "repeat count",
                                               1, kMaxSlurmNodes));
      item = item.substr(0, open);
    }
    FLYP_ASSIGN_OR_RETURN(const int tasks, ParseInt32(item, "tasks per node", 1, kMaxWorld));
    if (out.size() + static_cast<size_t>(repeat) > static_cast<size_t>(kMaxSlurmNodes)) {
      return InvalidArgumentError("more than " + std::to_string(kMaxSlurmNodes) + " nodes in '" +
                                  QuoteForError(text) + "'");
    }
    out.insert(out.end(), static_cast<size_t>(repeat), tasks);
  }
  if (out.empty()) return InvalidArgumentError("no tasks per node in ''");
  return out;
}

StatusOr<LaunchedWorld> DetectLaunchedWorld(const EnvLookup& getenv) {
  if (Get(getenv, "OMPI_COMM_WORLD_SIZE")) return FromMpirun(getenv);
  if (Get(getenv, "SLURM_STEP_NUM_TASKS")) return FromSrun(getenv);
  if (Get(getenv, "PMIX_RANK")) return FromPmix(getenv);
  return LaunchedWorld();
}

StatusOr<LaunchedWorld> DetectLaunchedWorld() {
  return DetectLaunchedWorld([](const char* name) -> const char* { return std::getenv(name); });
}

Status CheckLaunchedWorld(const LaunchedWorld& launched, int mpi_size, int mpi_rank) {
  // With PMIx alone the size is MPI's to tell; the rank must still agree.
  const bool size_ok = launched.size == 0 || launched.size == mpi_size;
  if (size_ok && launched.rank == mpi_rank) return Status::Ok();
  std::string what = launched.launcher + " started this process as rank " + std::to_string(launched.rank) +
                     (launched.size > 0 ? " of " + std::to_string(launched.size) : "") + " (" +
                     launched.evidence + "), but MPI joined it into a world of " + std::to_string(mpi_size) +
                     " as rank " + std::to_string(mpi_rank);
  if (mpi_size == 1) what += ": every task would train a separate model into the same folder";
  std::string fix;
  if (launched.launcher == "srun") {
    fix =
        "; run the tasks with `srun --mpi=pmix` (or set MpiDefault=pmix in slurm.conf) so that MPI joins "
        "them into one world";
  } else if (launched.launcher == "pmix") {
    fix = "; this MPI library did not connect to the PMIx server that started the process";
  } else {
    fix = "; the flyp-worker binary and mpirun must come from the same MPI installation";
  }
  return FailedPreconditionError(what + fix);
}

}  // namespace flyp::dist
