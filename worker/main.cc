// flyp-worker: trains one job (standalone or as a rank of an MPI world
// launched by the coordinator), and small tools around the model.
#include <functional>
#include <iostream>
#include <map>

#include "common/exception_edge.h"
#include "common/exit_codes.h"
#include "worker/commands.h"
#include "worker/openblas.h"
#include "worker/text/commands.h"

namespace {

struct Command {
  std::function<int(const flyp::worker::Args&)> run;
  const char* help;
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> commands = {
      {"train", {flyp::worker::RunTrainCommand, "run a job spec (the default: flyp-worker --spec FILE)"}},
      {"encode", {flyp::worker::RunEncodeCommand, "embed images and/or texts with a model"}},
      {"tokenize",
       {[](const flyp::worker::Args& a) { return flyp::text::RunTokenizeCommand(a); },
        "print CLIP token ids of texts"}},
      {"train-bpe",
       {[](const flyp::worker::Args& a) { return flyp::text::RunTrainBpeCommand(a); },
        "learn BPE merges from captions (CLIP vocab format)"}},
  };
  return commands;
}

int Usage(std::ostream& os, int code) {
  os << "usage: flyp-worker [COMMAND] [ARGS]\n"
        "       flyp-worker --spec job.yaml         (same as: flyp-worker train --spec job.yaml)\n"
        "       mpirun -np N flyp-worker --spec job.yaml\n\ncommands:\n";
  for (const auto& [name, cmd] : Commands())
    os << "  " << name << std::string(12 - name.size(), ' ') << cmd.help << "\n";
  return code;
}

int Main(int argc, char** argv) {
  flyp::worker::Args args(argv + 1, argv + argc);
  if (args.empty()) return Usage(std::cerr, flyp::kWorkerExitUsage);
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help")
    return Usage(std::cout, flyp::kWorkerExitOk);
  // Commands that run the model: before anything else (no thread has
  // started, MPI is not initialised), re-execute with OpenBLAS's kernels
  // for this CPU when the library would fall back to generic ones
  // (device_util.h; FLYP_OPENBLAS_TUNING=0 turns it off). The process keeps
  // its pid and environment, so this is safe under mpirun.
  if (args[0] == "train" || args[0] == "encode" || args[0].rfind("--", 0) == 0) {
    flyp::worker::ReexecWithTunedOpenBlas(argv);
  }
  if (args[0].rfind("--", 0) == 0) return flyp::worker::RunTrainCommand(args);
  auto it = Commands().find(args[0]);
  if (it == Commands().end()) {
    std::cerr << "flyp-worker: unknown command '" << args[0] << "'\n";
    return Usage(std::cerr, flyp::kWorkerExitUsage);
  }
  return it->second.run(flyp::worker::Args(args.begin() + 1, args.end()));
}

}  // namespace

// An exception nothing else caught is a failure (exit 1), not an abort.
int main(int argc, char** argv) {
  return flyp::CatchAtMain("flyp-worker", flyp::kWorkerExitFailure, [&] { return Main(argc, argv); });
}
