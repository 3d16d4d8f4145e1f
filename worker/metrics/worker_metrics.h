// Per-rank training metrics of a flyp-worker (ARCHITECTURE §6), served on
// /metrics. Every series carries the constant labels job and rank.
//
//   flyp_train_loss, flyp_train_learning_rate, flyp_train_logit_scale  gauges
//   flyp_train_step_total, flyp_train_samples_total                     counters
//   flyp_step_seconds{phase}     histogram; phase: data forward gather backward allreduce optimizer
//   flyp_collective_bytes_total  bytes this rank sent through collectives
//   flyp_eval_accuracy{split}    last accuracy of an eval split (0..1)
//   flyp_device_memory_bytes     CPU: resident set size (/proc/self/statm)
//
// All series are created in the constructor; OnStep/OnEval/AddCollectiveBytes
// only update atomics (eval splits other than id_val, id_test, ood are added
// on first use, at most kMaxExtraSplits; later ones are folded into "other").
//
// Ports: rank r serves 0.0.0.0:(FLYP_METRICS_PORT + local rank of r), so
// several ranks on one host never collide (a Kubernetes pod runs one rank:
// every pod serves the base port).
//
// Usage (the training loop):
//   auto metrics = WorkerMetrics::FromEnv(job_id, rank, local_rank);   // null when FLYP_METRICS_PORT=0
//   if (metrics) metrics->OnStep(times, loss, lr, scale, batch);
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/metrics.h"
#include "common/status.h"

namespace flyp::worker {

// Wall time of one step's phases, in seconds. A phase a method does not
// have (e.g. gather without a distributed loss) stays 0 and is still
// observed, so every phase's count equals the step count.
struct StepTimes {
  double data = 0;       // waiting for the next batch
  double forward = 0;    // encoders + logits
  double gather = 0;     // all_gather of embeddings
  double backward = 0;   // autograd
  double allreduce = 0;  // gradient all-reduce
  double optimizer = 0;  // optimizer step + schedule
};

class WorkerMetrics {
 public:
  static constexpr int kMaxExtraSplits = 8;
  static constexpr const char* kPhases[6] = {"data",     "forward",   "gather",
                                             "backward", "allreduce", "optimizer"};

  WorkerMetrics(const std::string& job, int rank);
  ~WorkerMetrics();

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

  // One finished optimizer step: `samples` = this rank's batch size.
  // Also refreshes flyp_device_memory_bytes.
  void OnStep(const StepTimes& times, double loss, double learning_rate, double logit_scale, int64_t samples);
  // accuracy in [0, 1] of an eval split ("id_val", "id_test", "ood", ...).
  void OnEval(const std::string& split, double accuracy);
  void AddCollectiveBytes(int64_t bytes);
  // Overrides the device memory reading (CUDA: bytes allocated on the device).
  void SetDeviceMemory(int64_t bytes);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // The current /metrics text (tests, debugging).
  std::string Render() const { return RenderMetricsText(*registry_); }

 private:
  prometheus::Gauge& SplitGauge(const std::string& split);

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
  std::mutex split_mu_;
  std::map<std::string, prometheus::Gauge*> accuracy_;  // guarded by split_mu_
  std::unique_ptr<MetricsServer> server_;
};

// Resident set size of this process in bytes (/proc/self/statm); 0 if unreadable.
int64_t ResidentSetBytes();

}  // namespace flyp::worker
