// Client side of flyp's gRPC connections: rank 0 to the coordinator, flypctl
// to the coordinator, and the coordinator's start-up check that its workers
// will be able to verify it.
//
// Thread safety: free functions without shared state; channels are
// thread-safe (gRPC).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

namespace flyp {

// A channel to `address` ("host:port"): plaintext when `ca_pem` is empty,
// otherwise TLS trusting only the certificates in `ca_pem` and expecting
// `server_name` in the server's certificate (empty: the host of `address`).
// Never blocks (gRPC connects lazily).
std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& address, const std::string& ca_pem,
                                                 const std::string& server_name);

// grpc.health.v1.Health/Check of `service` ("" = the whole server), failing
// fast instead of waiting for a connection, within `timeout`. OK with
// *serving_status set (0 UNKNOWN, 1 SERVING, 2 NOT_SERVING, 3
// SERVICE_UNKNOWN, -1 a malformed answer), or the call's error.
grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         std::chrono::milliseconds timeout, int* serving_status);

// True when a failed call's status says the TLS handshake or the check of
// the server's certificate or name failed (retrying cannot help), as
// opposed to a refused, lost or slow connection.
bool IsTlsHandshakeFailure(const grpc::Status& status);

// grpc.health.v1 messages, hand-encoded (proto3 wire format; the generated
// health code is not in Debian's gRPC packages):
// HealthCheckRequest{string service = 1} and HealthCheckResponse{ServingStatus status = 1}.
std::string EncodeHealthCheckRequest(const std::string& service);
// The status enum value (see CheckHealth); -1 for a malformed message.
int DecodeHealthCheckResponse(const std::string& bytes);

}  // namespace flyp
