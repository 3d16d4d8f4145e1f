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

}  // namespace flyp::cli
