#include "cli/client.h"

#include <iostream>

#include "cli/exit_codes.h"
#include "common/env.h"
#include "common/file_util.h"
#include "flyp/v1/job.pb.h"

namespace flyp::cli {

bool ParseClientFlags(const Args& args, const std::set<std::string>& value_flags,
                      const std::set<std::string>& switch_flags, ClientFlags* out) {
  out->server = EnvString(env::kServer);
  out->token = EnvString(env::kToken);
  out->tls_ca = EnvString(env::kTlsCa);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], value;
    bool has_value = false;
    size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a.resize(eq);
      has_value = true;
    }
    auto take = [&](std::string* dst) {
      if (has_value) {
        *dst = value;
        return true;
      }
      if (i + 1 >= args.size()) {
        std::cerr << "flypctl: " << a << " needs a value\n";
        return false;
      }
      *dst = args[++i];
      return true;
    };
    if (a == "--server") {
      if (!take(&out->server)) return false;
    } else if (a == "--token") {
      if (!take(&out->token)) return false;
    } else if (a == "--tls-ca") {
      if (!take(&out->tls_ca)) return false;
    } else if (a == "-o" || a == "--output") {
      if (!take(&out->output)) return false;
      if (out->output != "table" && out->output != "json" && out->output != "yaml") {
        std::cerr << "flypctl: -o must be table, json or yaml (got '" << out->output << "')\n";
        return false;
      }
    } else if (value_flags.count(a)) {
      if (!take(&out->options[a])) return false;
    } else if (switch_flags.count(a)) {
      out->switches.insert(a);
    } else if (a.size() > 1 && a[0] == '-') {
      std::cerr << "flypctl: unknown flag " << a << "\n";
      return false;
    } else {
      out->positional.push_back(a);
    }
  }
  if (!out->tls_ca.empty()) {
    StatusOr<std::string> pem = ReadFileToString(out->tls_ca, kMaxConfigFileBytes);
    if (!pem.ok()) {
      std::cerr << "flypctl: --tls-ca: " << pem.status().message() << "\n";
      return false;
    }
    out->tls_ca_pem = std::move(pem).value();
  }
  return true;
}

std::shared_ptr<grpc::Channel> MakeChannel(const ClientFlags& flags) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!flags.tls_ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = flags.tls_ca_pem;
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateChannel(flags.server, creds);
}

std::unique_ptr<v1::JobService::Stub> MakeStub(const ClientFlags& flags) {
  return v1::JobService::NewStub(MakeChannel(flags));
}

std::unique_ptr<grpc::ClientContext> MakeContext(const ClientFlags& flags, int deadline_s) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!flags.token.empty()) ctx->AddMetadata("authorization", "Bearer " + flags.token);
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

std::string StateName(int state) {
  std::string n = v1::JobState_Name(static_cast<v1::JobState>(state));
  const std::string prefix = "JOB_STATE_";
  return n.rfind(prefix, 0) == 0 ? n.substr(prefix.size()) : n;
}

std::string FormatDuration(double seconds) {
  if (seconds < 0) seconds = 0;
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, (s / 60) % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lds", s);
  }
  return buf;
}

}  // namespace flyp::cli
