// flypctl: the command-line client of flyp. main() only runs the command
// line; every command is declared in program.cc.
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "common/exception_edge.h"
#include "common/flags.h"

// An exception nothing else caught is an error message and exit 1, not an abort.
int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // `flypctl logs | head`: a failed write, not a kill
  return flyp::CatchAtMain("flypctl", flyp::cli::kExitFailure, [&] {
    return flyp::RunProgram(flyp::cli::FlypctlProgram(), std::vector<std::string>(argv + 1, argv + argc),
                            std::cout, std::cerr);
  });
}
