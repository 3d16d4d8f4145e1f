// A ProgressSink that reports rank 0's progress and lifecycle to the
// coordinator over gRPC (flyp.v1.WorkerService), when the launcher set
// FLYP_COORDINATOR. Calls are synchronous with a short deadline; a failed
// call is logged and training goes on (the coordinator also watches the
// process). The coordinator's answer may ask the world to stop
// (stop_requested()), e.g. after a cancel.
//
// Thread safety: calls are serialised internally.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "worker/report/progress.h"

namespace flyp::worker {

class CoordinatorReporter : public report::ProgressSink {
 public:
  // address "host:port"; token sent as "authorization: Bearer <token>" when
  // non-empty.
  CoordinatorReporter(const std::string& address, std::string job_id, int attempt, std::string token);
  ~CoordinatorReporter() override;

  void OnProgress(const report::ProgressEvent& e) override;
  void OnEval(const report::EvalEvent& e) override;
  void OnState(const report::StateEvent& e) override;

  // Sent with the STARTED report (the coordinator counts them). Call before
  // the first event.
  void set_ranks_without_metrics(std::vector<int> ranks) { ranks_without_metrics_ = std::move(ranks); }

  // Reports a failure (FAILED phase) with whether it is permanent.
  void ReportFailure(const std::string& message, bool permanent);

  bool stop_requested() const { return stop_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::vector<int> ranks_without_metrics_;
};

}  // namespace flyp::worker
