#include "cli/nodes_command.h"

#include <chrono>
#include <iostream>
#include <sstream>

#include "cli/client.h"
#include "cli/exit_codes.h"
#include "common/spec/job_spec.h"
#include "common/spec/spec_yaml.h"
#include "flyp/v1/cluster.grpc.pb.h"

namespace flyp::cli {
namespace {

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

std::string Labels(const v1::Node& n) {
  std::map<std::string, std::string> sorted(n.labels().begin(), n.labels().end());
  std::string out;
  for (const auto& [k, v] : sorted) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out.empty() ? "-" : out;
}

}  // namespace

std::string NodesTable(const std::vector<v1::Node>& nodes, int64_t now_s) {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof(line), "%-16s %-12s %-6s %-9s %-9s %-20s %-16s %s\n", "NAME", "POOL", "STATE",
                "CPU USED", "GPU USED", "JOBS", "LABELS", "REASON");
  os << line;
  for (const v1::Node& n : nodes) {
    const std::string cpu = std::to_string(n.cpu_slots_used()) + "/" + std::to_string(n.cpu_slots());
    const std::string gpu = std::to_string(n.gpus_used_size()) + "/" + std::to_string(n.gpus_size());
    std::string reason = n.reason().empty() ? "-" : n.reason();
    if (n.state() == v1::NODE_STATE_DOWN && n.has_next_probe_time()) {
      const int64_t in = std::max<int64_t>(0, n.next_probe_time().seconds() - now_s);
      reason += " (next probe in " + FormatDuration(in, 0) + ")";
    }
    std::snprintf(line, sizeof(line), "%-16s %-12s %-6s %-9s %-9s %-20s %-16s ", n.name().c_str(),
                  n.pool().c_str(), n.state() == v1::NODE_STATE_UP ? "up" : "down", cpu.c_str(), gpu.c_str(),
                  Join(n.jobs()).c_str(), Labels(n).c_str());
    os << line << reason << "\n";
  }
  return os.str();
}

int RunNodes(const std::string& pool) {
  auto session = Session::Open();
  if (!session) return kExitUsage;
  const std::string output = Globals().output;
  auto stub = v1::ClusterService::NewStub(session->channel());
  v1::ListNodesRequest req;
  req.set_pool(pool);
  v1::ListNodesResponse resp;
  grpc::Status s = stub->ListNodes(session->Context().get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s);
  if (output == "yaml") {
    std::cout << MessageToYaml(resp);
  } else if (output == "json") {
    std::cout << MessageToJson(resp);
  } else {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    std::cout << NodesTable({resp.nodes().begin(), resp.nodes().end()}, now);
  }
  return kExitOk;
}

}  // namespace flyp::cli
