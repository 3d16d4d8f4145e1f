// flypctl: the command-line client of flyp. main() only runs the command
// line; every command is declared in program.cc.
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "common/flags.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // `flypctl logs | head`: a failed write, not a kill
  return flyp::RunProgram(flyp::cli::FlypctlProgram(), std::vector<std::string>(argv + 1, argv + argc),
                          std::cout, std::cerr);
}
