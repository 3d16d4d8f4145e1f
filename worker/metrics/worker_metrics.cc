#include "worker/metrics/worker_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <unistd.h>

#include <limits>

#include "common/env.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/numbers.h"

namespace flyp::worker {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

int64_t ResidentSetBytes() {
  // "size resident shared ..." in pages.
  StatusOr<std::string> statm = ReadFileToString("/proc/self/statm", kMaxConfigFileBytes);
  if (!statm.ok()) return 0;
  const size_t begin = statm->find(' ');
  const size_t end = begin == std::string::npos ? begin : statm->find(' ', begin + 1);
  if (end == std::string::npos) return 0;
  StatusOr<int64_t> resident_pages =
      ParseInt64(std::string_view(*statm).substr(begin + 1, end - begin - 1), "", 0);
  if (!resident_pages.ok()) return 0;
  return *resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

WorkerMetrics::WorkerMetrics(const std::string& job, int rank)
    : registry_(std::make_shared<prometheus::Registry>()) {
  const prometheus::Labels labels = {{"job", job}, {"rank", std::to_string(rank)}};
  auto& r = *registry_;
  loss_ = &BuildGauge()
               .Name("flyp_train_loss")
               .Help("Training loss of the last step")
               .Labels(labels)
               .Register(r)
               .Add({});
  learning_rate_ = &BuildGauge()
                        .Name("flyp_train_learning_rate")
                        .Help("Learning rate used by the last step")
                        .Labels(labels)
                        .Register(r)
                        .Add({});
  logit_scale_ = &BuildGauge()
                      .Name("flyp_train_logit_scale")
                      .Help("Contrastive logit scale (temperature inverse) after the last step")
                      .Labels(labels)
                      .Register(r)
                      .Add({});
  steps_ = &BuildCounter()
                .Name("flyp_train_step_total")
                .Help("Optimizer steps completed")
                .Labels(labels)
                .Register(r)
                .Add({});
  samples_ = &BuildCounter()
                  .Name("flyp_train_samples_total")
                  .Help("Training samples processed by this rank")
                  .Labels(labels)
                  .Register(r)
                  .Add({});
  collective_bytes_ = &BuildCounter()
                           .Name("flyp_collective_bytes_total")
                           .Help("Bytes this rank sent through collectives (all_gather, all_reduce)")
                           .Labels(labels)
                           .Register(r)
                           .Add({});
  device_memory_ = &BuildGauge()
                        .Name("flyp_device_memory_bytes")
                        .Help("Memory in use: resident set size on CPU, allocated device memory on CUDA")
                        .Labels(labels)
                        .Register(r)
                        .Add({});
  auto& phases = BuildHistogram()
                     .Name("flyp_step_seconds")
                     .Help("Wall time of each phase of a training step")
                     .Labels(labels)
                     .Register(r);
  for (size_t i = 0; i < phase_seconds_.size(); ++i) {
    phase_seconds_[i] = &phases.Add({{"phase", kPhases[i]}}, DurationBuckets());
  }
  accuracy_family_ =
      &BuildGauge()
           .Name("flyp_eval_accuracy")
           .Help(
               "Accuracy (0..1) of the last evaluation of a split, by stage (zeroshot, epoch, final, wiseft)")
           .Labels(labels)
           .Register(r);
  // Values not measured yet are NaN (a gap in Grafana), not a misleading 0.
  const double not_yet = std::numeric_limits<double>::quiet_NaN();
  for (const char* split : {"id_val", "id_test", "ood"}) {
    splits_.insert(split);
    prometheus::Gauge* g = &accuracy_family_->Add({{"split", split}, {"stage", "final"}});
    accuracy_[{split, "final"}] = g;
    g->Set(not_yet);
  }
  loss_->Set(not_yet);
  learning_rate_->Set(not_yet);
  logit_scale_->Set(not_yet);
  device_memory_->Set(static_cast<double>(ResidentSetBytes()));
}

WorkerMetrics::~WorkerMetrics() = default;

std::unique_ptr<WorkerMetrics> WorkerMetrics::FromEnv(const std::string& job, int rank, int local_rank) {
  const std::string raw = EnvString(env::kMetricsPort);
  const int64_t base = EnvInt(env::kMetricsPort);
  if (base == 0 && raw == "0") return nullptr;
  auto m = std::make_unique<WorkerMetrics>(job, rank);
  const std::string what = std::string("no /metrics for rank ") + std::to_string(rank) + ": ";
  if (base <= 0 || base + local_rank > 65535) {
    FLYP_LOG(WARNING) << what << env::kMetricsPort.name << "='" << raw << "' + local rank " << local_rank
                      << " is not a port 1..65535";
    return m;
  }
  Status s = m->Serve("0.0.0.0:" + std::to_string(base + local_rank));
  if (!s.ok()) FLYP_LOG(WARNING) << what << s.message() << "; training goes on without it";
  return m;
}

Status WorkerMetrics::Serve(const std::string& address) {
  FLYP_ASSIGN_OR_RETURN(server_, MetricsServer::Start(address, registry_));
  return Status::Ok();
}

void WorkerMetrics::OnStep(const report::StepProgress& p) {
  const report::StepTimes& t = p.times;
  const double phases[6] = {t.data, t.forward, t.gather, t.backward, t.allreduce, t.optimizer};
  for (size_t i = 0; i < phase_seconds_.size(); ++i) phase_seconds_[i]->Observe(phases[i]);
  loss_->Set(p.loss);
  learning_rate_->Set(p.learning_rate);
  logit_scale_->Set(p.logit_scale);
  steps_->Increment();
  if (p.samples > 0) samples_->Increment(static_cast<double>(p.samples));
  if (p.collective_bytes > 0) collective_bytes_->Increment(static_cast<double>(p.collective_bytes));
  device_memory_->Set(static_cast<double>(ResidentSetBytes()));
}

prometheus::Gauge& WorkerMetrics::SplitGauge(const std::string& split, const std::string& stage) {
  MutexLock lock(&split_mu_);
  std::string s = split;
  if (!splits_.count(s)) {
    if (splits_.size() >= 3 + kMaxExtraSplits) {
      s = "other";
    } else {
      splits_.insert(s);
    }
  }
  prometheus::Gauge*& g = accuracy_[{s, stage}];
  if (g == nullptr) g = &accuracy_family_->Add({{"split", s}, {"stage", stage}});
  return *g;
}

void WorkerMetrics::OnEval(const report::EvalEvent& e) {
  SplitGauge(e.split, report::EvalStageName(e.stage)).Set(e.accuracy);
}

void WorkerMetrics::SetDeviceMemory(int64_t bytes) { device_memory_->Set(static_cast<double>(bytes)); }

}  // namespace flyp::worker
