// flypctl submit / get / describe / list / cancel.
#include <google/protobuf/util/json_util.h>

#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "common/spec/job_spec.h"

namespace flyp::cli {
namespace {

// `m` as -o json or -o yaml print it (the proto JSON mapping; the job
// spec's YAML style, enums by their short names).
std::string Render(const google::protobuf::Message& m, const std::string& output) {
  if (output == "yaml") return MessageToYaml(m);
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0) return "-";
  time_t s = static_cast<time_t>(t.seconds());
  std::tm tm;
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void PrintTable(const std::vector<const v1::Job*>& jobs) {
  std::printf("%-12s %-24s %-11s %5s %8s %10s %9s  %s\n", "ID", "NAME", "STATE", "WORLD", "RESTARTS", "STEP",
              "LOSS", "SWEEP");
  for (const auto* j : jobs) {
    const auto& p = j->status().latest_progress();
    std::string step =
        p.total_steps() ? std::to_string(p.step()) + "/" + std::to_string(p.total_steps()) : "-";
    std::string loss = p.step() ? std::to_string(p.loss()).substr(0, 7) : "-";
    std::printf("%-12s %-24s %-11s %5d %8d %10s %9s  %s\n", j->id().c_str(),
                j->spec().name().substr(0, 24).c_str(), StateName(j->status().state()).c_str(),
                j->spec().resources().world_size(), j->status().restarts(), step.c_str(), loss.c_str(),
                j->sweep_id().empty() ? "-" : j->sweep_id().c_str());
  }
}

int Usage(const char* text) {
  std::cerr << text
            << "\nGlobal flags: --server HOST:PORT ($FLYP_SERVER), --token T ($FLYP_TOKEN), "
               "--tls-ca PEM ($FLYP_TLS_CA)\n";
  return kExitUsage;
}

// GetJob(id) into *job: kExitOk, or the exit code after printing the RPC
// error.
int FetchJob(const ClientFlags& f, const std::string& id, v1::Job* job) {
  v1::GetJobRequest req;
  req.set_id(id);
  grpc::Status s = MakeStub(f)->GetJob(MakeContext(f).get(), req, job);
  return s.ok() ? kExitOk : ReportRpcError(s);
}

}  // namespace

int RunSubmit(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--idempotency-key"}, {}, &f) || f.positional.size() != 1) {
    return Usage(
        "usage: flypctl submit FILE [--idempotency-key K]\nValidates the spec locally, submits it and "
        "prints the job id.");
  }
  SpecLoad load = LoadJobSpecFile(f.positional[0]);
  if (!load.ok()) {
    std::cerr << load.ErrorText();
    return kExitInvalidSpec;
  }
  v1::SubmitJobRequest req;
  req.set_spec_yaml(JobSpecToYaml(load.spec));
  req.set_idempotency_key(f.options["--idempotency-key"]);
  v1::SubmitJobResponse resp;
  grpc::Status s = MakeStub(f)->SubmitJob(MakeContext(f).get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s, /*spec_errors=*/true);
  if (f.output != "table") {
    std::cout << Render(resp.job(), f.output);
  } else {
    std::cout << resp.job().id() << "\n";
  }
  return kExitOk;
}

int RunGet(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {}, {}, &f) || f.positional.size() != 1) {
    return Usage("usage: flypctl get ID [-o table|json|yaml]");
  }
  v1::Job job;
  if (int rc = FetchJob(f, f.positional[0], &job); rc != kExitOk) return rc;
  if (f.output != "table") {
    std::cout << Render(job, f.output);
  } else {
    PrintTable({&job});
  }
  return kExitOk;
}

int RunDescribe(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {}, {}, &f) || f.positional.size() != 1)
    return Usage("usage: flypctl describe ID");
  v1::Job job;
  if (int rc = FetchJob(f, f.positional[0], &job); rc != kExitOk) return rc;
  if (f.output != "table") {
    std::cout << Render(job, f.output);
    return kExitOk;
  }
  const auto& st = job.status();
  std::cout << "ID:          " << job.id() << "\n"
            << "Name:        " << job.spec().name() << "\n"
            << "Owner:       " << job.owner() << "\n"
            << "State:       " << StateName(st.state()) << "\n"
            << "Restarts:    " << st.restarts() << "\n"
            << "Created:     " << Time(st.create_time()) << "\n"
            << "Started:     " << Time(st.start_time()) << "\n"
            << "Ended:       " << Time(st.end_time()) << "\n"
            << "Artifacts:   " << job.artifact_dir() << "\n";
  if (st.latest_progress().step()) {
    const auto& p = st.latest_progress();
    std::cout << "Progress:    step " << p.step() << "/" << p.total_steps() << "  loss " << p.loss() << "  "
              << p.samples_per_second() << " samples/s\n";
  }
  std::cout << "History:\n";
  for (const auto& t : st.history()) {
    std::cout << "  " << Time(t.time()) << "  " << std::left << std::setw(11) << StateName(t.state()) << " "
              << std::setw(22) << t.reason() << " " << t.message() << "\n";
  }
  std::cout << "Spec:\n";
  std::istringstream yaml(JobSpecToYaml(job.spec()));
  for (std::string line; std::getline(yaml, line);) std::cout << "  " << line << "\n";
  return kExitOk;
}

int RunList(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--state", "--name", "--sweep"}, {}, &f) || !f.positional.empty()) {
    return Usage(
        "usage: flypctl list [--state S[,S...]] [--name SUBSTRING] [--sweep SWEEP-ID] [-o table|json|yaml]");
  }
  v1::ListJobsRequest req;
  std::stringstream states(f.options["--state"]);
  for (std::string st; std::getline(states, st, ',');) {
    v1::JobState v;
    std::string upper;
    for (char c : st) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!v1::JobState_Parse("JOB_STATE_" + upper, &v)) {
      std::cerr << "flypctl: unknown state '" << st << "'\n";
      return kExitUsage;
    }
    req.add_states(v);
  }
  req.set_name_contains(f.options["--name"]);
  req.set_sweep_id(f.options["--sweep"]);
  req.set_page_size(500);
  auto stub = MakeStub(f);
  v1::ListJobsResponse all;
  for (;;) {
    v1::ListJobsResponse resp;
    grpc::Status s = stub->ListJobs(MakeContext(f).get(), req, &resp);
    if (!s.ok()) return ReportRpcError(s);
    for (auto& j : *resp.mutable_jobs()) *all.add_jobs() = std::move(j);
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  if (f.output != "table") {
    std::cout << Render(all, f.output);
    return kExitOk;
  }
  std::vector<const v1::Job*> jobs;
  for (const auto& j : all.jobs()) jobs.push_back(&j);
  PrintTable(jobs);
  return kExitOk;
}

int RunCancel(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--reason"}, {}, &f) || f.positional.size() != 1) {
    return Usage(
        "usage: flypctl cancel ID [--reason TEXT]\nStops the job's world and waits until it is gone.");
  }
  v1::CancelJobRequest req;
  req.set_id(f.positional[0]);
  req.set_reason(f.options["--reason"]);
  v1::Job job;
  grpc::Status s = MakeStub(f)->CancelJob(MakeContext(f, 120).get(), req, &job);
  if (!s.ok()) return ReportRpcError(s);
  std::cout << job.id() << " " << StateName(job.status().state()) << "\n";
  return kExitOk;
}

}  // namespace flyp::cli
