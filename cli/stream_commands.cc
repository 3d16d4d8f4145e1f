// flypctl watch / logs, and following a job (job_io.h).
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <iostream>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/job_io.h"
#include "common/progress_bar.h"
#include "common/spec/spec_yaml.h"
#include "worker/report/progress.h"
#include "worker/report/report.h"

namespace flyp::cli {
namespace {

// report.json is small; a bigger one is not ours.
constexpr size_t kMaxReportBytes = 16 * 1024 * 1024;

report::StepProgress StepOf(const v1::ProgressPoint& p, int total_epochs) {
  report::StepProgress s;
  s.step = p.step();
  s.total_steps = p.total_steps();
  s.epoch = p.epoch();
  s.total_epochs = total_epochs;
  s.loss = p.loss();
  s.learning_rate = p.learning_rate();
  s.logit_scale = p.logit_scale();
  s.samples_per_second = p.samples_per_second();
  s.eta_seconds = p.eta_seconds();
  return s;
}

}  // namespace

int FollowJob(const Session& session, const std::string& id) {
  v1::WatchJobRequest req;
  req.set_id(id);
  auto ctx = session.Context(0);
  auto reader = session.stub()->WatchJob(ctx.get(), req);
  v1::WatchJobEvent ev;
  int state = 0;
  int total_epochs = 0;
  StatusLine line(stdout);
  std::string last_heading;  // piped: the stage line printed last
  while (reader->Read(&ev)) {
    if (ev.has_job()) {
      state = ev.job().status().state();
      total_epochs = ev.job().spec().schedule().epochs();
      line.Print(ev.job().id() + " " + ev.job().spec().name() + ": " + StateName(state));
      // Joining a running job: where it is now, until its next point.
      const v1::ProgressPoint& now = ev.job().status().latest_progress();
      if (!IsTerminalState(state) && line.redraws()) {
        if (now.stage() == v1::STAGE_TRAINING || (now.stage() == v1::STAGE_UNSPECIFIED && now.step() > 0)) {
          line.Update(report::FormatProgressBarLine(StepOf(now, total_epochs), line.columns()));
        } else if (!StageText(now).empty()) {
          line.Update(StageText(now));
        }
      }
    } else if (ev.has_transition()) {
      state = ev.transition().state();
      line.Print(StateName(state) + "  " + ev.transition().reason() +
                 (ev.transition().message().empty() ? "" : ": " + ev.transition().message()));
    } else if (ev.has_progress()) {
      const v1::ProgressPoint& p = ev.progress();
      if (p.step() > 0) {
        const report::StepProgress s = StepOf(p, total_epochs);
        if (line.redraws()) {
          line.Update(report::FormatProgressBarLine(s, line.columns()));
        } else {
          line.Print(report::FormatProgressLine(s));
          last_heading.clear();
        }
      }
      for (const std::string& l : EvalLines(p)) line.Print(l);
      if (p.step() == 0 && p.eval_accuracy_size() == 0 && p.stage() != v1::STAGE_UNSPECIFIED &&
          p.stage() != v1::STAGE_TRAINING) {
        if (line.redraws()) {
          line.Update(StageText(p));
        } else {
          // Plain: a line when what runs changes, not for every split or alpha.
          std::string heading = p.stage() == v1::STAGE_EVALUATING ? "== evaluating " + p.eval_stage()
                                : p.stage() == v1::STAGE_WISE_FT
                                    ? "== WiSE-FT sweep (" + std::to_string(p.wise_ft_count()) + " alphas)"
                                    : "== " + StageText(p);
          if (heading != last_heading) line.Print(heading);
          last_heading = heading;
        }
      }
    }
  }
  line.Finish();
  grpc::Status s = reader->Finish();
  if (!s.ok()) return ReportRpcError(s);
  if (state != v1::JOB_STATE_SUCCEEDED) return kExitFailure;
  // The report, as `flypctl report` prints it.
  StatusOr<std::string> json = FetchArtifact(session, id, "report.json", kMaxReportBytes);
  if (!json.ok()) {
    if (json.status().code() != StatusCode::kNotFound)
      std::cerr << "flypctl: report: " << json.status().message() << "\n";
    return kExitOk;
  }
  StatusOr<report::RunReport> r = report::ReportFromJson(*json, id + "/report.json");
  if (!r.ok()) {
    std::cerr << "flypctl: " << r.status().message() << "\n";
    return kExitOk;
  }
  std::cout << "\n" << report::RenderReportText(*r) << std::flush;
  return kExitOk;
}

int RunWatch(const std::string& id) {
  auto session = Session::Open();
  if (!session) return kExitUsage;
  return FollowJob(*session, id);
}

int RunLogs(const LogsOptions& o) {
  v1::StreamLogsRequest req;
  req.set_id(o.id);
  req.set_follow(o.follow);
  if (o.rank) {
    req.set_has_rank(true);
    req.set_rank(*o.rank);
  }
  if (o.tail < 0) {
    std::cerr << "flypctl logs: --tail must be >= 0\n";
    return kExitUsage;
  }
  req.set_tail(o.tail);
  if (!o.since.empty()) {
    int64_t secs = 0;
    int32_t nanos = 0;
    google::protobuf::Timestamp t;
    if (ParseDuration(o.since, &secs, &nanos).ok() && secs >= 0) {
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      t.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(now).count() - secs);
    } else if (!google::protobuf::util::TimeUtil::FromString(o.since, &t)) {
      std::cerr << "flypctl logs: --since: expected a duration (90s, 10m, 2h) or an RFC 3339 time "
                   "(2026-12-01T22:15:00Z), got '"
                << o.since << "'\n";
      return kExitUsage;
    }
    *req.mutable_since() = t;
  }
  auto session = Session::Open();
  if (!session) return kExitUsage;
  auto ctx = session->Context(0);
  auto reader = session->stub()->StreamLogs(ctx.get(), req);
  v1::LogLine line;
  while (reader->Read(&line)) {
    std::string out;
    if (o.timestamps) {
      out += (line.has_time() ? FormatTime(line.time()) : std::string(20, '-')) + " ";
    }
    if (!o.rank) {
      out += line.rank() < 0 ? std::string("[mpirun] ") : "[rank " + std::to_string(line.rank()) + "] ";
    }
    std::cout << out << line.text() << "\n";
  }
  std::cout << std::flush;
  grpc::Status s = reader->Finish();
  return s.ok() ? kExitOk : ReportRpcError(s);
}

}  // namespace flyp::cli
