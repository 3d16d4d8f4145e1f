// What every flypctl command that talks to the coordinator shares: global
// flags (--server, --token, --tls-ca, with FLYP_SERVER / FLYP_TOKEN /
// FLYP_TLS_CA as defaults), the stub, per-call contexts, and printing an RPC
// error with the exit code it maps to.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "cli/commands.h"
#include "flyp/v1/service.grpc.pb.h"

namespace flyp::cli {

struct ClientFlags {
  std::string server;
  std::string token;
  std::string tls_ca;
  std::string tls_ca_pem;                      // the contents of tls_ca, read by ParseClientFlags
  std::string output = "table";                // -o table|json|yaml
  Args positional;                             // what is left after the flags
  std::map<std::string, std::string> options;  // command-specific flags, e.g. "--rank" -> "1"
  std::set<std::string> switches;              // command-specific switches, e.g. "-f"
};

// Parses global flags plus the command's `value_flags` (take a value) and
// `switch_flags` (no value), and reads the --tls-ca file. False after
// printing the problem (an unknown flag, an unreadable CA file) to stderr.
bool ParseClientFlags(const Args& args, const std::set<std::string>& value_flags,
                      const std::set<std::string>& switch_flags, ClientFlags* out);

// A channel to flags.server: TLS with flags.tls_ca_pem as the trusted root
// when flags.tls_ca is set, plaintext otherwise.
std::shared_ptr<grpc::Channel> MakeChannel(const ClientFlags& flags);
std::unique_ptr<v1::JobService::Stub> MakeStub(const ClientFlags& flags);
// A context with the bearer token; deadline_s 0: none (streams).
std::unique_ptr<grpc::ClientContext> MakeContext(const ClientFlags& flags, int deadline_s = 30);
// Prints "flypctl: CODE: message" and returns kExitFailure (kExitInvalidSpec
// for INVALID_ARGUMENT from SubmitJob when `spec_errors`).
int ReportRpcError(const grpc::Status& s, bool spec_errors = false);

// Short state name: JOB_STATE_RUNNING -> RUNNING.
std::string StateName(int state);
// "1h02m", "35s".
std::string FormatDuration(double seconds);

}  // namespace flyp::cli
