// gRPC JobService: authenticates the caller, validates input, and delegates
// to the JobManager. Synchronous API: each call runs on a gRPC thread; the
// streams (WatchJob, StreamLogs with follow) poll with short waits and end
// when the client goes away.
//
// Thread safety: as gRPC requires, any method may run on any thread.
#pragma once

#include <string>
#include <vector>

#include "coordinator/auth.h"
#include "coordinator/job_manager.h"
#include "flyp/v1/service.grpc.pb.h"

namespace flyp::coord {

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
  StatusOr<std::string> Caller(grpc::ServerContext* ctx) const;

  JobManager* manager_;
  const TokenAuth* auth_;
  std::vector<std::string> data_roots_;
  std::string launcher_;
};

// Metadata "authorization" of a call, or nullptr.
const std::string* AuthorizationHeader(grpc::ServerContext* ctx, std::string* storage);

}  // namespace flyp::coord
