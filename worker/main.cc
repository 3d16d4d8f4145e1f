// flyp-worker: trains one job (standalone or as a rank of an MPI world
// launched by the coordinator), and small tools around the model. main()
// only runs the command line; the commands declare their flags.
#include <iostream>

#include "common/exception_edge.h"
#include "common/exit_codes.h"
#include "common/flags.h"
#include "common/version.h"
#include "worker/commands.h"
#include "worker/openblas.h"
#include "worker/text/commands.h"

namespace {

flyp::Program WorkerProgram() {
  flyp::Program p;
  p.name = "flyp-worker";
  p.summary = "trains a flyp job on this rank, and small tools around the model";
  p.description =
      "Standalone: flyp-worker --spec job.yaml. A data-parallel world of N ranks: mpirun -np N flyp-worker "
      "--spec "
      "job.yaml (what the coordinator's launchers run).";
  p.version = flyp::VersionString();
  p.default_command = "train";
  p.usage_exit = flyp::kWorkerExitUsage;
  p.commands = {flyp::worker::TrainCommand(), flyp::worker::EncodeCommand(),
                flyp::text::TokenizeCommand(std::cout, std::cerr),
                flyp::text::TrainBpeCommand(std::cout, std::cerr)};
  return p;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Commands that run the model: before anything else (no thread has
  // started, MPI is not initialised), re-execute with OpenBLAS's kernels
  // for this CPU when the library would fall back to generic ones
  // (device_util.h; FLYP_OPENBLAS_TUNING=0 turns it off). The process keeps
  // its pid and environment, so this is safe under mpirun.
  if (!args.empty() && (args[0] == "train" || args[0] == "encode" || args[0].rfind("--", 0) == 0) &&
      args[0] != "--help" && args[0] != "--version" && args[0] != "--help-markdown") {
    flyp::worker::ReexecWithTunedOpenBlas(argv);
  }
  return flyp::RunProgram(WorkerProgram(), args, std::cout, std::cerr);
}

}  // namespace

// An exception nothing else caught is a failure (exit 1), not an abort.
int main(int argc, char** argv) {
  return flyp::CatchAtMain("flyp-worker", flyp::kWorkerExitFailure, [&] { return Main(argc, argv); });
}
