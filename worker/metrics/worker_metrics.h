// Per-rank training metrics of a flyp-worker (ARCHITECTURE §6), served on
// /metrics. Every series carries the constant labels job and rank.
//
//   flyp_train_loss, flyp_train_learning_rate, flyp_train_logit_scale  gauges
//   flyp_train_step_total, flyp_train_samples_total                     counters
//   flyp_step_seconds{phase}     histogram; phase: data forward gather backward allreduce optimizer
//   flyp_collective_bytes_total  bytes this rank sent through collectives
//   flyp_eval_accuracy{split,stage}  last accuracy of an eval split (0..1) in a
//                                stage: zeroshot, epoch, final, wiseft (the latest alpha)
//   flyp_device_memory_bytes     CPU: resident set size (/proc/self/statm)
//
// A TrainObserver (worker/report/observer.h), added to the run's fan-out for
// every step. All series are created in the constructor; OnStep/OnEval only
// update atomics (eval splits other than id_val, id_test, ood are added on
// first use, at most kMaxExtraSplits; later ones are folded into "other";
// the stage label has four values, so a split has at most four series).
//
// Ports: rank r serves 0.0.0.0:(FLYP_METRICS_PORT + local rank of r), so
// several ranks on one host never collide (a Kubernetes pod runs one rank:
// every pod serves the base port).
//
// Usage (the training loop):
//   auto metrics = WorkerMetrics::FromEnv(job_id, rank, local_rank);   // null when FLYP_METRICS_PORT=0
//   fanout.Add(metrics.get(), report::ObserverFanout::Steps::kEvery);
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/metrics.h"
#include "common/mutex.h"
#include "common/status.h"
#include "worker/report/observer.h"

namespace flyp::worker {

class WorkerMetrics : public report::TrainObserver {
 public:
  static constexpr int kMaxExtraSplits = 8;
  static constexpr const char* kPhases[6] = {"data",     "forward",   "gather",
                                             "backward", "allreduce", "optimizer"};

  WorkerMetrics(const std::string& job, int rank);
  ~WorkerMetrics() override;

  // Reads FLYP_METRICS_PORT: 0 (default) returns nullptr (metrics off);
  // otherwise metrics served on 0.0.0.0:(port + local_rank). Metrics never
  // fail a job: when that port cannot be bound (or the variable is not a
  // port) a warning naming the port and the reason is logged and the
  // metrics are returned unserved (serving() false).
  static std::unique_ptr<WorkerMetrics> FromEnv(const std::string& job, int rank, int local_rank);

  // Serves /metrics on `address` ("host:port", port 0 picks one);
  // MetricsServer::Start's errors.
  Status Serve(const std::string& address);
  bool serving() const { return server_ != nullptr; }
  int port() const { return server_ ? server_->port() : 0; }

  // One finished optimizer step: phase times, loss, learning rate, logit
  // scale, this rank's samples and collective bytes (negative counts are
  // ignored: counters never go down). Also refreshes flyp_device_memory_bytes.
  void OnStep(const report::StepProgress& p) override;
  // accuracy in [0, 1] of an eval split ("id_val", "id_test", "ood", ...).
  void OnEval(const report::EvalEvent& e) override;
  void OnPhase(const report::PhaseEvent&) override {}
  // Overrides the device memory reading (CUDA: bytes allocated on the device).
  void SetDeviceMemory(int64_t bytes);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // The current /metrics text (tests, debugging).
  std::string Render() const { return RenderMetricsText(*registry_); }

 private:
  prometheus::Gauge& SplitGauge(const std::string& split, const std::string& stage);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* loss_;
  prometheus::Gauge* learning_rate_;
  prometheus::Gauge* logit_scale_;
  prometheus::Counter* steps_;
  prometheus::Counter* samples_;
  prometheus::Counter* collective_bytes_;
  prometheus::Gauge* device_memory_;
  std::array<prometheus::Histogram*, 6> phase_seconds_;
  prometheus::Family<prometheus::Gauge>* accuracy_family_;
  Mutex split_mu_;
  std::set<std::string> splits_ FLYP_GUARDED_BY(split_mu_);  // distinct split label values
  std::map<std::pair<std::string, std::string>, prometheus::Gauge*> accuracy_
      FLYP_GUARDED_BY(split_mu_);  // by (split, stage)
  std::unique_ptr<MetricsServer> server_;
};

// Resident set size of this process in bytes (/proc/self/statm); 0 if unreadable.
int64_t ResidentSetBytes();

}  // namespace flyp::worker
