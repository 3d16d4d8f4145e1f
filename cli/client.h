// What every flypctl command that talks to the coordinator shares: the
// global flags, the connection they resolve to (flags > environment >
// context, cli/config.h), the stub, per-call contexts, and printing an RPC
// error with the exit code it maps to.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/flags.h"
#include "common/status.h"
#include "flyp/v1/service.grpc.pb.h"

namespace flyp::cli {

// The global flags as given on the command line (empty: not given).
struct GlobalOptions {
  std::string server;
  std::string token;
  std::string token_file;
  std::string tls_ca;
  std::string context;
  std::string output = "table";  // -o table|json|yaml
};
// The process's global options, bound by DeclareGlobalFlags.
GlobalOptions& Globals();
void DeclareGlobalFlags(FlagSet& f, GlobalOptions* o);

// Where and how to reach the coordinator.
struct Connection {
  std::string server;
  std::string token;
  std::string tls_ca;      // the CA file, empty: plaintext
  std::string tls_ca_pem;  // its contents
  std::string context;     // the context that supplied settings, if any
};
// Resolves the global options: flags, then FLYP_SERVER / FLYP_TOKEN /
// FLYP_TOKEN_FILE / FLYP_TLS_CA, then the context, then the defaults. A
// token file or CA file that cannot be read is an error naming where the
// path came from ("--tls-ca", "FLYP_TLS_CA", "context 'prod' tls-ca"), never
// a silent fallback to plaintext.
StatusOr<Connection> ResolveConnection(const GlobalOptions& g);

// A connection with its channel and stub.
class Session {
 public:
  // Resolves Globals(); prints the problem to stderr and returns nullptr
  // when it cannot.
  static std::unique_ptr<Session> Open();
  explicit Session(Connection c);

  const Connection& connection() const { return conn_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::JobService::Stub* stub() const { return stub_.get(); }
  // A context with the bearer token; deadline_s 0: none (streams).
  std::unique_ptr<grpc::ClientContext> Context(int deadline_s = 30) const;

 private:
  Connection conn_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

// Prints "flypctl: CODE: message" and returns kExitFailure (kExitInvalidSpec
// for INVALID_ARGUMENT from SubmitJob when `spec_errors`).
int ReportRpcError(const grpc::Status& s, bool spec_errors = false);

}  // namespace flyp::cli
