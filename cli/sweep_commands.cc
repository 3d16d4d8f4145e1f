// flypctl sweep validate | submit | get | list | watch | cancel | report:
// the SweepService from the command line (docs/sweeps.md).
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "common/file_util.h"
#include "common/spec/spec_yaml.h"
#include "common/spec/sweep_spec.h"
#include "flyp/v1/sweep.grpc.pb.h"

namespace flyp::cli {
namespace {

// A session and its SweepService stub; nullptr after printing why not.
struct SweepSession {
  std::unique_ptr<Session> session;
  std::unique_ptr<v1::SweepService::Stub> stub;
};
std::optional<SweepSession> Open() {
  SweepSession s;
  s.session = Session::Open();
  if (!s.session) return std::nullopt;
  s.stub = v1::SweepService::NewStub(s.session->channel());
  return s;
}

// `m` as -o json or -o yaml print it.
std::string Render(const google::protobuf::Message& m, const std::string& output) {
  return output == "yaml" ? MessageToYaml(m) : MessageToJson(m);
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

int Fetch(const SweepSession& c, const std::string& id, v1::Sweep* sweep) {
  v1::GetSweepRequest req;
  req.set_id(id);
  grpc::Status s = c.stub->GetSweep(c.session->Context().get(), req, sweep);
  return s.ok() ? kExitOk : ReportRpcError(s);
}

// The sweep spec of FILE ('-': stdin), or nullopt after printing every problem.
std::optional<SweepLoad> Load(const std::string& file) {
  SweepLoad load = LoadSweepSpecFile(file == "-" ? "/dev/stdin" : file);
  if (load.ok()) return load;
  std::cerr << load.ErrorText() << file << ": " << load.errors.size() << " problem"
            << (load.errors.size() == 1 ? "" : "s") << "\n";
  return std::nullopt;
}

int Validate(const std::string& file) {
  std::optional<SweepLoad> load = Load(file);
  if (!load) return kExitInvalidSpec;
  std::cout << SweepSpecToYaml(load->spec) << "# " << load->trials.size() << " trials\n";
  for (const TrialPlan& t : load->trials) {
    std::string params;
    for (const auto& p : t.parameters) params += (params.empty() ? "" : " ") + p.path() + "=" + p.value();
    std::cout << "#   " << t.index << "  " << (params.empty() ? "(the base)" : params)
              << (t.group.empty() ? "" : "  [" + t.group + "]") << "\n";
  }
  return kExitOk;
}

int Submit(const std::string& file, const std::string& key) {
  std::optional<SweepLoad> load = Load(file);
  if (!load) return kExitInvalidSpec;
  std::optional<SweepSession> c = Open();
  if (!c) return kExitUsage;
  v1::SubmitSweepRequest req;
  req.set_spec_yaml(SweepSpecToYaml(load->spec));
  req.set_idempotency_key(key);
  v1::SubmitSweepResponse resp;
  grpc::Status s = c->stub->SubmitSweep(c->session->Context().get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s, /*spec_errors=*/true);
  if (Globals().output != "table") {
    std::cout << Render(resp.sweep(), Globals().output);
  } else {
    std::cout << resp.sweep().id() << "\n";
  }
  return kExitOk;
}

int Get(const std::string& id) {
  std::optional<SweepSession> c = Open();
  if (!c) return kExitUsage;
  v1::Sweep sweep;
  if (int rc = Fetch(*c, id, &sweep); rc != kExitOk) return rc;
  if (Globals().output != "table") {
    std::cout << Render(sweep, Globals().output);
  } else {
    PrintSweep(sweep);
  }
  return kExitOk;
}

int List(const std::string& state_list) {
  v1::ListSweepsRequest req;
  std::stringstream states(state_list);
  for (std::string st; std::getline(states, st, ',');) {
    std::string upper;
    for (char c : st) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    v1::SweepState v;
    if (!v1::SweepState_Parse("SWEEP_STATE_" + upper, &v)) {
      std::cerr << "flypctl sweep list: unknown sweep state '" << st
                << "' (running, succeeded, failed, cancelled)\n";
      return kExitUsage;
    }
    req.add_states(v);
  }
  std::optional<SweepSession> c = Open();
  if (!c) return kExitUsage;
  req.set_page_size(500);
  v1::ListSweepsResponse all;
  for (;;) {
    v1::ListSweepsResponse resp;
    grpc::Status s = c->stub->ListSweeps(c->session->Context().get(), req, &resp);
    if (!s.ok()) return ReportRpcError(s);
    for (auto& w : *resp.mutable_sweeps()) *all.add_sweeps() = std::move(w);
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  if (Globals().output != "table") {
    std::cout << Render(all, Globals().output);
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

int Watch(const std::string& id) {
  std::optional<SweepSession> c = Open();
  if (!c) return kExitUsage;
  v1::WatchSweepRequest req;
  req.set_id(id);
  auto ctx = c->session->Context(0);
  auto reader = c->stub->WatchSweep(ctx.get(), req);
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

int Cancel(const std::string& id, const std::string& reason) {
  std::optional<SweepSession> c = Open();
  if (!c) return kExitUsage;
  v1::CancelSweepRequest req;
  req.set_id(id);
  req.set_reason(reason);
  v1::Sweep sweep;
  grpc::Status s = c->stub->CancelSweep(c->session->Context(120).get(), req, &sweep);
  if (!s.ok()) return ReportRpcError(s);
  std::cout << sweep.id() << " " << SweepState(sweep.status().state()) << "\n";
  return kExitOk;
}

int Report(const std::string& id, const std::string& format, const std::string& out) {
  v1::GetSweepReportRequest req;
  req.set_id(id);
  if (format == "md" || format == "markdown") {
    req.set_format(v1::SWEEP_REPORT_FORMAT_MARKDOWN);
  } else if (format == "json") {
    req.set_format(v1::SWEEP_REPORT_FORMAT_JSON);
  } else if (format == "svg") {
    req.set_format(v1::SWEEP_REPORT_FORMAT_SVG);
  } else {
    std::cerr << "flypctl sweep report: --format must be md, json or svg (got '" << format << "')\n";
    return kExitUsage;
  }
  std::optional<SweepSession> c = Open();
  if (!c) return kExitUsage;
  v1::SweepReport resp;
  grpc::Status s = c->stub->GetSweepReport(c->session->Context(120).get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s);
  if (out.empty() || out == "-") {
    std::cout << resp.content();
    return kExitOk;
  }
  Status w = WriteFileAtomic(out, resp.content());
  if (!w.ok()) {
    std::cerr << "flypctl sweep report: " << w.message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

template <typename T>
std::shared_ptr<T> Make() {
  return std::make_shared<T>();
}

Command::Setup IdCommand(int (*run)(const std::string&)) {
  return [run](FlagSet& f) {
    auto id = Make<std::string>();
    f.Arg("ID", id.get(), "the sweep (e.g. sweep-000003)");
    return [run, id] { return run(*id); };
  };
}

}  // namespace

Command SweepCommand() {
  Command sweep{"sweep", "hyperparameter sweeps: trials as ordinary jobs, the best by ID validation",
                "A sweep spec is a base job spec, a search space over its field paths, a method (grid, "
                "random, successive halving), an objective (id_val accuracy) and a group_by "
                "(docs/sweeps.md; examples/table1-mini.sweep.yaml).",
                nullptr};
  sweep.subcommands.push_back(
      {"validate", "check a sweep spec and every trial's job spec; print them",
       "Prints every problem as 'field.path: message' and exits 3, or the normalised sweep spec and "
       "its trials and exits 0. Nothing is sent to a server.",
       [](FlagSet& f) {
         auto file = Make<std::string>();
         f.Arg("FILE", file.get(), "the sweep spec (YAML); '-': stdin");
         return [file] { return Validate(*file); };
       }});
  sweep.subcommands.push_back(
      {"submit", "validate a sweep spec, submit it, print the sweep id", "", [](FlagSet& f) {
         auto file = Make<std::string>();
         auto key = Make<std::string>();
         f.Arg("FILE", file.get(), "the sweep spec (YAML); '-': stdin");
         f.String("idempotency-key", key.get(), "KEY",
                  "resubmitting with the same key returns the first sweep instead of a new one");
         return [file, key] { return Submit(*file, *key); };
       }});
  sweep.subcommands.push_back(
      {"get", "a sweep, its history and its trials (-o json|yaml: the whole sweep)", "", IdCommand(Get)});
  sweep.subcommands.push_back({"list", "your sweeps", "", [](FlagSet& f) {
                                 auto states = Make<std::string>();
                                 f.String(
                                     "state", states.get(), "STATE[,STATE...]",
                                     "only sweeps in these states (running, succeeded, failed, cancelled)");
                                 return [states] { return List(*states); };
                               }});
  sweep.subcommands.push_back({"watch", "follow a sweep until it ends (exit 0 only if it SUCCEEDED)",
                               "A line per trial change and per sweep transition.", IdCommand(Watch)});
  sweep.subcommands.push_back(
      {"cancel", "stop a sweep's trials; waits until their jobs are gone", "", [](FlagSet& f) {
         auto id = Make<std::string>();
         auto reason = Make<std::string>();
         f.Arg("ID", id.get(), "the sweep");
         f.String("reason", reason.get(), "TEXT", "why (kept in the sweep's history)");
         return [id, reason] { return Cancel(*id, *reason); };
       }});
  sweep.subcommands.push_back(
      {"report", "the sweep report: chosen configuration per group, mean ± std, intervals",
       "Markdown by default; --format json (the same numbers) or svg (the WiSE-FT curves of the "
       "chosen configurations).",
       [](FlagSet& f) {
         auto id = Make<std::string>();
         auto format = std::make_shared<std::string>("md");
         auto out = Make<std::string>();
         f.Arg("ID", id.get(), "the sweep");
         f.String("format", format.get(), "md|json|svg", "what to print (default md)");
         f.String("out", out.get(), "FILE", "write it to FILE instead of stdout");
         return [id, format, out] { return Report(*id, *format, *out); };
       }});
  return sweep;
}

}  // namespace flyp::cli
