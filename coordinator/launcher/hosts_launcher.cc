#include "coordinator/launcher/hosts_launcher.h"

#include <algorithm>

namespace flyp::coord {

StatusOr<WorldHandle> HostsLauncher::Launch(const LaunchRequest& req) {
  if (!pools_.count(req.pool)) {
    return FailedPreconditionError("hosts launcher: no settings for pool '" + req.pool + "'");
  }
  if (req.ranks.size() != static_cast<size_t>(req.world_size)) {
    return FailedPreconditionError("hosts launcher: " + req.job_id + " has no host for each of its " +
                                   std::to_string(req.world_size) + " ranks");
  }
  for (const RankHost& r : req.ranks) {
    if (r.address.empty())
      return FailedPreconditionError("hosts launcher: host '" + r.host + "' has no address");
  }
  return LocalLauncher::Launch(req);
}

void HostsLauncher::AppendWorldArgs(const LaunchRequest& req, std::vector<std::string>* argv) const {
  auto it = pools_.find(req.pool);
  if (it == pools_.end()) return;  // Launch refuses it
  const HostsPoolSettings& p = it->second;
  auto mca = [argv](const std::string& name, const std::string& value) {
    argv->insert(argv->end(), {"--mca", name, value});
  };
  mca("plm_rsh_agent", p.rsh_agent);
  mca("plm_rsh_no_tree_spawn", "1");
  if (!p.oob_interface.empty()) mca("oob_tcp_if_include", p.oob_interface);
  if (!p.btl_interface.empty()) mca("btl_tcp_if_include", p.btl_interface);
  for (const auto& [name, value] : p.mca) mca(name, value);
}

void HostsLauncher::AppendRankArgs(const LaunchRequest& req, int rank, std::vector<std::string>* argv) const {
  const std::string& address = req.ranks.at(static_cast<size_t>(rank)).address;
  const long on_host = std::count_if(req.ranks.begin(), req.ranks.end(),
                                     [&](const RankHost& r) { return r.address == address; });
  argv->push_back("--host");
  argv->push_back(address + ":" + std::to_string(on_host));
}

}  // namespace flyp::coord
