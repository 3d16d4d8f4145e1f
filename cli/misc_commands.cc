// flypctl health / version / completion.
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "common/grpc_client.h"
#include "common/spec/spec_yaml.h"
#include "common/version.h"

namespace flyp::cli {
namespace {

const char* StatusName(int s) {
  switch (s) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
  }
  return "MALFORMED";
}

}  // namespace

int RunHealth(const HealthOptions& o) {
  if (o.timeout_s < 0) {
    std::cerr << "flypctl health: --timeout must be >= 0 (seconds)\n";
    return kExitUsage;
  }
  auto session = Session::Open();
  if (!session) return kExitUsage;
  int s = -1;
  grpc::Status status = CheckHealth(session->channel(), o.service,
                                    std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)), &s);
  if (!status.ok()) return ReportRpcError(status);
  std::cout << StatusName(s) << "\n";
  return s == 1 ? kExitOk : kExitFailure;
}

int RunVersion() {
  v1::ServerInfo info;
  grpc::Status status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "not asked");
  std::string server;
  if (auto session = Session::Open()) {
    server = session->connection().server;
    status = session->stub()->GetServerInfo(session->Context(5).get(), v1::GetServerInfoRequest(), &info);
  }
  if (Globals().output != "table") {
    v1::ServerInfo client;
    client.set_version(BuildVersion());
    client.set_git_sha(BuildGitSha());
    const std::string c = Globals().output == "yaml" ? MessageToYaml(client) : MessageToJson(client);
    const std::string s =
        status.ok() ? (Globals().output == "yaml" ? MessageToYaml(info) : MessageToJson(info)) : "";
    if (Globals().output == "yaml") {
      std::cout << "client:\n";
      for (size_t i = 0; i < c.size();) {
        const size_t nl = c.find('\n', i);
        std::cout << "  " << c.substr(i, nl - i + 1);
        i = nl + 1;
      }
      if (status.ok()) {
        std::cout << "server:\n";
        for (size_t i = 0; i < s.size();) {
          const size_t nl = s.find('\n', i);
          std::cout << "  " << s.substr(i, nl - i + 1);
          i = nl + 1;
        }
      }
    } else {
      std::string cj = c, sj = s;
      while (!cj.empty() && cj.back() == '\n') cj.pop_back();
      while (!sj.empty() && sj.back() == '\n') sj.pop_back();
      std::cout << "{\"client\": " << cj << (status.ok() ? ", \"server\": " + sj : "") << "}\n";
    }
  } else {
    std::cout << "flypctl " << VersionString() << "\n";
    if (status.ok()) {
      std::cout << "server  " << info.version() << " (git " << info.git_sha() << ") at " << server
                << (info.launcher().empty() ? "" : ", launcher " + info.launcher()) << "\n";
    }
  }
  if (!status.ok() && !server.empty()) {
    std::cerr << "server  " << server << " not reachable: " << status.error_message() << "\n";
  }
  return kExitOk;
}

int RunCompletion(const std::string& shell) {
  if (shell == "bash") {
    std::cout << BashCompletion(FlypctlProgram());
  } else if (shell == "zsh") {
    std::cout << ZshCompletion(FlypctlProgram());
  } else {
    std::cerr << "flypctl completion: unknown shell '" << shell << "' (bash or zsh)\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace flyp::cli
