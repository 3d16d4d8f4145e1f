// Coordinator metrics (ARCHITECTURE §6), served on --metrics-listen
// (default 0.0.0.0:9464):
//
//   flyp_jobs{state}                      gauge: jobs per state (queued, admitted, ..., cancelled)
//   flyp_jobs_submitted_total             counter: new jobs accepted
//   flyp_job_queue_wait_seconds           histogram: submission -> first admission
//   flyp_job_restarts_total               counter: worlds relaunched (rank failures, coordinator restarts)
//   flyp_slots{pool,state}                gauge: pool cpu|gpu, state free|used
//   flyp_rpc_requests_total{method,code}  counter: finished RPCs by full method and status code name
//   flyp_sweeps{state}                    gauge: sweeps per state (running, succeeded, failed, cancelled)
//   flyp_sweep_trials{state}              gauge: trials of all sweeps per state (pending, ..., early_stopped)
//   flyp_worker_metrics_endpoint_failures_total
//                                         counter: ranks that started without their /metrics endpoint
//                                         (port taken; reported by rank 0 with STARTED)
//   flyp_nodes{state}                     gauge: hosts up | down, over every pool
//   flyp_node_up{node,pool}               gauge: 1 while the host is up, 0 while down
//   flyp_node_slots{node,pool,kind,state} gauge: a host's CPU slots (kind cpu) and GPUs (kind gpu),
//                                         state free | used
//
// Every series except rpc codes other than OK is created in the
// constructor; the JobManager calls the On*/Set* methods, the gRPC server
// counts calls through RpcInterceptorFactory(). Method labels are limited
// to the services this server registers (anything else is "other"). The
// SweepManager calls the *Sweep* / *Trial* methods.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/mutex.h"
#include "coordinator/store/job_store.h"
#include "coordinator/store/sweep_store.h"
#include "flyp/v1/job.pb.h"

namespace flyp::coord {

class CoordinatorMetrics {
 public:
  CoordinatorMetrics();

  // Sets flyp_jobs{state} from every job in the store (call once at start-up,
  // before the JobManager runs).
  Status LoadJobCounts(JobStore* store);
  // A job changed state; `from` is empty for a new job.
  void OnTransition(std::optional<v1::JobState> from, v1::JobState to);
  void OnSubmitted();  // also counts the job as QUEUED
  void ObserveQueueWait(double seconds);
  void OnRestart();
  void SetSlots(bool gpu, int free, int used);
  // One finished RPC; `method` is the full name "/pkg.Service/Method".
  void OnRpc(const std::string& method, int grpc_code);
  // A world started with `ranks` ranks that could not serve /metrics.
  void OnWorkerMetricsEndpointFailures(int ranks);
  // One host's health and usage.
  struct NodeUsage {
    std::string node, pool;
    bool up = true;
    int cpu_total = 0, cpu_used = 0, gpu_total = 0, gpu_used = 0;
  };
  // Sets flyp_nodes, flyp_node_up and flyp_node_slots from every host
  // (series of a host are created on its first appearance; hosts come from
  // the configuration, so their number is bounded).
  void SetNodes(const std::vector<NodeUsage>& nodes);
  // Sets flyp_sweeps and flyp_sweep_trials from the store (once, at start-up).
  Status LoadSweepCounts(SweepStore* store);
  // A new sweep (RUNNING) with `trials` trials (PENDING).
  void OnSweepSubmitted(int trials);
  void OnSweepTransition(v1::SweepState from, v1::SweepState to);
  void OnTrialTransition(v1::TrialState from, v1::TrialState to);

  // A factory for grpc::ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcInterceptorFactory();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  std::string Render() const { return RenderMetricsText(*registry_); }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<prometheus::Gauge*, 9> jobs_{};  // by JobState value; [0] unused
  prometheus::Counter* submitted_;
  prometheus::Histogram* queue_wait_;
  prometheus::Counter* restarts_;
  prometheus::Counter* worker_metrics_failures_;
  std::array<prometheus::Gauge*, 4> slots_{};   // cpu free, cpu used, gpu free, gpu used
  std::array<prometheus::Gauge*, 5> sweeps_{};  // by SweepState value; [0] unused
  std::array<prometheus::Gauge*, 8> trials_{};  // by TrialState value; [0] unused
  prometheus::Family<prometheus::Counter>* rpc_family_;
  std::array<prometheus::Gauge*, 2> nodes_{};  // up, down
  prometheus::Family<prometheus::Gauge>* node_up_family_;
  prometheus::Family<prometheus::Gauge>* node_slots_family_;
  struct NodeSeries {
    prometheus::Gauge* up;
    std::array<prometheus::Gauge*, 4> slots;  // cpu free, cpu used, gpu free, gpu used
  };
  Mutex nodes_mu_;
  std::map<std::pair<std::string, std::string>, NodeSeries> node_series_ FLYP_GUARDED_BY(nodes_mu_);
  Mutex rpc_mu_;
  std::map<std::pair<std::string, int>, prometheus::Counter*> rpc_ FLYP_GUARDED_BY(rpc_mu_);
};

// "JOB_STATE_RUNNING" -> "running".
std::string JobStateLabel(v1::JobState s);
// "SWEEP_STATE_RUNNING" -> "running", "TRIAL_STATE_EARLY_STOPPED" -> "early_stopped".
std::string SweepStateLabel(v1::SweepState s);
std::string TrialStateLabel(v1::TrialState s);
// grpc::StatusCode -> "OK", "INVALID_ARGUMENT", ...; "UNKNOWN" for out-of-range codes.
std::string GrpcCodeName(int code);
// The RPC methods the coordinator serves ("/flyp.v1.JobService/SubmitJob", ...).
const std::vector<std::string>& KnownRpcMethods();

}  // namespace flyp::coord
