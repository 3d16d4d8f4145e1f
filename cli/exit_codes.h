// flypctl exit codes, stable for scripts.
#pragma once

namespace flyp::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;      // the operation failed (RPC error, job failed, ...)
constexpr int kExitUsage = 2;        // bad command line
constexpr int kExitInvalidSpec = 3;  // the job spec has problems (printed one per line)

}  // namespace flyp::cli
