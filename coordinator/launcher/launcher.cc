#include "coordinator/launcher/launcher.h"

#include <csignal>
#include <cstring>

namespace flyp::coord {

std::string_view WorldHandle::kind() const {
  const size_t colon = text_.find(':');
  return colon == std::string::npos ? std::string_view() : std::string_view(text_).substr(0, colon);
}

std::string_view WorldHandle::id() const {
  const size_t colon = text_.find(':');
  return colon == std::string::npos ? std::string_view(text_) : std::string_view(text_).substr(colon + 1);
}

std::ostream& operator<<(std::ostream& os, const WorldHandle& w) {
  return os << (w.empty() ? "<no world>" : w.text());
}

StatusOr<Recovery> Launcher::Recover(const WorldHandle& world, const LaunchRequest& req, int64_t grace_ms) {
  FLYP_RETURN_IF_ERROR(StopOrphan(world, grace_ms));
  return Recovery::kGone;
}

std::string WorldExit::ToString() const {
  if (signal)
    return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

ExitClass ClassifyExit(const WorldExit& exit, bool reported_permanent) {
  if (exit.signal == 0 && exit.exit_code == kWorkerExitOk) return ExitClass::kSucceeded;
  if (reported_permanent) return ExitClass::kPermanent;
  if (exit.signal == 0 && IsPermanentWorkerExit(exit.exit_code)) return ExitClass::kPermanent;
  return ExitClass::kRetryable;
}

std::string JoinDataRoots(const std::vector<std::string>& roots) {
  std::string out;
  for (const std::string& r : roots) out += (out.empty() ? "" : ":") + r;
  return out;
}

int64_t BackoffMillis(int restart, int64_t base_ms, int64_t max_ms) {
  int64_t d = base_ms;
  for (int i = 1; i < restart && d < max_ms; ++i) d *= 2;
  return d < max_ms ? d : max_ms;
}

}  // namespace flyp::coord
