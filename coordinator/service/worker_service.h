// gRPC WorkerService: rank 0 of a world reports to the coordinator. The
// caller presents its job's worker token (FLYP_WORKER_TOKEN) as a bearer
// token, checked before anything else: a wrong token and a job that does
// not exist both answer PERMISSION_DENIED with one message. Reports from a
// superseded attempt are acknowledged with stop=true. Bounded: at most
// kMaxReportedSplits accuracies per progress point (names of at most
// kMaxNameBytes), a failure message cut at kMaxWorkerMessageBytes.
// An accepted STARTED report's ranks_without_metrics are counted in
// flyp_worker_metrics_endpoint_failures_total.
//
// Thread safety: any method may run on any thread.
#pragma once

#include "coordinator/job_manager.h"
#include "coordinator/metrics.h"
#include "flyp/v1/service.grpc.pb.h"

namespace flyp::coord {

inline constexpr size_t kMaxReportedSplits = 256;            // ProgressPoint.eval_accuracy
inline constexpr size_t kMaxWorkerMessageBytes = 16 * 1024;  // ReportStateRequest.message

class WorkerServiceImpl final : public v1::WorkerService::Service {
 public:
  // `metrics` may be null (not counted).
  WorkerServiceImpl(JobManager* manager, CoordinatorMetrics* metrics)
      : manager_(manager), metrics_(metrics) {}

  grpc::Status ReportProgress(grpc::ServerContext* ctx, const v1::ReportProgressRequest* req,
                              v1::ReportAck* resp) override;
  grpc::Status ReportState(grpc::ServerContext* ctx, const v1::ReportStateRequest* req,
                           v1::ReportAck* resp) override;

 private:
  JobManager* manager_;
  CoordinatorMetrics* metrics_;
};

}  // namespace flyp::coord
