// The whole coordinator in one object: job and sweep stores, launcher,
// JobManager, SweepManager and the gRPC server (JobService, WorkerService,
// SweepService, grpc.health.v1, reflection).
// main() only parses flags, starts this and waits for a signal.
//
// Thread safety: Shutdown() may be called from any thread, once.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/auth.h"
#include "coordinator/clock.h"
#include "coordinator/config.h"
#include "coordinator/job_manager.h"
#include "coordinator/launcher/launcher.h"
#include "coordinator/metrics.h"
#include "coordinator/service/cluster_service.h"
#include "coordinator/service/job_service.h"
#include "coordinator/service/sweep_service.h"
#include "coordinator/service/worker_service.h"
#include "coordinator/store/job_store.h"
#include "coordinator/store/store_lock.h"
#include "coordinator/store/sweep_store.h"
#include "coordinator/sweep_manager.h"

namespace flyp::coord {

class CoordinatorServer {
 public:
  // Opens the store, recovers interrupted jobs and starts serving.
  // INVALID_ARGUMENT naming the setting for a data root that is not a
  // directory, unreadable token files, TLS files that are not PEM of their
  // kind (or a key that is not the certificate's), a malformed or
  // unresolvable metrics-listen; FAILED_PRECONDITION for launcher kubernetes
  // outside a cluster without k8s-api-server, and when the ranks could not
  // verify this coordinator with worker-tls-ca (checked by dialling it),
  // and when another coordinator holds the store (naming its pid);
  // UNAVAILABLE when the address cannot be bound, also when another process
  // listens on it (no SO_REUSEPORT). A metrics port that cannot
  // be bound is logged and the coordinator serves without /metrics.
  static StatusOr<std::unique_ptr<CoordinatorServer>> Start(const CoordinatorConfig& config);
  ~CoordinatorServer();

  int port() const { return port_; }
  // The /metrics port; 0 when metrics are off or could not be bound.
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  // Blocks until Shutdown().
  void Wait();
  // Stops accepting calls, ends open streams and the manager loop. Running
  // worlds keep running; the next start recovers them.
  void Shutdown();

 private:
  CoordinatorServer() = default;

  CoordinatorConfig config_;
  RealClock clock_;
  TokenAuth auth_;
  std::optional<StoreLock> store_lock_;          // held while the store is open (outlives store_)
  std::unique_ptr<CoordinatorMetrics> metrics_;  // outlives everything that reports to it
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<JobStore> store_;
  std::vector<std::unique_ptr<Launcher>> launchers_;  // by kind; launcher_ routes to them
  std::unique_ptr<Launcher> launcher_;
  std::unique_ptr<HostProber> prober_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<SweepStore> sweep_store_;
  std::unique_ptr<SweepManager> sweep_manager_;
  std::unique_ptr<JobServiceImpl> job_service_;
  std::unique_ptr<SweepServiceImpl> sweep_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<ClusterServiceImpl> cluster_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace flyp::coord
