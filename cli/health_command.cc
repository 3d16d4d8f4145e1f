#include "cli/health_command.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "cli/client.h"
#include "cli/exit_codes.h"
#include "common/numbers.h"

namespace flyp::cli {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(const std::string& in, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < in.size(); shift += 7) {
    uint8_t b = static_cast<uint8_t>(in[(*pos)++]);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

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

std::string EncodeHealthCheckRequest(const std::string& service) {
  std::string out;
  if (service.empty()) return out;
  out.push_back(0x0a);  // field 1, length-delimited
  PutVarint(service.size(), &out);
  out += service;
  return out;
}

int DecodeHealthCheckResponse(const std::string& bytes) {
  size_t pos = 0;
  int status = 0;  // proto3 default
  while (pos < bytes.size()) {
    uint64_t key, v;
    if (!GetVarint(bytes, &pos, &key)) return -1;
    switch (key & 7) {
      case 0:
        if (!GetVarint(bytes, &pos, &v)) return -1;
        if ((key >> 3) == 1) status = static_cast<int>(v);
        break;
      case 2:
        if (!GetVarint(bytes, &pos, &v) || pos + v > bytes.size()) return -1;
        pos += v;
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      default:
        return -1;
    }
    if (pos > bytes.size()) return -1;
  }
  return status;
}

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
  grpc::GenericStub stub(MakeChannel(flags));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  const std::string req = EncodeHealthCheckRequest(flags.options["--service"]);
  grpc::Slice slice(req);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) return ReportRpcError(status);
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  int s = DecodeHealthCheckResponse(bytes);
  std::cout << StatusName(s) << "\n";
  return s == 1 ? kExitOk : kExitFailure;
}

}  // namespace flyp::cli
