// flypctl's command line: every command, flag and argument, declared once.
#include <memory>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/nodes_command.h"
#include "common/env.h"
#include "common/numbers.h"
#include "common/version.h"

namespace flyp::cli {
namespace {

template <typename T>
std::shared_ptr<T> Make() {
  return std::make_shared<T>();
}

void SpecFlags(FlagSet& f, SpecOptions* o) {
  f.Arg("FILE", &o->file,
        "the job spec: YAML or JSON, or a job as 'flypctl get -o yaml|json' prints it; '-': stdin");
  f.Strings("set", &o->sets, "PATH=VALUE",
            "override a field of the spec, typed by the schema (optim.learning_rate=1e-5, method.name=ft, "
            "wise_ft.alphas=[0,0.5,1], data.ood[0].limit=500)");
}

Command::Setup IdCommand(int (*run)(const std::string&)) {
  return [run](FlagSet& f) {
    auto id = Make<std::string>();
    f.Arg("ID", id.get(), "the job (e.g. job-000042)");
    return [run, id] { return run(*id); };
  };
}

std::string EnvironmentHelp() {
  std::string out = "Environment:\n";
  for (const EnvVar* v :
       {&env::kServer, &env::kToken, &env::kTokenFile, &env::kTlsCa, &env::kConfig, &env::kContext}) {
    std::string name = std::string("  ") + v->name;
    out += name + std::string(name.size() < 20 ? 20 - name.size() : 1, ' ') + v->help + "\n";
  }
  return out +
         "\nExit codes: 0 ok, 1 failed (RPC error, job failed), 2 bad command line, 3 invalid job spec.\n";
}

}  // namespace

Program FlypctlProgram() {
  Program p;
  p.name = "flypctl";
  p.summary = "the command-line client of flyp: submit, follow and inspect finetuning jobs";
  p.version = VersionString();
  p.usage_exit = kExitUsage;
  p.global_flags = [](FlagSet& f) { DeclareGlobalFlags(f, &Globals()); };
  p.help_footer = EnvironmentHelp();

  p.commands.push_back(
      {"validate", "check a job spec and print it normalised (defaults filled in)",
       "Prints every problem as 'field.path: message' and exits 3, or the normalised spec as YAML "
       "and exits 0. Nothing is sent to a server.",
       [](FlagSet& f) {
         auto o = Make<SpecOptions>();
         SpecFlags(f, o.get());
         return [o] { return RunValidate(*o); };
       }});
  p.commands.push_back(
      {"submit", "validate a job spec and submit it; prints the job id",
       "The spec is checked locally first (exit 3 with every problem). With --watch, follows the "
       "job as 'flypctl watch' does and exits with its outcome: 0 when it succeeded, 1 otherwise.\n"
       "\n"
       "  flypctl submit examples/fashion-mnist-flyp.yaml --set schedule.epochs=1 --watch\n"
       "  flypctl get job-000007 -o yaml | flypctl submit -",
       [](FlagSet& f) {
         auto o = Make<SubmitOptions>();
         SpecFlags(f, &o->spec);
         f.Switch("watch", &o->watch, "follow the job to its end and exit with its outcome").Short('w');
         f.String("idempotency-key", &o->idempotency_key, "KEY",
                  "resubmitting with the same key returns the first job instead of a new one");
         return [o] { return RunSubmit(*o); };
       }});
  p.commands.push_back(
      {"get", "one job as a table row (-o json|yaml: the whole job, resubmittable)",
       "Columns: ID, NAME, OWNER, STATE, AGE, STEP (last training step), LOSS (its loss), STATUS "
       "(the stage of a running job; ID and mean OOD accuracy of the chosen model of a finished "
       "one). -o json and -o yaml print the job with its spec in the spec files' own field names, "
       "so the output can be given to 'flypctl submit' as it is.",
       IdCommand(RunGet)});
  p.commands.push_back(
      {"describe", "a job's status, stage, result, history and spec", "", IdCommand(RunDescribe)});
  p.commands.push_back(
      {"list", "jobs, filtered by state or name (--watch follows them)", "", [](FlagSet& f) {
         auto o = Make<ListOptions>();
         f.String("state", &o->states, "STATE[,STATE...]",
                  "only jobs in these states (queued, running, succeeded, failed, ...)");
         f.String("name", &o->name, "TEXT", "only jobs whose name contains TEXT");
         f.String("sweep", &o->sweep, "SWEEP-ID", "only the jobs of this sweep's trials");
         f.Switch("watch", &o->watch, "after the table, print a job's row again whenever it changes")
             .Short('w');
         f.Double("interval", &o->interval_s, "SECONDS", "how often --watch polls (default 2)");
         return [o] { return RunList(*o); };
       }});
  p.commands.push_back(
      {"watch", "follow a job until it ends: a progress bar, evaluations, the report",
       "On a terminal the progress bar (percent, step/total, epoch, loss, samples/s, ETA) is "
       "redrawn in place, every evaluation gets a line ('zero-shot · id_test 76.8 %') and the "
       "report table ends it; piped, every update is a plain line. Exit 0 only if the job "
       "SUCCEEDED.",
       IdCommand(RunWatch)});
  p.commands.push_back(
      {"logs", "a job's world output (-f follows)",
       "Lines of every rank, prefixed '[rank R]' ('[mpirun]' for the launcher's own), as whole "
       "lines even where a rank wrote them in pieces.",
       [](FlagSet& f) {
         auto o = Make<LogsOptions>();
         f.Arg("ID", &o->id, "the job");
         f.Switch("follow", &o->follow, "keep streaming until the job ends").Short('f');
         f.Custom("rank", "R", "only rank R's lines, unprefixed (-1: mpirun's own)",
                  [o](const std::string& v) -> Status {
                    FLYP_ASSIGN_OR_RETURN(o->rank, ParseInt32(v, "--rank", -1));
                    return Status::Ok();
                  });
         f.Int("tail", &o->tail, "N", "only the last N lines (0: all)");
         f.Switch("timestamps", &o->timestamps, "prefix every line with the time it was written");
         f.String("since", &o->since, "DURATION|TIME",
                  "only lines written in the last DURATION (90s, 10m, 2h) or since an RFC 3339 time");
         return [o] { return RunLogs(*o); };
       }});
  p.commands.push_back({"cancel", "stop a job; waits until its world is gone", "", [](FlagSet& f) {
                          auto id = Make<std::string>();
                          auto reason = Make<std::string>();
                          f.Arg("ID", id.get(), "the job");
                          f.String("reason", reason.get(), "TEXT", "why (kept in the job's history)");
                          return [id, reason] { return RunCancel(*id, *reason); };
                        }});
  p.commands.push_back({"artifacts", "list a job's artifacts (checkpoints, reports, plots, logs)", "",
                        IdCommand(RunArtifacts)});
  p.commands.push_back(
      {"download", "fetch a job's files or whole folders, checked against the server's checksum",
       "Each file is written to a temporary name and renamed once its CRC32C matches the one the server "
       "sent, so a "
       "failed download never leaves a partial file. A PATH that is a folder of the job (checkpoints, logs) "
       "brings "
       "its files with their relative paths; without PATH, everything goes into ./ID/. A progress bar shows "
       "on a "
       "terminal.\n"
       "\n"
       "  flypctl download job-000007 report.md wiseft.svg -d results/\n"
       "  flypctl download job-000007 final.safetensors --out base.safetensors",
       [](FlagSet& f) {
         auto o = Make<DownloadOptions>();
         f.Arg("ID", &o->id, "the job");
         f.Args("PATH", &o->paths, "files or folders, relative to the job's artifact folder (default: all)");
         f.String("dir", &o->dir, "DIR", "where to write (default: ., or ./ID/ for everything)").Short('d');
         f.String("out", &o->out, "FILE", "the file to write a single PATH to ('-': stdout)");
         return [o] { return RunDownload(*o); };
       }});
  p.commands.push_back(
      {"report", "a finished job's report as a table (-o json: report.json as it is)", "", [](FlagSet& f) {
         auto o = Make<ReportOptions>();
         f.Arg("ID", &o->id, "the job");
         f.Switch("markdown", &o->markdown, "print report.md instead of the table");
         return [o] { return RunReport(*o); };
       }});
  p.commands.push_back(
      {"health", "check a server's gRPC health (exit 0 when serving; no token needed)",
       "Used by the Docker HEALTHCHECK and Kubernetes exec probes.", [](FlagSet& f) {
         auto o = Make<HealthOptions>();
         f.String("service", &o->service, "NAME", "the service to ask about (default: the server)");
         f.Double("timeout", &o->timeout_s, "SECONDS", "give up after this long (default 5)");
         return [o] { return RunHealth(*o); };
       }});
  p.commands.push_back({"nodes", "the coordinator's hosts: health, CPU slots and GPUs in use, jobs",
                        "One row per host of every pool (or of --pool): its state (up | down, with the "
                        "reason and when it is probed next), CPU slots and GPUs in use of those it has, "
                        "its labels and the jobs on it.",
                        [](FlagSet& f) {
                          auto pool = Make<std::string>();
                          f.String("pool", pool.get(), "NAME", "only this pool's hosts");
                          return [pool] { return RunNodes(*pool); };
                        }});
  p.commands.push_back({"version", "flypctl's version and, when reachable, the server's", "",
                        [](FlagSet&) { return [] { return RunVersion(); }; }});
  p.commands.push_back({"completion", "print a shell completion script (bash or zsh)",
                        "  source <(flypctl completion bash)      # in ~/.bashrc\n"
                        "  flypctl completion zsh > \"${fpath[1]}/_flypctl\"",
                        [](FlagSet& f) {
                          auto shell = Make<std::string>();
                          f.Arg("SHELL", shell.get(), "bash or zsh");
                          return [shell] { return RunCompletion(*shell); };
                        }});
  p.commands.push_back(ConfigCommand());
  p.commands.push_back(SweepCommand());
  return p;
}

}  // namespace flyp::cli
