#include "common/grpc_client.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <cctype>

namespace flyp {
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

}  // namespace

std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& address, const std::string& ca_pem,
                                                 const std::string& server_name) {
  grpc::ChannelArguments args;
  if (ca_pem.empty()) return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         std::chrono::milliseconds timeout, int* serving_status) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  const std::string req = EncodeHealthCheckRequest(service);
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
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  *serving_status = DecodeHealthCheckResponse(bytes);
  return status;
}

bool IsTlsHandshakeFailure(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  std::string m = status.error_message();
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  // gRPC 1.51 puts the last connection error in the message, e.g. "Ssl
  // handshake failed: ... certificate verify failed" or "Peer name x is not
  // in peer certificate".
  return m.find("handshake failed") != std::string::npos || m.find("peer name") != std::string::npos;
}

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

}  // namespace flyp
