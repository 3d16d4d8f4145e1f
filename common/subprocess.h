// RunProcess: runs a program to completion with a deadline and a bounded
// capture of its output — for short commands the coordinator depends on
// (the health probe `<rsh agent> <host> true`), never for worlds (those are
// the launchers' long-lived children).
//
// The program is started with fork/execvp from an argv vector (never a
// shell), in a process group of its own, with stdin from /dev/null and
// stdout and stderr together into a pipe. At the deadline the whole group
// gets SIGKILL (an ssh waiting for a lost host, and anything it started).
//
// Thread safety: may be called from any thread; it blocks the caller until
// the program ended or was killed (at most the timeout plus a moment).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"

namespace flyp {

struct ProcessOutcome {
  int exit_code = 0;       // meaningful when signal == 0
  int signal = 0;          // killed by this signal (SIGKILL after a timeout)
  bool timed_out = false;  // killed at the deadline
  std::string output;      // stdout and stderr, at most the budget (the rest is dropped)
  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exit code 255: ssh: connect to host ...", "no answer within 5000 ms", ...
  std::string Describe() const;
};

// INVALID_ARGUMENT for an empty argv; UNAVAILABLE when the system cannot
// start it (fork/pipe failed); otherwise how it ended (a program that cannot
// be executed ends with exit code 127 and says why in `output`).
StatusOr<ProcessOutcome> RunProcess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                    size_t max_output = 4096);

// "ssh -o BatchMode=yes" -> {"ssh", "-o", "BatchMode=yes"}: split at runs of
// spaces and tabs, no quoting (the way Open MPI splits plm_rsh_agent).
std::vector<std::string> SplitWords(const std::string& text);

}  // namespace flyp
