// flypctl: the command-line client of flyp. main() only dispatches.
#include <cstring>
#include <functional>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/health_command.h"
#include "common/exception_edge.h"

namespace {

struct Command {
  std::function<int(const flyp::cli::Args&)> run;
  const char* help;
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> commands = {
      {"validate", {flyp::cli::RunValidate, "check a job spec and print it normalised"}},
      {"submit", {flyp::cli::RunSubmit, "validate a spec and submit it; prints the job id"}},
      {"get", {flyp::cli::RunGet, "one job as a table row or JSON"}},
      {"describe", {flyp::cli::RunDescribe, "a job's status, history and spec"}},
      {"list", {flyp::cli::RunList, "jobs, filtered by state or name"}},
      {"watch", {flyp::cli::RunWatch, "follow a job's progress until it ends"}},
      {"logs", {flyp::cli::RunLogs, "a job's world output (-f follows)"}},
      {"cancel", {flyp::cli::RunCancel, "stop a job"}},
      {"artifacts", {flyp::cli::RunArtifacts, "list a job's artifacts"}},
      {"download", {flyp::cli::RunDownload, "download one artifact"}},
      {"health", {flyp::cli::RunHealth, "check a server's gRPC health (exit 0 when serving)"}},
  };
  return commands;
}

int Usage(std::ostream& os, int code) {
  os << "usage: flypctl COMMAND [ARGS]\n\ncommands:\n";
  for (const auto& [name, cmd] : Commands())
    os << "  " << name << std::string(12 - name.size(), ' ') << cmd.help << "\n";
  os << "\nRun 'flypctl COMMAND --help' for a command's options.\n";
  return code;
}

int Main(int argc, char** argv) {
  if (argc < 2) return Usage(std::cerr, flyp::cli::kExitUsage);
  std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") return Usage(std::cout, flyp::cli::kExitOk);
  auto it = Commands().find(name);
  if (it == Commands().end()) {
    std::cerr << "flypctl: unknown command '" << name << "'\n";
    return Usage(std::cerr, flyp::cli::kExitUsage);
  }
  flyp::cli::Args args(argv + 2, argv + argc);
  return it->second.run(args);
}

}  // namespace

// An exception nothing else caught is an error message and exit 1, not an abort.
int main(int argc, char** argv) {
  return flyp::CatchAtMain("flypctl", flyp::cli::kExitFailure, [&] { return Main(argc, argv); });
}
