// flypctl health: asks a server's grpc.health.v1.Health/Check (no token
// needed). Used by the Docker HEALTHCHECK and Kubernetes exec probes.
//
//   flypctl health [--server HOST:PORT] [--tls-ca FILE] [--service NAME] [--timeout SECONDS]
//
// Prints the serving status; exit 0 for SERVING, 1 otherwise (RPC errors
// included), 2 for a bad command line.
#pragma once

#include <string>

#include "cli/commands.h"

namespace flyp::cli {

int RunHealth(const Args& args);

// grpc.health.v1 messages, hand-encoded (proto3 wire format):
// HealthCheckRequest{string service = 1} and HealthCheckResponse{ServingStatus status = 1}.
std::string EncodeHealthCheckRequest(const std::string& service);
// The status enum value (0 UNKNOWN, 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN);
// -1 for a malformed message.
int DecodeHealthCheckResponse(const std::string& bytes);

}  // namespace flyp::cli
