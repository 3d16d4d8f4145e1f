// RunProcess: runs a program to completion and collects what it printed —
// the one way flyp runs a short-lived command (Slurm's sbatch, squeue and
// scancel; probes). The program is started with fork/execve from an argv
// vector, never through a shell, so no argument is ever interpreted; it gets
// its own process group, /dev/null as stdin, and the environment given.
//
// Bounded: the command is killed (SIGKILL to its process group) once
// `timeout` passes, and at most `max_output_bytes` of each of stdout and
// stderr are kept (the rest is read and dropped, so the program never blocks
// on a full pipe).
//
// Errors: FAILED_PRECONDITION when the program cannot be executed (not
// found, not executable: the message names it), UNAVAILABLE when the process
// cannot be started (fork, pipe), INVALID_ARGUMENT for an empty argv. A
// program that ran is OK whatever its exit status; the caller reads
// ProcessResult.
//
// Thread safety: may be called from any thread, concurrently (everything the
// child needs is built before fork, which is safe in a threaded process).
// Blocks until the program exits or is killed.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace flyp {

struct ProcessOptions {
  // argv[0] is a path, or a name searched in the PATH of `env` (of this
  // process when `env` is unset).
  std::vector<std::string> argv;
  // "NAME=value" entries; unset: this process's environment.
  std::optional<std::vector<std::string>> env;
  std::string working_dir;  // empty: this process's
  std::chrono::milliseconds timeout{30000};
  size_t max_output_bytes = size_t{1} << 20;  // per stream
};

struct ProcessResult {
  int exit_code = -1;      // when signal == 0
  int signal = 0;          // killed by this signal (SIGKILL after a timeout)
  bool timed_out = false;  // killed because `timeout` passed
  std::string out, err;    // stdout, stderr (each cut at max_output_bytes)
  bool ok() const { return signal == 0 && exit_code == 0; }
  // "exit code 1: <first line of err>", "killed by signal 9 after the 30 s timeout", ...
  std::string Describe() const;
};

StatusOr<ProcessResult> RunProcess(const ProcessOptions& options);

// The absolute path of `name` in the ':'-separated `path_list` (the first
// executable regular file), or `name` itself when it contains a '/'.
// NOT_FOUND naming the program and the list otherwise.
StatusOr<std::string> FindProgram(const std::string& name, const std::string& path_list);

// "ssh -o BatchMode=yes" -> {"ssh", "-o", "BatchMode=yes"}: split at runs of
// spaces and tabs, no quoting (the way Open MPI splits plm_rsh_agent).
std::vector<std::string> SplitWords(const std::string& text);

}  // namespace flyp
