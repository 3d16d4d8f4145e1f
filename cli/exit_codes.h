// flypctl exit codes, stable for scripts. A contract between the CLI and its
// users, separate from the worker <-> launcher one (common/exit_codes.h):
// the numbers 0..3 agree on purpose, but here they say what flypctl did.
#pragma once

namespace flyp::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;      // the operation failed (RPC error, job failed, ...)
constexpr int kExitUsage = 2;        // bad command line
constexpr int kExitInvalidSpec = 3;  // the job spec has problems (printed one per line)

}  // namespace flyp::cli
