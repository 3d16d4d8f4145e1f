// flypctl sweep validate | submit | get | list | watch | cancel | report:
// the SweepService from the command line (docs/coordinator.md, "Sweeps").
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "common/file_util.h"
#include "common/spec/job_spec.h"
#include "common/spec/sweep_spec.h"
#include "flyp/v1/sweep.grpc.pb.h"

namespace flyp::cli {
namespace {

const char kUsage[] =
    "usage: flypctl sweep COMMAND [ARGS]\n"
    "\n"
    "  validate FILE                      check a sweep spec; print its trials\n"
    "  submit FILE [--idempotency-key K]  validate, submit, print the sweep id\n"
    "  get ID [-o table|json|yaml]        the sweep and its trials\n"
    "  list [--state S[,S...]] [-o ...]   your sweeps\n"
    "  watch ID                           follow it until it ends (exit 0 iff SUCCEEDED)\n"
    "  cancel ID [--reason TEXT]          stop its trials; waits until their jobs are gone\n"
    "  report ID [--format md|json|svg] [--out FILE]\n"
    "                                     the sweep report (default: Markdown on stdout)\n";

int Usage(const std::string& text) {
  std::cerr << text
            << "\nGlobal flags: --server HOST:PORT ($FLYP_SERVER), --token T ($FLYP_TOKEN), "
               "--tls-ca PEM ($FLYP_TLS_CA)\n";
  return kExitUsage;
}

std::unique_ptr<v1::SweepService::Stub> SweepStub(const ClientFlags& f) {
  return v1::SweepService::NewStub(MakeChannel(f));
}

std::string Render(const google::protobuf::Message& m, const std::string& output) {
  if (output == "yaml") return MessageToYaml(m);
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string Short(const std::string& name, const std::string& prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}
std::string SweepState(int s) {
  return Short(v1::SweepState_Name(static_cast<v1::SweepState>(s)), "SWEEP_STATE_");
}
std::string TrialState(int s) {
  return Short(v1::TrialState_Name(static_cast<v1::TrialState>(s)), "TRIAL_STATE_");
}

std::string Params(const v1::Trial& t) {
  std::string out;
  for (const auto& p : t.parameters()) out += (out.empty() ? "" : " ") + p.path() + "=" + p.value();
  return out.empty() ? "(the base)" : out;
}

std::string Percent(double v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.1f", 100.0 * v);
  return buf;
}

void PrintTrialLine(const v1::Trial& t) {
  std::string note = t.reason() + (t.message().empty() ? "" : ": " + t.message());
  std::printf("%4d  %-11s %-14s %7s  %s%s%s\n", t.index(), t.job_id().empty() ? "-" : t.job_id().c_str(),
              TrialState(t.state()).c_str(), t.has_objective() ? Percent(t.objective()).c_str() : "-",
              Params(t).c_str(), note.empty() ? "" : "  # ", note.c_str());
}

void PrintSweep(const v1::Sweep& s) {
  std::map<std::string, int> by_state;
  for (const auto& t : s.trials()) ++by_state[TrialState(t.state())];
  std::string counts;
  for (const auto& [st, n] : by_state) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + st;
  std::cout << "ID:         " << s.id() << "\n"
            << "Name:       " << s.spec().name() << "\n"
            << "Owner:      " << s.owner() << "\n"
            << "State:      " << SweepState(s.status().state())
            << (s.status().cancel_requested() && s.status().state() == v1::SWEEP_STATE_RUNNING
                    ? " (cancelling)"
                    : "")
            << "\n"
            << "Trials:     " << s.trials_size() << " (" << counts << "), at most "
            << s.spec().max_concurrent_trials() << " at a time\n"
            << "Objective:  " << s.spec().objective().metric() << " accuracy\n"
            << "Artifacts:  " << s.artifact_dir() << "\n"
            << "History:\n";
  for (const auto& t : s.status().history()) {
    std::cout << "  " << SweepState(t.state()) << "  " << t.reason()
              << (t.message().empty() ? "" : "  " + t.message()) << "\n";
  }
  std::printf("\n%4s  %-11s %-14s %7s  %s\n", "#", "JOB", "STATE", s.spec().objective().metric().c_str(),
              "PARAMETERS");
  for (const auto& t : s.trials()) PrintTrialLine(t);
}

int Fetch(const ClientFlags& f, const std::string& id, v1::Sweep* sweep) {
  v1::GetSweepRequest req;
  req.set_id(id);
  grpc::Status s = SweepStub(f)->GetSweep(MakeContext(f).get(), req, sweep);
  return s.ok() ? kExitOk : ReportRpcError(s);
}

int Validate(const Args& args) {
  if (args.size() != 1 || args[0] == "-h" || args[0] == "--help") {
    return Usage(
        "usage: flypctl sweep validate FILE\nChecks a sweep spec and every trial's job spec; prints "
        "the normalised sweep spec and its trials.");
  }
  SweepLoad load = LoadSweepSpecFile(args[0]);
  if (!load.ok()) {
    std::cerr << load.ErrorText() << args[0] << ": " << load.errors.size() << " problem"
              << (load.errors.size() == 1 ? "" : "s") << "\n";
    return kExitInvalidSpec;
  }
  std::cout << SweepSpecToYaml(load.spec) << "# " << load.trials.size() << " trials\n";
  for (const TrialPlan& t : load.trials) {
    std::string params;
    for (const auto& p : t.parameters) params += (params.empty() ? "" : " ") + p.path() + "=" + p.value();
    std::cout << "#   " << t.index << "  " << (params.empty() ? "(the base)" : params)
              << (t.group.empty() ? "" : "  [" + t.group + "]") << "\n";
  }
  return kExitOk;
}

int Submit(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--idempotency-key"}, {}, &f) || f.positional.size() != 1) {
    return Usage(
        "usage: flypctl sweep submit FILE [--idempotency-key K]\nValidates the sweep spec locally, "
        "submits it and prints the sweep id.");
  }
  SweepLoad load = LoadSweepSpecFile(f.positional[0]);
  if (!load.ok()) {
    std::cerr << load.ErrorText();
    return kExitInvalidSpec;
  }
  v1::SubmitSweepRequest req;
  req.set_spec_yaml(SweepSpecToYaml(load.spec));
  req.set_idempotency_key(f.options["--idempotency-key"]);
  v1::SubmitSweepResponse resp;
  grpc::Status s = SweepStub(f)->SubmitSweep(MakeContext(f).get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s, /*spec_errors=*/true);
  if (f.output != "table") {
    std::cout << Render(resp.sweep(), f.output);
  } else {
    std::cout << resp.sweep().id() << "\n";
  }
  return kExitOk;
}

int Get(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {}, {}, &f) || f.positional.size() != 1) {
    return Usage("usage: flypctl sweep get ID [-o table|json|yaml]");
  }
  v1::Sweep sweep;
  if (int rc = Fetch(f, f.positional[0], &sweep); rc != kExitOk) return rc;
  if (f.output != "table") {
    std::cout << Render(sweep, f.output);
  } else {
    PrintSweep(sweep);
  }
  return kExitOk;
}

int List(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--state"}, {}, &f) || !f.positional.empty()) {
    return Usage("usage: flypctl sweep list [--state S[,S...]] [-o table|json|yaml]");
  }
  v1::ListSweepsRequest req;
  std::stringstream states(f.options["--state"]);
  for (std::string st; std::getline(states, st, ',');) {
    std::string upper;
    for (char c : st) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    v1::SweepState v;
    if (!v1::SweepState_Parse("SWEEP_STATE_" + upper, &v)) {
      std::cerr << "flypctl: unknown sweep state '" << st << "' (running, succeeded, failed, cancelled)\n";
      return kExitUsage;
    }
    req.add_states(v);
  }
  req.set_page_size(500);
  auto stub = SweepStub(f);
  v1::ListSweepsResponse all;
  for (;;) {
    v1::ListSweepsResponse resp;
    grpc::Status s = stub->ListSweeps(MakeContext(f).get(), req, &resp);
    if (!s.ok()) return ReportRpcError(s);
    for (auto& w : *resp.mutable_sweeps()) *all.add_sweeps() = std::move(w);
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  if (f.output != "table") {
    std::cout << Render(all, f.output);
    return kExitOk;
  }
  std::printf("%-14s %-24s %-10s %8s %8s %8s\n", "ID", "NAME", "STATE", "TRIALS", "RUNNING", "BEST");
  for (const v1::Sweep& s : all.sweeps()) {
    int done = 0, running = 0;
    std::optional<double> best;
    const bool max = s.spec().objective().goal() != v1::OBJECTIVE_GOAL_MINIMIZE;
    for (const auto& t : s.trials()) {
      done += t.state() >= v1::TRIAL_STATE_SUCCEEDED;
      running += t.state() == v1::TRIAL_STATE_RUNNING || t.state() == v1::TRIAL_STATE_STARTING;
      if (t.has_objective() && (!best || (max ? t.objective() > *best : t.objective() < *best)))
        best = t.objective();
    }
    const std::string trials = std::to_string(done) + "/" + std::to_string(s.trials_size());
    std::printf("%-14s %-24s %-10s %8s %8d %8s\n", s.id().c_str(), s.spec().name().substr(0, 24).c_str(),
                SweepState(s.status().state()).c_str(), trials.c_str(), running,
                best ? Percent(*best).c_str() : "-");
  }
  return kExitOk;
}

int Watch(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {}, {}, &f) || f.positional.size() != 1) {
    return Usage(
        "usage: flypctl sweep watch ID\nFollows the sweep until it ends; exit 0 only if it SUCCEEDED.");
  }
  v1::WatchSweepRequest req;
  req.set_id(f.positional[0]);
  auto ctx = MakeContext(f, 0);
  auto reader = SweepStub(f)->WatchSweep(ctx.get(), req);
  v1::WatchSweepEvent ev;
  int state = 0;
  while (reader->Read(&ev)) {
    if (ev.has_sweep()) {
      state = ev.sweep().status().state();
      std::cout << ev.sweep().id() << " " << ev.sweep().spec().name() << ": " << SweepState(state) << ", "
                << ev.sweep().trials_size() << " trials" << std::endl;
    } else if (ev.has_trial()) {
      const v1::Trial& t = ev.trial();
      std::cout << "trial " << t.index() << " " << TrialState(t.state())
                << (t.job_id().empty() ? "" : " " + t.job_id()) << "  " << Params(t)
                << (t.has_objective() ? "  " + Percent(t.objective()) + "%" : "")
                << (t.state() == v1::TRIAL_STATE_EARLY_STOPPED || t.state() == v1::TRIAL_STATE_FAILED
                        ? "  " + t.reason() + ": " + t.message()
                        : "")
                << std::endl;
    } else if (ev.has_transition()) {
      state = ev.transition().state();
      std::cout << SweepState(state) << "  " << ev.transition().reason()
                << (ev.transition().message().empty() ? "" : ": " + ev.transition().message()) << std::endl;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return ReportRpcError(s);
  return state == v1::SWEEP_STATE_SUCCEEDED ? kExitOk : kExitFailure;
}

int Cancel(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--reason"}, {}, &f) || f.positional.size() != 1) {
    return Usage(
        "usage: flypctl sweep cancel ID [--reason TEXT]\nStops the sweep's trials and waits until "
        "their jobs are gone.");
  }
  v1::CancelSweepRequest req;
  req.set_id(f.positional[0]);
  req.set_reason(f.options["--reason"]);
  v1::Sweep sweep;
  grpc::Status s = SweepStub(f)->CancelSweep(MakeContext(f, 120).get(), req, &sweep);
  if (!s.ok()) return ReportRpcError(s);
  std::cout << sweep.id() << " " << SweepState(sweep.status().state()) << "\n";
  return kExitOk;
}

int Report(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--format", "--out"}, {}, &f) || f.positional.size() != 1) {
    return Usage("usage: flypctl sweep report ID [--format md|json|svg] [--out FILE]");
  }
  v1::GetSweepReportRequest req;
  req.set_id(f.positional[0]);
  const std::string format = f.options.count("--format") ? f.options["--format"] : "md";
  if (format == "md" || format == "markdown") {
    req.set_format(v1::SWEEP_REPORT_FORMAT_MARKDOWN);
  } else if (format == "json") {
    req.set_format(v1::SWEEP_REPORT_FORMAT_JSON);
  } else if (format == "svg") {
    req.set_format(v1::SWEEP_REPORT_FORMAT_SVG);
  } else {
    return Usage("flypctl sweep report: --format must be md, json or svg (got '" + format + "')");
  }
  v1::SweepReport resp;
  grpc::Status s = SweepStub(f)->GetSweepReport(MakeContext(f, 120).get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s);
  if (!f.options.count("--out") || f.options["--out"] == "-") {
    std::cout << resp.content();
    return kExitOk;
  }
  Status w = WriteFileAtomic(f.options["--out"], resp.content());
  if (!w.ok()) {
    std::cerr << "flypctl: " << w.message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

int RunSweep(const Args& args) {
  static const std::map<std::string, int (*)(const Args&)> kCommands = {
      {"validate", Validate}, {"submit", Submit}, {"get", Get},       {"list", List},
      {"watch", Watch},       {"cancel", Cancel}, {"report", Report},
  };
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cerr << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  auto it = kCommands.find(args[0]);
  if (it == kCommands.end()) {
    std::cerr << "flypctl: unknown sweep command '" << args[0] << "'\n" << kUsage;
    return kExitUsage;
  }
  return it->second(Args(args.begin() + 1, args.end()));
}

}  // namespace flyp::cli
