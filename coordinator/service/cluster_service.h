// gRPC ClusterService: the hosts of every pool with their usage and health
// (flypctl nodes). Any authenticated caller may list them; answered from the
// JobManager's memory, never waiting for a probe.
//
// Thread safety: any method may run on any thread.
#pragma once

#include "coordinator/auth.h"
#include "coordinator/job_manager.h"
#include "flyp/v1/cluster.grpc.pb.h"

namespace flyp::coord {

class ClusterServiceImpl final : public v1::ClusterService::Service {
 public:
  ClusterServiceImpl(JobManager* manager, const TokenAuth* auth) : manager_(manager), auth_(auth) {}

  // NOT_FOUND for a pool filter that names no pool.
  grpc::Status ListNodes(grpc::ServerContext* ctx, const v1::ListNodesRequest* req,
                         v1::ListNodesResponse* resp) override;

 private:
  JobManager* manager_;
  const TokenAuth* auth_;
};

}  // namespace flyp::coord
