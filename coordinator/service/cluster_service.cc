#include "coordinator/service/cluster_service.h"

#include "common/numbers.h"
#include "coordinator/grpc_status.h"
#include "coordinator/service/job_service.h"

namespace flyp::coord {

grpc::Status ClusterServiceImpl::ListNodes(grpc::ServerContext* ctx, const v1::ListNodesRequest* req,
                                           v1::ListNodesResponse* resp) {
  std::string storage;
  auto caller = auth_->Authenticate(AuthorizationHeader(ctx, &storage));
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  std::vector<v1::Node> nodes = manager_->ListNodes(req->pool());
  if (nodes.empty() && !req->pool().empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no pool '" + QuoteForError(req->pool()) + "'");
  }
  for (v1::Node& n : nodes) *resp->add_nodes() = std::move(n);
  return grpc::Status::OK;
}

}  // namespace flyp::coord
