// gRPC SweepService: authenticates the caller, validates the sweep spec and
// every trial's job spec (paths resolved against the data roots, each
// trial's gang checked to fit) and delegates to the SweepManager. A sweep
// is its owner's: another caller gets NOT_FOUND for it and never sees it
// listed, as users see only their own jobs. WatchSweep polls with short
// waits and ends when the sweep does or the client goes away.
//
// Thread safety: as gRPC requires, any method may run on any thread.
#pragma once

#include <string>
#include <vector>

#include "coordinator/auth.h"
#include "coordinator/job_manager.h"
#include "coordinator/sweep_manager.h"
#include "flyp/v1/sweep.grpc.pb.h"

namespace flyp::coord {

class SweepServiceImpl final : public v1::SweepService::Service {
 public:
  SweepServiceImpl(SweepManager* sweeps, JobManager* jobs, const TokenAuth* auth,
                   std::vector<std::string> data_roots)
      : sweeps_(sweeps), jobs_(jobs), auth_(auth), data_roots_(std::move(data_roots)) {}

  grpc::Status SubmitSweep(grpc::ServerContext* ctx, const v1::SubmitSweepRequest* req,
                           v1::SubmitSweepResponse* resp) override;
  grpc::Status GetSweep(grpc::ServerContext* ctx, const v1::GetSweepRequest* req, v1::Sweep* resp) override;
  grpc::Status ListSweeps(grpc::ServerContext* ctx, const v1::ListSweepsRequest* req,
                          v1::ListSweepsResponse* resp) override;
  grpc::Status CancelSweep(grpc::ServerContext* ctx, const v1::CancelSweepRequest* req,
                           v1::Sweep* resp) override;
  grpc::Status WatchSweep(grpc::ServerContext* ctx, const v1::WatchSweepRequest* req,
                          grpc::ServerWriter<v1::WatchSweepEvent>* writer) override;
  grpc::Status GetSweepReport(grpc::ServerContext* ctx, const v1::GetSweepReportRequest* req,
                              v1::SweepReport* resp) override;

 private:
  StatusOr<Principal> Caller(grpc::ServerContext* ctx) const;
  // The caller's sweep `id`: NOT_FOUND for an unknown one and for another's.
  StatusOr<SweepRecord> Owned(const std::string& id, const Principal& caller);

  SweepManager* sweeps_;
  JobManager* jobs_;
  const TokenAuth* auth_;
  std::vector<std::string> data_roots_;
};

}  // namespace flyp::coord
