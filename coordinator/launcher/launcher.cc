#include "coordinator/launcher/launcher.h"

#include <csignal>
#include <cstring>

#include "common/env.h"

extern char** environ;

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
  std::string s =
      signal ? std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")"
             : "exit code " + std::to_string(exit_code);
  return detail.empty() ? s : s + " (" + detail + ")";
}

std::map<std::string, std::string> WorkerEnvironment(const LaunchRequest& req, const std::string& ca_file,
                                                     const std::string& server_name,
                                                     std::map<std::string, std::string> env) {
  env[env::kJobId.name] = req.job_id;
  env[env::kCoordinator.name] = req.coordinator_address;
  env[env::kWorkerToken.name] = req.worker_token;
  env[env::kArtifactDir.name] = req.artifact_dir;
  env[env::kAttempt.name] = std::to_string(req.attempt);
  // Never the coordinator's own: the ranks are confined to this job's roots.
  env.erase(env::kDataRoots.name);
  if (!req.data_roots.empty()) env[env::kDataRoots.name] = JoinDataRoots(req.data_roots);
  env.erase(env::kCoordinatorCa.name);
  env.erase(env::kCoordinatorName.name);
  if (!ca_file.empty()) env[env::kCoordinatorCa.name] = ca_file;
  if (!server_name.empty()) env[env::kCoordinatorName.name] = server_name;
  if (req.threads_per_rank > 0) env["OMP_NUM_THREADS"] = std::to_string(req.threads_per_rank);
  env.emplace("OMP_WAIT_POLICY", "PASSIVE");
  return env;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env.emplace(std::string(*e, static_cast<size_t>(eq - *e)), eq + 1);
  }
  return env;
}

std::vector<std::string> EnvironmentStrings(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

ExitClass ClassifyExit(const WorldExit& exit, bool reported_permanent) {
  if (exit.signal == 0 && exit.exit_code == kWorkerExitOk) return ExitClass::kSucceeded;
  if (reported_permanent) return ExitClass::kPermanent;
  if (exit.signal == 0 && IsPermanentWorkerExit(exit.exit_code)) return ExitClass::kPermanent;
  return ExitClass::kRetryable;
}

Status Launcher::CheckResources(const v1::ResourceSpec&) const { return Status::Ok(); }

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
