#include "coordinator/service/worker_service.h"

#include "common/spec/spec_validate.h"
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

// The budgets of a report; the job id is checked by the manager (an id
// that cannot exist is refused like a wrong token).
Status CheckProgress(const v1::ProgressPoint& p) {
  if (p.eval_accuracy_size() > static_cast<int>(kMaxReportedSplits)) {
    return InvalidArgumentError("progress.eval_accuracy: at most " + std::to_string(kMaxReportedSplits) +
                                " splits (got " + std::to_string(p.eval_accuracy_size()) + ")");
  }
  for (const auto& [split, accuracy] : p.eval_accuracy()) {
    if (split.size() > kMaxNameBytes) {
      return InvalidArgumentError("progress.eval_accuracy: split name of " + std::to_string(split.size()) +
                                  " bytes (at most " + std::to_string(kMaxNameBytes) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace

grpc::Status WorkerServiceImpl::ReportProgress(grpc::ServerContext* ctx, const v1::ReportProgressRequest* req,
                                               v1::ReportAck* resp) {
  bool stop = false;
  const std::string token = WorkerToken(ctx);
  Status s = req->job_id().size() > kMaxJobIdBytes ? PermissionDeniedError("worker token does not match job")
                                                   : manager_->ReportProgress(*req, token, &stop);
  // The token is checked before the request's contents are looked at.
  if (s.ok()) {
    if (Status c = CheckProgress(req->progress()); !c.ok()) return ToGrpcStatus(c);
  }
  resp->set_stop(stop);
  return ToGrpcStatus(s);
}

grpc::Status WorkerServiceImpl::ReportState(grpc::ServerContext* ctx, const v1::ReportStateRequest* req,
                                            v1::ReportAck* resp) {
  bool stop = false;
  if (req->job_id().size() > kMaxJobIdBytes) {
    return ToGrpcStatus(PermissionDeniedError("worker token does not match job"));
  }
  if (req->ranks_without_metrics_size() > kMaxWorldSize) {
    return ToGrpcStatus(
        InvalidArgumentError("ranks_without_metrics: at most " + std::to_string(kMaxWorldSize) + " ranks"));
  }
  // A failure message longer than this is cut, not refused: it is the
  // job's last word and goes into its history.
  v1::ReportStateRequest bounded;
  const v1::ReportStateRequest* r = req;
  if (req->message().size() > kMaxWorkerMessageBytes) {
    bounded = *req;
    bounded.mutable_message()->resize(kMaxWorkerMessageBytes);
    bounded.mutable_message()->append(" ... [cut]");
    r = &bounded;
  }
  Status s = manager_->ReportState(*r, WorkerToken(ctx), &stop);
  resp->set_stop(stop);
  if (s.ok() && !stop && metrics_ && req->phase() == v1::WORKER_PHASE_STARTED) {
    metrics_->OnWorkerMetricsEndpointFailures(req->ranks_without_metrics_size());
  }
  return ToGrpcStatus(s);
}

}  // namespace flyp::coord
