#include "coordinator/metrics.h"

#include <google/protobuf/descriptor.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <cctype>

#include "flyp/v1/cluster.pb.h"
#include "flyp/v1/service.pb.h"

namespace flyp::coord {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

class RpcCounter : public grpc::experimental::Interceptor {
 public:
  RpcCounter(CoordinatorMetrics* m, const char* method) : metrics_(m), method_(method ? method : "") {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->OnRpc(method_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  CoordinatorMetrics* metrics_;
  std::string method_;
};

class RpcCounterFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcCounterFactory(CoordinatorMetrics* m) : metrics_(m) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new RpcCounter(metrics_, info->method());
  }

 private:
  CoordinatorMetrics* metrics_;
};

}  // namespace

std::string JobStateLabel(v1::JobState s) {
  std::string name = v1::JobState_Name(s);
  if (name.rfind("JOB_STATE_", 0) == 0) name = name.substr(10);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

std::string GrpcCodeName(int code) {
  static const char* kNames[] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

const std::vector<std::string>& KnownRpcMethods() {
  static const std::vector<std::string> methods = [] {
    std::vector<std::string> out;
    // Through a message of each file, so the descriptors are linked in.
    for (const google::protobuf::FileDescriptor* file :
         {v1::SubmitJobRequest::descriptor()->file(), v1::ListNodesRequest::descriptor()->file()}) {
      for (int s = 0; s < file->service_count(); ++s) {
        const auto* d = file->service(s);
        for (int i = 0; i < d->method_count(); ++i)
          out.push_back("/" + d->full_name() + "/" + d->method(i)->name());
      }
    }
    out.push_back("/grpc.health.v1.Health/Check");
    out.push_back("/grpc.health.v1.Health/Watch");
    out.push_back("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
    return out;
  }();
  return methods;
}

CoordinatorMetrics::CoordinatorMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  auto& jobs = BuildGauge().Name("flyp_jobs").Help("Jobs in each state").Register(r);
  for (int s = v1::JOB_STATE_QUEUED; s <= v1::JOB_STATE_CANCELLED; ++s) {
    jobs_[s] = &jobs.Add({{"state", JobStateLabel(static_cast<v1::JobState>(s))}});
  }
  submitted_ = &BuildCounter()
                    .Name("flyp_jobs_submitted_total")
                    .Help("Jobs accepted by SubmitJob")
                    .Register(r)
                    .Add({});
  queue_wait_ = &BuildHistogram()
                     .Name("flyp_job_queue_wait_seconds")
                     .Help("Time from submission to the first admission of a job")
                     .Register(r)
                     .Add({}, WaitBuckets());
  restarts_ = &BuildCounter()
                   .Name("flyp_job_restarts_total")
                   .Help("Job worlds relaunched after a failure or a coordinator restart")
                   .Register(r)
                   .Add({});
  worker_metrics_failures_ =
      &BuildCounter()
           .Name("flyp_worker_metrics_endpoint_failures_total")
           .Help("Worker ranks that started without their /metrics endpoint (port taken)")
           .Register(r)
           .Add({});
  auto& slots =
      BuildGauge().Name("flyp_slots").Help("Schedulable units per pool (cpu slots, gpus)").Register(r);
  slots_ = {
      &slots.Add({{"pool", "cpu"}, {"state", "free"}}), &slots.Add({{"pool", "cpu"}, {"state", "used"}}),
      &slots.Add({{"pool", "gpu"}, {"state", "free"}}), &slots.Add({{"pool", "gpu"}, {"state", "used"}})};
  auto& nodes = BuildGauge().Name("flyp_nodes").Help("Hosts by health (up, down)").Register(r);
  nodes_ = {&nodes.Add({{"state", "up"}}), &nodes.Add({{"state", "down"}})};
  node_up_family_ =
      &BuildGauge().Name("flyp_node_up").Help("1 while a host is up, 0 while it is down").Register(r);
  node_slots_family_ = &BuildGauge()
                            .Name("flyp_node_slots")
                            .Help("A host's CPU slots (kind cpu) and GPUs (kind gpu), free and used")
                            .Register(r);
  rpc_family_ = &BuildCounter()
                     .Name("flyp_rpc_requests_total")
                     .Help("Finished RPCs by method and status code")
                     .Register(r);
  for (const std::string& m : KnownRpcMethods())
    rpc_[{m, 0}] = &rpc_family_->Add({{"method", m}, {"code", "OK"}});
}

Status CoordinatorMetrics::LoadJobCounts(JobStore* store) {
  std::array<int64_t, 9> counts{};
  ListQuery q;
  q.limit = 500;
  for (;;) {
    FLYP_ASSIGN_OR_RETURN(std::vector<JobRecord> page, store->ListJobs(q));
    if (page.empty()) break;
    q.after_seq = page.back().seq;
    for (const JobRecord& rec : page) {
      int s = rec.job.status().state();
      if (s > 0 && s < static_cast<int>(counts.size())) ++counts[s];
    }
  }
  for (size_t s = 1; s < counts.size(); ++s) jobs_[s]->Set(static_cast<double>(counts[s]));
  return Status::Ok();
}

void CoordinatorMetrics::OnTransition(std::optional<v1::JobState> from, v1::JobState to) {
  if (from && *from == to) return;
  if (from && *from > 0 && *from < static_cast<int>(jobs_.size())) jobs_[*from]->Decrement();
  if (to > 0 && to < static_cast<int>(jobs_.size())) jobs_[to]->Increment();
}

void CoordinatorMetrics::OnSubmitted() {
  submitted_->Increment();
  OnTransition(std::nullopt, v1::JOB_STATE_QUEUED);
}

void CoordinatorMetrics::ObserveQueueWait(double seconds) { queue_wait_->Observe(std::max(0.0, seconds)); }

void CoordinatorMetrics::OnRestart() { restarts_->Increment(); }

void CoordinatorMetrics::OnWorkerMetricsEndpointFailures(int ranks) {
  if (ranks > 0) worker_metrics_failures_->Increment(ranks);
}

void CoordinatorMetrics::SetSlots(bool gpu, int free, int used) {
  slots_[gpu ? 2 : 0]->Set(free);
  slots_[gpu ? 3 : 1]->Set(used);
}

void CoordinatorMetrics::SetNodes(const std::vector<NodeUsage>& nodes) {
  int up = 0, down = 0;
  MutexLock lock(&nodes_mu_);
  for (const NodeUsage& n : nodes) {
    (n.up ? up : down) += 1;
    auto it = node_series_.find({n.pool, n.node});
    if (it == node_series_.end()) {
      NodeSeries s;
      s.up = &node_up_family_->Add({{"node", n.node}, {"pool", n.pool}});
      int i = 0;
      for (const char* kind : {"cpu", "gpu"}) {
        for (const char* state : {"free", "used"}) {
          s.slots[static_cast<size_t>(i++)] = &node_slots_family_->Add(
              {{"node", n.node}, {"pool", n.pool}, {"kind", kind}, {"state", state}});
        }
      }
      it = node_series_.emplace(std::make_pair(n.pool, n.node), s).first;
    }
    it->second.up->Set(n.up ? 1 : 0);
    it->second.slots[0]->Set(n.cpu_total - n.cpu_used);
    it->second.slots[1]->Set(n.cpu_used);
    it->second.slots[2]->Set(n.gpu_total - n.gpu_used);
    it->second.slots[3]->Set(n.gpu_used);
  }
  nodes_[0]->Set(up);
  nodes_[1]->Set(down);
}

void CoordinatorMetrics::OnRpc(const std::string& method, int grpc_code) {
  const auto& known = KnownRpcMethods();
  const bool is_known = std::find(known.begin(), known.end(), method) != known.end();
  const std::string label = is_known ? method : "other";
  MutexLock lock(&rpc_mu_);
  auto it = rpc_.find({label, grpc_code});
  if (it == rpc_.end()) {
    it = rpc_.emplace(std::make_pair(label, grpc_code),
                      &rpc_family_->Add({{"method", label}, {"code", GrpcCodeName(grpc_code)}}))
             .first;
  }
  it->second->Increment();
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
CoordinatorMetrics::RpcInterceptorFactory() {
  return std::make_unique<RpcCounterFactory>(this);
}

}  // namespace flyp::coord
