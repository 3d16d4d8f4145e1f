// Pieces several flypctl commands share: following a job (watch, submit
// --watch) and fetching an artifact into memory (report, the end of watch).
#pragma once

#include <string>

#include "cli/client.h"
#include "common/status.h"

namespace flyp::cli {

// Streams WatchJob until the job ends, drawing its progress (see `flypctl
// watch --help`) on stdout, and the report table when it succeeded. The
// exit code: kExitOk when it SUCCEEDED, kExitFailure otherwise (or after an
// RPC error).
int FollowJob(const Session& session, const std::string& id);

// An artifact of a job, whole; its size is bounded by `max_bytes`, its
// checksum checked (DATA_LOSS on a mismatch).
StatusOr<std::string> FetchArtifact(const Session& session, const std::string& id, const std::string& path,
                                    size_t max_bytes);

// A gRPC error as a Status (the code and message carried over).
Status FromGrpc(const grpc::Status& s);

}  // namespace flyp::cli
