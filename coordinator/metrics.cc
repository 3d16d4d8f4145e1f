#include "coordinator/metrics.h"

#include <google/protobuf/descriptor.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <cctype>

#include "flyp/v1/cluster.pb.h"
#include "flyp/v1/service.pb.h"
#include "flyp/v1/sweep.pb.h"

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

namespace {

// "JOB_STATE_RUNNING" without `prefix`, in lower case.
std::string StateLabel(std::string name, const std::string& prefix) {
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

template <size_t N>
void Move(std::array<prometheus::Gauge*, N>& gauges, int from, int to) {
  if (from == to) return;
  if (from > 0 && from < static_cast<int>(N)) gauges[from]->Decrement();
  if (to > 0 && to < static_cast<int>(N)) gauges[to]->Increment();
}

}  // namespace

std::string JobStateLabel(v1::JobState s) { return StateLabel(v1::JobState_Name(s), "JOB_STATE_"); }
std::string SweepStateLabel(v1::SweepState s) { return StateLabel(v1::SweepState_Name(s), "SWEEP_STATE_"); }
std::string TrialStateLabel(v1::TrialState s) { return StateLabel(v1::TrialState_Name(s), "TRIAL_STATE_"); }

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
         {v1::SubmitJobRequest::descriptor()->file(), v1::ListNodesRequest::descriptor()->file(),
          v1::SubmitSweepRequest::descriptor()->file()}) {
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
  auto& sweeps = BuildGauge().Name("flyp_sweeps").Help("Sweeps in each state").Register(r);
  for (int st = v1::SWEEP_STATE_RUNNING; st <= v1::SWEEP_STATE_CANCELLED; ++st) {
    sweeps_[st] = &sweeps.Add({{"state", SweepStateLabel(static_cast<v1::SweepState>(st))}});
  }
  auto& trials =
      BuildGauge().Name("flyp_sweep_trials").Help("Trials of all sweeps in each state").Register(r);
  for (int st = v1::TRIAL_STATE_PENDING; st <= v1::TRIAL_STATE_EARLY_STOPPED; ++st) {
    trials_[st] = &trials.Add({{"state", TrialStateLabel(static_cast<v1::TrialState>(st))}});
  }
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

Status CoordinatorMetrics::LoadSweepCounts(SweepStore* store) {
  std::array<int64_t, 5> sweeps{};
  std::array<int64_t, 8> trials{};
  SweepQuery q;
  q.limit = 100;
  for (;;) {
    FLYP_ASSIGN_OR_RETURN(std::vector<SweepRecord> page, store->ListSweeps(q));
    if (page.empty()) break;
    q.after_seq = page.back().seq;
    for (const SweepRecord& rec : page) {
      const int s = rec.sweep.status().state();
      if (s > 0 && s < static_cast<int>(sweeps.size())) ++sweeps[s];
      for (const v1::Trial& t : rec.sweep.trials()) {
        if (t.state() > 0 && t.state() < static_cast<int>(trials.size())) ++trials[t.state()];
      }
    }
  }
  for (size_t s = 1; s < sweeps.size(); ++s) sweeps_[s]->Set(static_cast<double>(sweeps[s]));
  for (size_t s = 1; s < trials.size(); ++s) trials_[s]->Set(static_cast<double>(trials[s]));
  return Status::Ok();
}

void CoordinatorMetrics::OnSweepSubmitted(int trials) {
  sweeps_[v1::SWEEP_STATE_RUNNING]->Increment();
  trials_[v1::TRIAL_STATE_PENDING]->Increment(trials);
}

void CoordinatorMetrics::OnSweepTransition(v1::SweepState from, v1::SweepState to) {
  Move(sweeps_, from, to);
}

void CoordinatorMetrics::OnTrialTransition(v1::TrialState from, v1::TrialState to) {
  Move(trials_, from, to);
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
