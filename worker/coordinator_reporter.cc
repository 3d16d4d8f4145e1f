#include "worker/coordinator_reporter.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <optional>

#include "common/env.h"
#include "common/grpc_client.h"
#include "common/logging.h"
#include "common/tls.h"
#include "flyp/v1/service.grpc.pb.h"
#include "worker/report/report.h"

namespace flyp::worker {
namespace {

// How long the reports that end an attempt wait for the coordinator.
constexpr std::chrono::seconds kFinalReportWait{15};

google::protobuf::Timestamp ToTimestamp(report::WallTime t) {
  if (t == report::WallTime{}) t = std::chrono::system_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  google::protobuf::Timestamp ts;
  ts.set_seconds(ns / 1000000000);
  ts.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return ts;
}

}  // namespace

struct CoordinatorReporter::Impl {
  std::unique_ptr<v1::WorkerService::Stub> stub;
  std::string job_id;
  int attempt = 0;
  std::string token;
  bool warned = false;
  // The last training step whose report failed (the coordinator may be
  // restarting); sent again before the world's final state, so the job
  // keeps its last step and loss.
  std::optional<v1::ReportProgressRequest> unsent_step;

  void Prepare(grpc::ClientContext* ctx) const {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  }
  // For the reports that end an attempt: wait up to kFinalReportWait for a
  // coordinator that is restarting (gRPC's reconnect backoff) instead of
  // failing at once, so its outcome and last step are not lost.
  void PrepareFinal(grpc::ClientContext* ctx) const {
    ctx->set_deadline(std::chrono::system_clock::now() + kFinalReportWait);
    ctx->set_wait_for_ready(true);
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  }
  void Check(const grpc::Status& s, const char* what) {
    if (s.ok() || warned) return;
    warned = true;  // once: the coordinator may be restarting; it re-attaches
    FLYP_LOG(WARNING) << "reporting " << what << " to the coordinator failed: " << s.error_message();
  }
};

CoordinatorEndpoint CoordinatorEndpoint::FromEnv() {
  CoordinatorEndpoint e;
  e.address = EnvString(env::kCoordinator);
  e.ca_file = EnvString(env::kCoordinatorCa);
  e.server_name = EnvString(env::kCoordinatorName);
  e.token = EnvString(env::kWorkerToken);
  return e;
}

void ReportCollectiveTimeout(const CoordinatorEndpoint& endpoint, const std::string& job_id, int attempt,
                             int rank, const std::string& message, std::chrono::milliseconds deadline) {
  if (endpoint.address.empty()) return;
  std::string ca_pem;
  if (!endpoint.ca_file.empty()) {
    auto ca = ReadPemCertificates(env::kCoordinatorCa.name, endpoint.ca_file);
    if (!ca.ok()) return;  // checked at start; nothing to say it with now
    ca_pem = *std::move(ca);
  }
  auto stub = v1::WorkerService::NewStub(MakeClientChannel(endpoint.address, ca_pem, endpoint.server_name));
  v1::ReportStateRequest req;
  req.set_job_id(job_id);
  req.set_attempt(attempt);
  req.set_phase(v1::WORKER_PHASE_FAILED);
  req.set_message(message);
  req.set_collective_timeout(true);
  req.set_rank(rank);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  if (!endpoint.token.empty()) ctx.AddMetadata("authorization", "Bearer " + endpoint.token);
  v1::ReportAck ack;
  grpc::Status s = stub->ReportState(&ctx, req, &ack);
  if (!s.ok()) {
    FLYP_LOG(WARNING) << "could not tell the coordinator at " << endpoint.address
                      << " about the collective timeout: " << s.error_message();
  }
}

CoordinatorReporter::CoordinatorReporter() : impl_(std::make_unique<Impl>()) {}

StatusOr<std::unique_ptr<CoordinatorReporter>> CoordinatorReporter::Connect(
    const CoordinatorEndpoint& endpoint, std::string job_id, int attempt,
    std::chrono::milliseconds verify_timeout) {
  std::string ca_pem;
  if (!endpoint.ca_file.empty()) {
    auto ca = ReadPemCertificates(env::kCoordinatorCa.name, endpoint.ca_file);
    if (!ca.ok()) {
      return FailedPreconditionError("cannot verify the coordinator at " + endpoint.address + ": " +
                                     ca.status().message());
    }
    ca_pem = *std::move(ca);
  }
  std::shared_ptr<grpc::Channel> channel = MakeClientChannel(endpoint.address, ca_pem, endpoint.server_name);
  if (!ca_pem.empty()) {
    int serving = -1;
    grpc::Status s = CheckHealth(channel, "", verify_timeout, &serving);
    if (IsTlsHandshakeFailure(s)) {
      return FailedPreconditionError(
          "cannot verify the coordinator at " + endpoint.address + " with the CA in " +
          env::kCoordinatorCa.name + "='" + endpoint.ca_file + "'" +
          (endpoint.server_name.empty() ? "" : " for the name '" + endpoint.server_name + "'") + ": " +
          s.error_message());
    }
    if (!s.ok()) {
      FLYP_LOG(WARNING) << "coordinator at " << endpoint.address << " not reachable yet ("
                        << s.error_message() << "); training goes on and reports are retried";
    }
  }
  std::unique_ptr<CoordinatorReporter> r(new CoordinatorReporter());
  MutexLock lock(&r->mu_);  // nobody else has `r` yet; the lock satisfies the analysis
  r->impl_->stub = v1::WorkerService::NewStub(channel);
  r->impl_->job_id = std::move(job_id);
  r->impl_->attempt = attempt;
  r->impl_->token = endpoint.token;
  return r;
}

CoordinatorReporter::~CoordinatorReporter() = default;

void CoordinatorReporter::OnStep(const report::StepProgress& e) {
  MutexLock lock(&mu_);
  v1::ReportProgressRequest req;
  req.set_job_id(impl_->job_id);
  req.set_attempt(impl_->attempt);
  auto* p = req.mutable_progress();
  p->set_step(e.step);
  p->set_total_steps(e.total_steps);
  p->set_epoch(e.epoch);
  p->set_loss(e.loss);
  p->set_learning_rate(e.learning_rate);
  p->set_logit_scale(e.logit_scale);
  p->set_samples_per_second(e.samples_per_second);
  p->set_eta_seconds(e.eta_seconds);
  *p->mutable_time() = ToTimestamp(e.time);
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  v1::ReportAck ack;
  const grpc::Status s = impl_->stub->ReportProgress(&ctx, req, &ack);
  impl_->Check(s, "progress");
  if (s.ok()) {
    impl_->unsent_step.reset();
  } else {
    impl_->unsent_step = std::move(req);
  }
  if (ack.stop()) stop_ = true;
}

void CoordinatorReporter::SendPoint(const v1::ProgressPoint& point, const char* what) {
  MutexLock lock(&mu_);
  v1::ReportProgressRequest req;
  req.set_job_id(impl_->job_id);
  req.set_attempt(impl_->attempt);
  *req.mutable_progress() = point;
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx);
  v1::ReportAck ack;
  impl_->Check(impl_->stub->ReportProgress(&ctx, req, &ack), what);
  if (ack.stop()) stop_ = true;
}

void CoordinatorReporter::OnEval(const report::EvalEvent& e) {
  v1::ProgressPoint p;
  (*p.mutable_eval_accuracy())[e.split] = e.accuracy;
  p.set_eval_stage(report::EvalStageLabel(e));
  if (e.stage == report::EvalStage::kEpoch && e.epoch) p.set_epoch(*e.epoch);  // early stopping judges these
  *p.mutable_time() = ToTimestamp(e.time);
  SendPoint(p, "evaluation");
}

void CoordinatorReporter::OnStage(const report::StageEvent& e) {
  v1::ProgressPoint p;
  switch (e.stage) {
    case report::Stage::kTraining:
      p.set_stage(v1::STAGE_TRAINING);
      break;
    case report::Stage::kEvaluating:
      p.set_stage(v1::STAGE_EVALUATING);
      p.set_eval_stage(e.label);
      p.set_eval_split(e.split);
      break;
    case report::Stage::kWiseFt:
      p.set_stage(v1::STAGE_WISE_FT);
      p.set_wise_ft_index(e.index);
      p.set_wise_ft_count(e.count);
      p.set_wise_ft_alpha(e.alpha);
      break;
    case report::Stage::kWritingReport:
      p.set_stage(v1::STAGE_WRITING_REPORT);
      break;
  }
  *p.mutable_time() = ToTimestamp(e.time);
  SendPoint(p, "stage");
}

void CoordinatorReporter::OnReport(const report::RunReport& r) {
  const std::optional<report::Headline> h = report::HeadlineOf(r);
  if (!h) return;
  v1::ProgressPoint p;
  v1::JobResult* res = p.mutable_result();
  res->set_model(h->model);
  res->set_id_split(h->id_split);
  res->set_id_accuracy(h->id_accuracy);
  if (h->avg_ood) res->set_avg_ood_accuracy(*h->avg_ood);
  if (h->chosen_alpha) res->set_chosen_alpha(*h->chosen_alpha);
  res->set_ood_splits(h->ood_splits);
  *p.mutable_time() = ToTimestamp({});
  SendPoint(p, "result");
}

void CoordinatorReporter::OnPhase(const report::PhaseEvent& e) {
  v1::WorkerPhase phase = v1::WORKER_PHASE_UNSPECIFIED;
  switch (e.phase) {
    case report::Phase::kStarted:
      phase = v1::WORKER_PHASE_STARTED;
      break;
    case report::Phase::kCheckpoint:
      phase = v1::WORKER_PHASE_CHECKPOINT;
      break;
    case report::Phase::kCompleted:
      phase = v1::WORKER_PHASE_COMPLETED;
      break;
    case report::Phase::kFailed:
      phase = v1::WORKER_PHASE_FAILED;
      break;
  }
  MutexLock lock(&mu_);
  v1::ReportStateRequest req;
  req.set_job_id(impl_->job_id);
  req.set_attempt(impl_->attempt);
  req.set_phase(phase);
  req.set_message(e.message);
  req.set_permanent(e.phase == report::Phase::kFailed && e.permanent);
  if (e.phase == report::Phase::kStarted) {
    std::string ranks;
    for (int r : ranks_without_metrics_) {
      req.add_ranks_without_metrics(r);
      ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    }
    // Also in the job's history (flypctl describe), not just in a counter.
    if (!ranks.empty()) {
      req.set_message(req.message() + (req.message().empty() ? "" : "; ") + "no /metrics on rank(s) " +
                      ranks + " (port taken; see the job log)");
    }
  }
  const bool final = e.phase == report::Phase::kCompleted || e.phase == report::Phase::kFailed;
  if (final && impl_->unsent_step) {
    grpc::ClientContext ctx;
    impl_->PrepareFinal(&ctx);
    v1::ReportAck ack;
    impl_->Check(impl_->stub->ReportProgress(&ctx, *impl_->unsent_step, &ack), "progress");
    impl_->unsent_step.reset();
  }
  grpc::ClientContext ctx;
  if (final) {
    impl_->PrepareFinal(&ctx);
  } else {
    impl_->Prepare(&ctx);
  }
  v1::ReportAck ack;
  impl_->Check(impl_->stub->ReportState(&ctx, req, &ack),
               e.phase == report::Phase::kFailed ? "failure" : "state");
  if (ack.stop()) stop_ = true;
}

}  // namespace flyp::worker
