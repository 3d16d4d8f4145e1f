#include "cli/client.h"

#include <iostream>

#include "cli/config.h"
#include "cli/exit_codes.h"
#include "common/env.h"
#include "common/file_util.h"
#include "common/grpc_client.h"

namespace flyp::cli {
namespace {

// The first line of a token file, without surrounding whitespace.
StatusOr<std::string> ReadToken(const std::string& path, const std::string& origin) {
  StatusOr<std::string> text = ReadFileToString(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status().WithContext(origin);
  std::string t = text->substr(0, text->find('\n'));
  const size_t b = t.find_first_not_of(" \t\r");
  const size_t e = t.find_last_not_of(" \t\r");
  if (b == std::string::npos) return InvalidArgumentError(origin + ": '" + path + "' holds no token");
  return t.substr(b, e - b + 1);
}

}  // namespace

GlobalOptions& Globals() {
  static GlobalOptions options;
  return options;
}

void DeclareGlobalFlags(FlagSet& f, GlobalOptions* o) {
  f.String("server", &o->server, "HOST:PORT",
           "the coordinator (default: $FLYP_SERVER, the context's, localhost:50051)");
  f.String("token", &o->token, "TOKEN", "bearer token (default: $FLYP_TOKEN); prefer --token-file");
  f.String("token-file", &o->token_file, "FILE",
           "file whose first line is the bearer token (default: $FLYP_TOKEN_FILE, the context's)");
  f.String(
      "tls-ca", &o->tls_ca, "PEM",
      "CA bundle to verify the coordinator over TLS (default: $FLYP_TLS_CA, the context's; none: plaintext)");
  f.String("context", &o->context, "NAME",
           "the context of the config file to use (default: $FLYP_CONTEXT, its current-context)");
  f.Custom("output", "FORMAT", "output format: table, json or yaml (default table)",
           [o](const std::string& v) {
             if (v != "table" && v != "json" && v != "yaml") {
               return InvalidArgumentError("-o must be table, json or yaml (got '" + v + "')");
             }
             o->output = v;
             return Status::Ok();
           })
      .Short('o');
}

StatusOr<Connection> ResolveConnection(const GlobalOptions& g) {
  Connection c;
  // The context, when one is named or current.
  const Context* ctx = nullptr;
  CliConfig config;
  std::string context = !g.context.empty() ? g.context : EnvString(env::kContext);
  {
    FLYP_ASSIGN_OR_RETURN(config, LoadCliConfig(DefaultConfigPath()));
    if (context.empty()) context = config.current_context;
    if (!context.empty()) {
      ctx = config.Find(context);
      if (ctx == nullptr) return config.Unknown(context);
      c.context = context;
    }
  }
  const std::string ctx_origin = "context '" + context + "' ";
  // server
  if (!g.server.empty()) {
    c.server = g.server;
  } else if (EnvIsSet(env::kServer)) {
    c.server = EnvString(env::kServer);
  } else if (ctx != nullptr && !ctx->server.empty()) {
    c.server = ctx->server;
  } else {
    c.server = env::kServer.default_value;
  }
  // token
  if (!g.token.empty()) {
    c.token = g.token;
  } else if (!g.token_file.empty()) {
    FLYP_ASSIGN_OR_RETURN(c.token, ReadToken(g.token_file, "--token-file"));
  } else if (EnvIsSet(env::kToken)) {
    c.token = EnvString(env::kToken);
  } else if (EnvIsSet(env::kTokenFile)) {
    FLYP_ASSIGN_OR_RETURN(c.token, ReadToken(EnvString(env::kTokenFile), env::kTokenFile.name));
  } else if (ctx != nullptr && !ctx->token_file.empty()) {
    FLYP_ASSIGN_OR_RETURN(c.token, ReadToken(config.ResolvePath(ctx->token_file), ctx_origin + "token-file"));
  }
  // CA
  std::string origin;
  if (!g.tls_ca.empty()) {
    c.tls_ca = g.tls_ca;
    origin = "--tls-ca";
  } else if (EnvIsSet(env::kTlsCa)) {
    c.tls_ca = EnvString(env::kTlsCa);
    origin = env::kTlsCa.name;
  } else if (ctx != nullptr && !ctx->tls_ca.empty()) {
    c.tls_ca = config.ResolvePath(ctx->tls_ca);
    origin = ctx_origin + "tls-ca";
  }
  if (!c.tls_ca.empty()) {
    StatusOr<std::string> pem = ReadFileToString(c.tls_ca, kMaxConfigFileBytes);
    if (!pem.ok()) return pem.status().WithContext(origin);
    c.tls_ca_pem = std::move(pem).value();
  }
  return c;
}

std::unique_ptr<Session> Session::Open() {
  StatusOr<Connection> c = ResolveConnection(Globals());
  if (!c.ok()) {
    std::cerr << "flypctl: " << c.status().message() << "\n";
    return nullptr;
  }
  return std::make_unique<Session>(std::move(c).value());
}

Session::Session(Connection c) : conn_(std::move(c)) {
  channel_ = MakeClientChannel(conn_.server, conn_.tls_ca_pem, "");
  stub_ = v1::JobService::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> Session::Context(int deadline_s) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!conn_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + conn_.token);
  if (deadline_s > 0) ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_s));
  return ctx;
}

int ReportRpcError(const grpc::Status& s, bool spec_errors) {
  static const char* kNames[] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  int code = s.error_code();
  if (spec_errors && code == grpc::StatusCode::INVALID_ARGUMENT) {
    std::cerr << s.error_message();
    if (!s.error_message().empty() && s.error_message().back() != '\n') std::cerr << "\n";
    return kExitInvalidSpec;
  }
  std::cerr << "flypctl: " << (code >= 0 && code <= 16 ? kNames[code] : "ERROR") << ": " << s.error_message()
            << "\n";
  return kExitFailure;
}

}  // namespace flyp::cli
