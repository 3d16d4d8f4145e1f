// flypctl validate / submit / get / describe / list / cancel.
#include <unistd.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/job_io.h"
#include "common/file_util.h"
#include "common/spec/job_spec.h"

namespace flyp::cli {
namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `m` as -o json or -o yaml print it: the spec files' field names, enum
// names and durations, times in RFC 3339 (resubmittable).
std::string Render(const google::protobuf::Message& m, const std::string& output) {
  return output == "yaml" ? MessageToYaml(m) : MessageToJson(m);
}

// The spec of `o` (a file or stdin, then the overrides), or the exit code
// after printing every problem.
int LoadSpec(const SpecOptions& o, SpecLoad* load) {
  const std::string path = o.file == "-" ? "/dev/stdin" : o.file;
  StatusOr<std::string> text = ReadFileToString(path, kMaxConfigFileBytes);
  if (!text.ok()) {
    std::cerr << "spec file: " << text.status().message() << "\n";
    return kExitInvalidSpec;
  }
  *load = LoadJobSpecDocument(*text, o.sets);
  if (!load->ok()) {
    std::cerr << load->ErrorText();
    return kExitInvalidSpec;
  }
  return kExitOk;
}

void PrintTable(const std::vector<const v1::Job*>& jobs) {
  for (const std::string& row : JobTableRows(jobs, NowSeconds())) std::cout << row << "\n";
}

// GetJob(id) into *job: kExitOk, or the exit code after printing the RPC
// error.
int FetchJob(const Session& s, const std::string& id, v1::Job* job) {
  v1::GetJobRequest req;
  req.set_id(id);
  grpc::Status st = s.stub()->GetJob(s.Context().get(), req, job);
  return st.ok() ? kExitOk : ReportRpcError(st);
}

}  // namespace

int RunValidate(const SpecOptions& o) {
  SpecLoad load;
  if (int rc = LoadSpec(o, &load); rc != kExitOk) {
    if (!load.errors.empty()) {
      std::cerr << (o.file == "-" ? "stdin" : o.file) << ": " << load.errors.size() << " problem"
                << (load.errors.size() == 1 ? "" : "s") << "\n";
    }
    return rc;
  }
  std::cout << (Globals().output == "json" ? MessageToJson(load.spec) : JobSpecToYaml(load.spec));
  return kExitOk;
}

int RunSubmit(const SubmitOptions& o) {
  SpecLoad load;
  if (int rc = LoadSpec(o.spec, &load); rc != kExitOk) return rc;
  auto session = Session::Open();
  if (!session) return kExitUsage;
  v1::SubmitJobRequest req;
  req.set_spec_yaml(JobSpecToYaml(load.spec));
  req.set_idempotency_key(o.idempotency_key);
  v1::SubmitJobResponse resp;
  grpc::Status s = session->stub()->SubmitJob(session->Context().get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s, /*spec_errors=*/true);
  if (Globals().output != "table") {
    std::cout << Render(resp.job(), Globals().output);
  } else {
    std::cout << resp.job().id() << std::endl;
  }
  if (!o.watch) return kExitOk;
  return FollowJob(*session, resp.job().id());
}

int RunGet(const std::string& id) {
  auto session = Session::Open();
  if (!session) return kExitUsage;
  v1::Job job;
  if (int rc = FetchJob(*session, id, &job); rc != kExitOk) return rc;
  if (Globals().output != "table") {
    std::cout << Render(job, Globals().output);
  } else {
    PrintTable({&job});
  }
  return kExitOk;
}

int RunDescribe(const std::string& id) {
  auto session = Session::Open();
  if (!session) return kExitUsage;
  v1::Job job;
  if (int rc = FetchJob(*session, id, &job); rc != kExitOk) return rc;
  if (Globals().output != "table") {
    std::cout << Render(job, Globals().output);
    return kExitOk;
  }
  const auto& st = job.status();
  const auto& p = st.latest_progress();
  std::cout << "ID:          " << job.id() << "\n"
            << "Name:        " << job.spec().name() << "\n"
            << "Owner:       " << job.owner() << "\n"
            << "State:       " << StateName(st.state()) << "\n"
            << "Restarts:    " << st.restarts() << "\n"
            << "Created:     " << FormatTime(st.create_time()) << "\n"
            << "Started:     " << FormatTime(st.start_time()) << "\n"
            << "Ended:       " << FormatTime(st.end_time()) << "\n"
            << "Artifacts:   " << job.artifact_dir() << "\n";
  if (!job.sweep_id().empty())
    std::cout << "Sweep:       " << job.sweep_id() << " (a trial; flypctl sweep get)\n";
  if (p.step() > 0) {
    std::cout << "Progress:    step " << p.step() << "/" << p.total_steps() << "  epoch " << p.epoch()
              << "  loss " << p.loss() << "  " << p.samples_per_second() << " samples/s\n";
  }
  if (!IsTerminalState(st.state()) && !StageText(p).empty())
    std::cout << "Stage:       " << StageText(p) << "\n";
  if (p.eval_accuracy_size() > 0) {
    std::cout << "Accuracy:   ";
    std::map<std::string, double> sorted(p.eval_accuracy().begin(), p.eval_accuracy().end());
    for (const auto& [split, acc] : sorted)
      std::cout << " " << split << " " << std::fixed << std::setprecision(1) << 100 * acc << " %";
    std::cout << std::defaultfloat << " (latest evaluation of each split)\n";
  }
  if (!p.result().id_split().empty()) {
    std::cout << "Result:      " << p.result().model() << ": " << ResultText(p.result())
              << " (ID: " << p.result().id_split() << ")\n";
  }
  std::cout << "History:\n";
  for (const auto& t : st.history()) {
    std::cout << "  " << FormatTime(t.time()) << "  " << std::left << std::setw(11) << StateName(t.state())
              << " " << std::setw(22) << t.reason() << " " << t.message() << "\n";
  }
  std::cout << "Spec:\n";
  std::istringstream yaml(JobSpecToYaml(job.spec()));
  for (std::string line; std::getline(yaml, line);) std::cout << "  " << line << "\n";
  return kExitOk;
}

int RunList(const ListOptions& o) {
  auto session = Session::Open();
  if (!session) return kExitUsage;
  v1::ListJobsRequest req;
  std::stringstream states(o.states);
  for (std::string st; std::getline(states, st, ',');) {
    v1::JobState v;
    std::string upper;
    for (char c : st) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!v1::JobState_Parse("JOB_STATE_" + upper, &v)) {
      std::cerr << "flypctl list: unknown state '" << st
                << "' (queued, admitted, starting, running, restarting, succeeded, failed, cancelled)\n";
      return kExitUsage;
    }
    req.add_states(v);
  }
  req.set_name_contains(o.name);
  req.set_sweep_id(o.sweep);
  req.set_page_size(500);
  if (o.watch && (o.interval_s <= 0 || Globals().output != "table")) {
    std::cerr << "flypctl list: --watch needs the table output and an --interval > 0\n";
    return kExitUsage;
  }
  // Every page of the listing.
  auto list = [&](v1::ListJobsResponse* all) -> int {
    v1::ListJobsRequest r = req;
    for (;;) {
      v1::ListJobsResponse resp;
      grpc::Status s = session->stub()->ListJobs(session->Context().get(), r, &resp);
      if (!s.ok()) return ReportRpcError(s);
      for (auto& j : *resp.mutable_jobs()) *all->add_jobs() = std::move(j);
      if (resp.next_page_token().empty()) return kExitOk;
      r.set_page_token(resp.next_page_token());
    }
  };
  v1::ListJobsResponse all;
  if (int rc = list(&all); rc != kExitOk) return rc;
  if (Globals().output != "table") {
    std::cout << Render(all, Globals().output);
    return kExitOk;
  }
  std::vector<const v1::Job*> jobs;
  for (const auto& j : all.jobs()) jobs.push_back(&j);
  PrintTable(jobs);
  if (!o.watch) return kExitOk;
  std::cout << std::flush;
  // As kubectl get -w: a job's row again whenever it changes (its age
  // ticking by does not count), new jobs as they appear.
  std::map<std::string, std::string> shown;
  auto key = [](const v1::Job& j) {
    v1::Job k = j;
    k.mutable_status()->clear_create_time();
    return JobTableRows({&k}, 0, false)[0];
  };
  for (const auto& j : all.jobs()) shown[j.id()] = key(j);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(o.interval_s * 1000)));
    v1::ListJobsResponse now;
    if (int rc = list(&now); rc != kExitOk) return rc;
    for (const auto& j : now.jobs()) {
      const std::string k = key(j);
      auto it = shown.find(j.id());
      if (it != shown.end() && it->second == k) continue;
      shown[j.id()] = k;
      std::cout << JobTableRows({&j}, NowSeconds(), false)[0] << std::endl;
    }
  }
}

int RunCancel(const std::string& id, const std::string& reason) {
  auto session = Session::Open();
  if (!session) return kExitUsage;
  v1::CancelJobRequest req;
  req.set_id(id);
  req.set_reason(reason);
  v1::Job job;
  grpc::Status s = session->stub()->CancelJob(session->Context(120).get(), req, &job);
  if (!s.ok()) return ReportRpcError(s);
  std::cout << job.id() << " " << StateName(job.status().state()) << "\n";
  return kExitOk;
}

}  // namespace flyp::cli
