// flypctl's commands. FlypctlProgram() is the whole command line (one
// table: common/flags.h renders --help, docs/cli.md and the completion
// scripts from it); each Run* takes its command's parsed options and
// returns the process exit code (cli/exit_codes.h). Commands that talk to
// the coordinator resolve the global flags (cli/client.h) themselves.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/flags.h"

namespace flyp::cli {

Program FlypctlProgram();

struct SpecOptions {
  std::string file;               // '-': stdin
  std::vector<std::string> sets;  // --set PATH=VALUE
};
struct SubmitOptions {
  SpecOptions spec;
  std::string idempotency_key;
  bool watch = false;
};
struct ListOptions {
  std::string states;  // "running,queued"
  std::string name;
  std::string sweep;  // a sweep id: only its trials' jobs
  bool watch = false;
  double interval_s = 2;
};
struct LogsOptions {
  std::string id;
  bool follow = false;
  std::optional<int> rank;
  int tail = 0;
  bool timestamps = false;
  std::string since;  // a duration ("10m") or an RFC 3339 time
};
struct DownloadOptions {
  std::string id;
  std::vector<std::string> paths;  // files or folders of the job; none: everything
  std::string dir;                 // -d; default: "." (or ./<id>/ for everything)
  std::string out;                 // --out FILE for a single file ('-': stdout)
};
struct ReportOptions {
  std::string id;
  bool markdown = false;
};
struct HealthOptions {
  std::string service;
  double timeout_s = 5;
};

int RunValidate(const SpecOptions& o);
int RunSubmit(const SubmitOptions& o);
int RunGet(const std::string& id);
int RunDescribe(const std::string& id);
int RunList(const ListOptions& o);
int RunCancel(const std::string& id, const std::string& reason);
int RunWatch(const std::string& id);
int RunLogs(const LogsOptions& o);
int RunArtifacts(const std::string& id);
int RunDownload(const DownloadOptions& o);
int RunReport(const ReportOptions& o);
int RunHealth(const HealthOptions& o);
int RunVersion();
int RunCompletion(const std::string& shell);

// `flypctl config ...`: its subcommands.
Command ConfigCommand();
// `flypctl sweep ...`: its subcommands (cli/sweep_commands.cc).
Command SweepCommand();

}  // namespace flyp::cli
