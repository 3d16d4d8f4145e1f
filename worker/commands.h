// flyp-worker subcommands. Each takes the arguments after its name and
// returns the process exit code (common/exit_codes.h).
#pragma once

#include <string>
#include <vector>

namespace flyp::worker {

using Args = std::vector<std::string>;

// flyp-worker [train] --spec FILE [--output DIR] [--device cpu|cuda] [--no-resume]
int RunTrainCommand(const Args& args);

// flyp-worker encode --spec FILE [--images PATH...] [--texts FILE] --out FILE [--similarity]
int RunEncodeCommand(const Args& args);

}  // namespace flyp::worker
