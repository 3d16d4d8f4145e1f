#include "coordinator/service/worker_service.h"

#include "coordinator/auth.h"
#include "coordinator/grpc_status.h"
#include "coordinator/service/job_service.h"

namespace flyp::coord {
namespace {

std::string WorkerToken(grpc::ServerContext* ctx) {
  std::string storage;
  const std::string* h = AuthorizationHeader(ctx, &storage);
  return h ? BearerToken(*h) : std::string();
}

}  // namespace

grpc::Status WorkerServiceImpl::ReportProgress(grpc::ServerContext* ctx, const v1::ReportProgressRequest* req,
                                               v1::ReportAck* resp) {
  bool stop = false;
  Status s = manager_->ReportProgress(*req, WorkerToken(ctx), &stop);
  resp->set_stop(stop);
  return ToGrpcStatus(s);
}

grpc::Status WorkerServiceImpl::ReportState(grpc::ServerContext* ctx, const v1::ReportStateRequest* req,
                                            v1::ReportAck* resp) {
  bool stop = false;
  Status s = manager_->ReportState(*req, WorkerToken(ctx), &stop);
  resp->set_stop(stop);
  if (s.ok() && !stop && metrics_ && req->phase() == v1::WORKER_PHASE_STARTED) {
    metrics_->OnWorkerMetricsEndpointFailures(req->ranks_without_metrics_size());
  }
  return ToGrpcStatus(s);
}

}  // namespace flyp::coord
