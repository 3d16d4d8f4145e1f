#include "cli/health_command.h"

#include <grpcpp/grpcpp.h>

#include <iostream>

#include "cli/client.h"
#include "cli/exit_codes.h"
#include "common/grpc_client.h"
#include "common/numbers.h"

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

int RunHealth(const Args& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << "usage: flypctl health [--server HOST:PORT] [--tls-ca FILE] [--service NAME] [--timeout "
                   "SECONDS]\n"
                   "Checks grpc.health.v1; exit 0 when SERVING.\n";
      return kExitOk;
    }
  }
  ClientFlags flags;
  if (!ParseClientFlags(args, {"--service", "--timeout"}, {}, &flags)) return kExitUsage;
  if (!flags.positional.empty()) {
    std::cerr << "flypctl health: unexpected argument '" << flags.positional[0] << "'\n";
    return kExitUsage;
  }
  double timeout_s = 5;
  if (flags.options.count("--timeout")) {
    StatusOr<double> t = ParseDouble(flags.options["--timeout"], "--timeout", 0);
    if (!t.ok()) {
      std::cerr << "flypctl health: " << t.status().message() << " (seconds)\n";
      return kExitUsage;
    }
    timeout_s = *t;
  }
  int s = -1;
  grpc::Status status = CheckHealth(MakeChannel(flags), flags.options["--service"],
                                    std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)), &s);
  if (!status.ok()) return ReportRpcError(status);
  std::cout << StatusName(s) << "\n";
  return s == 1 ? kExitOk : kExitFailure;
}

}  // namespace flyp::cli
