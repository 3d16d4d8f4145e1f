// flypctl subcommands. Each takes its arguments after the subcommand name and
// returns the process exit code (see cli/exit_codes.h).
#pragma once

#include <string>
#include <vector>

namespace flyp::cli {

using Args = std::vector<std::string>;

// flypctl validate FILE: every problem of a spec, one "path: message" per
// line on stderr, exit kExitInvalidSpec; or the normalised spec as YAML on
// stdout, exit 0.
int RunValidate(const Args& args);

}  // namespace flyp::cli
