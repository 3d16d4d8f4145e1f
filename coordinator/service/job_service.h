// gRPC JobService: authenticates the caller, validates input, and delegates
// to the JobManager. Synchronous API: each call runs on a gRPC thread; the
// streams (WatchJob, StreamLogs with follow) poll with short waits and end
// when the client goes away.
//
// Tenancy (coordinator/auth.h): a user's calls see only the user's own jobs;
// another owner's job answers NOT_FOUND with the same message as a job that
// does not exist, and ListJobs lists only the caller's. Admins see all.
//
// Requests are bounded (the budgets below; docs/security.md): a field over
// its budget is INVALID_ARGUMENT naming it, except an id too long to exist,
// which is plainly NOT_FOUND. Error messages quote at most a bounded prefix
// of what the caller sent (QuoteForError). Artifacts are opened below the
// job's folder following no symlink in any component (OpenFileBeneath);
// StreamLogs holds at most `tail` lines and one bounded partial line.
//
// Thread safety: as gRPC requires, any method may run on any thread.
#pragma once

#include <string>
#include <vector>

#include "coordinator/auth.h"
#include "coordinator/job_manager.h"
#include "flyp/v1/service.grpc.pb.h"

namespace flyp::coord {

// Request budgets.
inline constexpr size_t kMaxJobIdBytes = 64;            // ids are "job-NNNNNN"
inline constexpr size_t kMaxIdempotencyKeyBytes = 256;  // SubmitJobRequest.idempotency_key
inline constexpr size_t kMaxCancelReasonBytes = 1024;   // CancelJobRequest.reason
inline constexpr size_t kMaxNameFilterBytes = 256;      // ListJobsRequest.name_contains
inline constexpr size_t kMaxArtifactPathBytes = 4096;   // GetArtifactRequest.path
inline constexpr size_t kMaxListedArtifacts = 10000;    // ListArtifacts answers at most this many
inline constexpr size_t kMaxLogLineBytes = 64 * 1024;   // StreamLogs cuts longer lines
inline constexpr int kMaxLogTailLines = 100000;         // StreamLogsRequest.tail

class JobServiceImpl final : public v1::JobService::Service {
 public:
  // `launcher`: the launcher's name, for GetServerInfo.
  JobServiceImpl(JobManager* manager, const TokenAuth* auth, std::vector<std::string> data_roots,
                 std::string launcher = "")
      : manager_(manager), auth_(auth), data_roots_(std::move(data_roots)), launcher_(std::move(launcher)) {}

  grpc::Status SubmitJob(grpc::ServerContext* ctx, const v1::SubmitJobRequest* req,
                         v1::SubmitJobResponse* resp) override;
  grpc::Status GetJob(grpc::ServerContext* ctx, const v1::GetJobRequest* req, v1::Job* resp) override;
  grpc::Status ListJobs(grpc::ServerContext* ctx, const v1::ListJobsRequest* req,
                        v1::ListJobsResponse* resp) override;
  grpc::Status CancelJob(grpc::ServerContext* ctx, const v1::CancelJobRequest* req, v1::Job* resp) override;
  grpc::Status WatchJob(grpc::ServerContext* ctx, const v1::WatchJobRequest* req,
                        grpc::ServerWriter<v1::WatchJobEvent>* writer) override;
  grpc::Status StreamLogs(grpc::ServerContext* ctx, const v1::StreamLogsRequest* req,
                          grpc::ServerWriter<v1::LogLine>* writer) override;
  grpc::Status ListArtifacts(grpc::ServerContext* ctx, const v1::ListArtifactsRequest* req,
                             v1::ListArtifactsResponse* resp) override;
  grpc::Status GetArtifact(grpc::ServerContext* ctx, const v1::GetArtifactRequest* req,
                           grpc::ServerWriter<v1::ArtifactChunk>* writer) override;
  grpc::Status GetServerInfo(grpc::ServerContext* ctx, const v1::GetServerInfoRequest* req,
                             v1::ServerInfo* resp) override;

 private:
  StatusOr<Principal> Caller(grpc::ServerContext* ctx) const;
  // The job `id` if `caller` may see it; NOT_FOUND (one message whether it
  // does not exist or belongs to someone else) otherwise.
  StatusOr<JobRecord> VisibleJob(const Principal& caller, const std::string& id);

  JobManager* manager_;
  const TokenAuth* auth_;
  std::vector<std::string> data_roots_;
  std::string launcher_;
};

// Metadata "authorization" of a call, or nullptr.
const std::string* AuthorizationHeader(grpc::ServerContext* ctx, std::string* storage);

}  // namespace flyp::coord
