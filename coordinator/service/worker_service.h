// gRPC WorkerService: rank 0 of a world reports to the coordinator. The
// caller presents its job's worker token (FLYP_WORKER_TOKEN) as a bearer
// token; reports from a superseded attempt are acknowledged with stop=true.
//
// Thread safety: any method may run on any thread.
#pragma once

#include "coordinator/job_manager.h"
#include "flyp/v1/service.grpc.pb.h"

namespace flyp::coord {

class WorkerServiceImpl final : public v1::WorkerService::Service {
 public:
  explicit WorkerServiceImpl(JobManager* manager) : manager_(manager) {}

  grpc::Status ReportProgress(grpc::ServerContext* ctx, const v1::ReportProgressRequest* req,
                              v1::ReportAck* resp) override;
  grpc::Status ReportState(grpc::ServerContext* ctx, const v1::ReportStateRequest* req,
                           v1::ReportAck* resp) override;

 private:
  JobManager* manager_;
};

}  // namespace flyp::coord
