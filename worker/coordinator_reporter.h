// A TrainObserver (added for logged steps) that reports rank 0's progress,
// evaluations, stages, the result and phases to the coordinator over gRPC
// (flyp.v1.WorkerService: ReportProgress with a v1::ProgressPoint built from
// each StepProgress, EvalEvent (labelled with its stage), StageEvent and
// the report's headline (JobResult), ReportState for each phase), when the launcher set
// FLYP_COORDINATOR. With FLYP_COORDINATOR_CA the channel is TLS trusting
// only that CA. Calls are synchronous with a short deadline; a failed call
// is logged and training goes on (the coordinator also watches the
// process). The reports that end an attempt (COMPLETED, FAILED) wait up to
// 15 s for a coordinator that is restarting, preceded by the last step
// whose report failed, so an adopted world's job keeps its outcome and its
// last step and loss. The coordinator's answer may ask the world to stop
// (stop_requested()), e.g. after a cancel.
//
// Thread safety: calls are serialised internally.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "flyp/v1/job.pb.h"
#include "worker/report/observer.h"

namespace flyp::worker {

// Where and how rank 0 reaches the coordinator (set by the launcher).
struct CoordinatorEndpoint {
  std::string address;      // FLYP_COORDINATOR, "host:port"
  std::string ca_file;      // FLYP_COORDINATOR_CA; empty: plaintext
  std::string server_name;  // FLYP_COORDINATOR_SERVER_NAME; empty: the host of address
  std::string token;        // FLYP_WORKER_TOKEN, sent as "authorization: Bearer <token>"
  static CoordinatorEndpoint FromEnv();
};

// The last words of a rank whose collective watchdog fired (any rank, not
// only rank 0): ReportState FAILED with collective_timeout and the
// watchdog's message, over a channel of its own, waiting at most `deadline`
// (the process is about to abort; a coordinator that cannot be reached
// loses the report, and the world's exit still ends the attempt). Logs a
// failure; never throws.
void ReportCollectiveTimeout(const CoordinatorEndpoint& endpoint, const std::string& job_id, int attempt,
                             int rank, const std::string& message,
                             std::chrono::milliseconds deadline = std::chrono::seconds(2));

class CoordinatorReporter : public report::TrainObserver {
 public:
  // Connects to the coordinator. With a CA file, first checks that the
  // coordinator's certificate verifies, with one health check (at most
  // `verify_timeout`): FAILED_PRECONDITION naming the address and the CA
  // file when the file is not a readable PEM CA bundle or the TLS handshake
  // or name check fails (retrying cannot help). A coordinator that cannot be
  // reached at all is not an error: it may be restarting (logged).
  static StatusOr<std::unique_ptr<CoordinatorReporter>> Connect(
      const CoordinatorEndpoint& endpoint, std::string job_id, int attempt,
      std::chrono::milliseconds verify_timeout = std::chrono::seconds(10));
  ~CoordinatorReporter() override;

  void OnStep(const report::StepProgress& p) override;
  void OnEval(const report::EvalEvent& e) override;
  // kFailed carries whether the failure is permanent (no retry).
  void OnPhase(const report::PhaseEvent& e) override;
  void OnStage(const report::StageEvent& e) override;
  void OnReport(const report::RunReport& r) override;

  // Sent with the STARTED report (the coordinator counts them). Call before
  // the first event.
  void set_ranks_without_metrics(std::vector<int> ranks) FLYP_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    ranks_without_metrics_ = std::move(ranks);
  }

  bool stop_requested() const { return stop_.load(); }

 private:
  CoordinatorReporter();
  void SendPoint(const v1::ProgressPoint& point, const char* what) FLYP_EXCLUDES(mu_);
  struct Impl;
  // One report at a time: mu_ is held across each RPC, so reports reach the
  // coordinator in the order they were made.
  Mutex mu_;
  const std::unique_ptr<Impl> impl_ FLYP_PT_GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
  std::vector<int> ranks_without_metrics_ FLYP_GUARDED_BY(mu_);
};

}  // namespace flyp::worker
