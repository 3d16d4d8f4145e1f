// flypctl: the command-line client of flyp. main() only dispatches.
#include <cstring>
#include <functional>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace {

struct Command {
  std::function<int(const flyp::cli::Args&)> run;
  const char* help;
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> commands = {
      {"validate", {flyp::cli::RunValidate, "check a job spec and print it normalised"}},
  };
  return commands;
}

int Usage(std::ostream& os, int code) {
  os << "usage: flypctl COMMAND [ARGS]\n\ncommands:\n";
  for (const auto& [name, cmd] : Commands()) os << "  " << name << std::string(12 - name.size(), ' ') << cmd.help << "\n";
  os << "\nRun 'flypctl COMMAND --help' for a command's options.\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
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
