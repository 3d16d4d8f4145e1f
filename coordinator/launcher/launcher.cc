#include "coordinator/launcher/launcher.h"

#include <csignal>
#include <cstring>

namespace flyp::coord {

std::string WorldExit::ToString() const {
  if (signal)
    return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

ExitClass ClassifyExit(const WorldExit& exit, bool reported_permanent) {
  if (exit.signal == 0 && exit.exit_code == 0) return ExitClass::kSucceeded;
  if (reported_permanent) return ExitClass::kPermanent;
  if (exit.signal == 0 && (exit.exit_code == kWorkerExitInvalidSpec || exit.exit_code == kWorkerExitBadData ||
                           exit.exit_code == kWorkerExitUntrustedCoordinator)) {
    return ExitClass::kPermanent;
  }
  return ExitClass::kRetryable;
}

int64_t BackoffMillis(int restart, int64_t base_ms, int64_t max_ms) {
  int64_t d = base_ms;
  for (int i = 1; i < restart && d < max_ms; ++i) d *= 2;
  return d < max_ms ? d : max_ms;
}

}  // namespace flyp::coord
