#include "coordinator/service/sweep_service.h"

#include <algorithm>
#include <map>

#include "common/numbers.h"
#include "common/spec/sweep_spec.h"
#include "coordinator/grpc_status.h"
#include "coordinator/service/job_service.h"
#include "coordinator/spec_paths.h"
#include "coordinator/sweep_report.h"

namespace flyp::coord {
namespace {

constexpr int64_t kWaitMs = 250;

grpc::Status Invalid(const std::string& m) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, m); }

}  // namespace

StatusOr<Principal> SweepServiceImpl::Caller(grpc::ServerContext* ctx) const {
  std::string storage;
  return auth_->Authenticate(AuthorizationHeader(ctx, &storage));
}

// A sweep is its owner's, as jobs are (admins see every sweep): another
// user's is NOT_FOUND, so its existence is not revealed.
StatusOr<SweepRecord> SweepServiceImpl::Owned(const std::string& id, const Principal& caller) {
  StatusOr<SweepRecord> rec = sweeps_->store()->GetSweep(id);
  if (rec.ok() && !caller.MaySee(rec->sweep.owner()))
    return NotFoundError("sweep '" + QuoteForError(id) + "' not found");
  return rec;
}

#define FLYP_SWEEP_CALLER_OR_RETURN(ctx)                    \
  auto _caller = Caller(ctx);                               \
  if (!_caller.ok()) return ToGrpcStatus(_caller.status()); \
  const Principal& caller = *_caller

grpc::Status SweepServiceImpl::SubmitSweep(grpc::ServerContext* ctx, const v1::SubmitSweepRequest* req,
                                           v1::SubmitSweepResponse* resp) {
  FLYP_SWEEP_CALLER_OR_RETURN(ctx);
  SweepLoad load;
  switch (req->source_case()) {
    case v1::SubmitSweepRequest::kSpecYaml:
      load = LoadSweepSpecYaml(req->spec_yaml());
      break;
    case v1::SubmitSweepRequest::kSpec:
      load = NormalizeSweepSpec(req->spec());
      break;
    default:
      return Invalid("source: give spec_yaml or spec");
  }
  if (!load.ok()) return ToGrpcStatus(SweepLoadStatus(load));
  // Each trial's paths, as SubmitJob resolves a job's; one line per distinct problem.
  std::map<std::string, int> problems;
  std::vector<std::string> order;
  for (TrialPlan& t : load.trials) {
    const Status s = ResolveSpecPaths(data_roots_, &t.spec);
    if (s.ok()) continue;
    if (problems[s.message()]++ == 0) order.push_back(s.message());
  }
  if (!order.empty()) {
    std::string text;
    for (const std::string& m : order) {
      text += (text.empty() ? "" : "\n") + std::string("trials: ") + m;
      if (problems[m] > 1) text += " [" + std::to_string(problems[m]) + " trials]";
    }
    return Invalid(text);
  }
  for (const TrialPlan& t : load.trials) {
    const Status s = jobs_->CheckSubmittable(t.spec);
    if (!s.ok()) {
      return ToGrpcStatus(Status(s.code(), "trials[" + std::to_string(t.index) + "]: " + s.message()));
    }
  }
  auto sweep = sweeps_->Submit(load, caller.name, req->idempotency_key());
  if (!sweep.ok()) return ToGrpcStatus(sweep.status());
  *resp->mutable_sweep() = *sweep;
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::GetSweep(grpc::ServerContext* ctx, const v1::GetSweepRequest* req,
                                        v1::Sweep* resp) {
  FLYP_SWEEP_CALLER_OR_RETURN(ctx);
  auto rec = Owned(req->id(), caller);
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  *resp = rec->sweep;
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::ListSweeps(grpc::ServerContext* ctx, const v1::ListSweepsRequest* req,
                                          v1::ListSweepsResponse* resp) {
  FLYP_SWEEP_CALLER_OR_RETURN(ctx);
  SweepQuery q;
  for (int s : req->states()) q.states.push_back(static_cast<v1::SweepState>(s));
  if (caller.role != Role::kAdmin) q.owner = caller.name;
  const int size = req->page_size() <= 0 ? 50 : std::min(req->page_size(), 500);
  q.limit = size + 1;
  if (!req->page_token().empty()) {
    StatusOr<int64_t> seq = ParseInt64(req->page_token(), "page_token", 0);
    if (!seq.ok()) return Invalid(seq.status().message() + " (not a token from a previous ListSweeps)");
    q.after_seq = *seq;
  }
  auto sweeps = sweeps_->store()->ListSweeps(q);
  if (!sweeps.ok()) return ToGrpcStatus(sweeps.status());
  for (int i = 0; i < static_cast<int>(sweeps->size()) && i < size; ++i)
    *resp->add_sweeps() = (*sweeps)[i].sweep;
  if (static_cast<int>(sweeps->size()) > size)
    resp->set_next_page_token(std::to_string((*sweeps)[size - 1].seq));
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::CancelSweep(grpc::ServerContext* ctx, const v1::CancelSweepRequest* req,
                                           v1::Sweep* resp) {
  FLYP_SWEEP_CALLER_OR_RETURN(ctx);
  auto rec = Owned(req->id(), caller);
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  auto sweep = sweeps_->Cancel(req->id(), req->reason());
  if (!sweep.ok()) return ToGrpcStatus(sweep.status());
  *resp = *sweep;
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::WatchSweep(grpc::ServerContext* ctx, const v1::WatchSweepRequest* req,
                                          grpc::ServerWriter<v1::WatchSweepEvent>* writer) {
  FLYP_SWEEP_CALLER_OR_RETURN(ctx);
  uint64_t seen = sweeps_->version();
  auto rec = Owned(req->id(), caller);
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  v1::WatchSweepEvent first;
  *first.mutable_sweep() = rec->sweep;
  if (!writer->Write(first)) return grpc::Status::OK;
  std::vector<std::string> sent;  // each trial as last sent
  for (const v1::Trial& t : rec->sweep.trials()) sent.push_back(t.SerializeAsString());
  int sent_history = rec->sweep.status().history_size();
  bool terminal = IsTerminal(rec->sweep.status().state());
  while (!terminal && !ctx->IsCancelled()) {
    seen = sweeps_->WaitForChange(seen, kWaitMs);
    rec = sweeps_->store()->GetSweep(req->id());
    if (!rec.ok()) return ToGrpcStatus(rec.status());
    const v1::Sweep& s = rec->sweep;
    for (int i = 0; i < s.trials_size() && i < static_cast<int>(sent.size()); ++i) {
      std::string now = s.trials(i).SerializeAsString();
      if (now == sent[i]) continue;
      v1::WatchSweepEvent ev;
      *ev.mutable_trial() = s.trials(i);
      if (!writer->Write(ev)) return grpc::Status::OK;
      sent[i] = std::move(now);
    }
    for (; sent_history < s.status().history_size(); ++sent_history) {
      v1::WatchSweepEvent ev;
      *ev.mutable_transition() = s.status().history(sent_history);
      if (!writer->Write(ev)) return grpc::Status::OK;
    }
    terminal = IsTerminal(s.status().state());
  }
  return grpc::Status::OK;
}

grpc::Status SweepServiceImpl::GetSweepReport(grpc::ServerContext* ctx, const v1::GetSweepReportRequest* req,
                                              v1::SweepReport* resp) {
  FLYP_SWEEP_CALLER_OR_RETURN(ctx);
  auto rec = Owned(req->id(), caller);
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  const v1::SweepReportFormat format =
      req->format() == v1::SWEEP_REPORT_FORMAT_UNSPECIFIED ? v1::SWEEP_REPORT_FORMAT_MARKDOWN : req->format();
  resp->set_format(format);
  resp->set_content(RenderSweepReport(rec->sweep, jobs_->store(), format));
  return grpc::Status::OK;
}

}  // namespace flyp::coord
