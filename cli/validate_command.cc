#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "common/spec/job_spec.h"

namespace flyp::cli {

int RunValidate(const Args& args) {
  if (args.size() != 1 || args[0] == "-h" || args[0] == "--help") {
    std::cerr << "usage: flypctl validate FILE\n"
                 "Checks a job spec. Prints every problem (field path: message) and exits "
              << kExitInvalidSpec << ", or prints the normalised spec (defaults filled in) and exits 0.\n";
    return kExitUsage;
  }
  SpecLoad load = LoadJobSpecFile(args[0]);
  if (!load.ok()) {
    std::cerr << load.ErrorText();
    std::cerr << args[0] << ": " << load.errors.size() << " problem" << (load.errors.size() == 1 ? "" : "s")
              << "\n";
    return kExitInvalidSpec;
  }
  std::cout << JobSpecToYaml(load.spec);
  return kExitOk;
}

}  // namespace flyp::cli
