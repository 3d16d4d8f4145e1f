// flypctl subcommands. Each takes its arguments after the subcommand name and
// returns the process exit code (see cli/exit_codes.h). Commands that talk to
// the coordinator accept --server, --token and --tls-ca (defaults from
// FLYP_SERVER, FLYP_TOKEN, FLYP_TLS_CA) anywhere after the command name.
#pragma once

#include <string>
#include <vector>

namespace flyp::cli {

using Args = std::vector<std::string>;

// flypctl validate FILE: every problem of a spec, one "path: message" per
// line on stderr, exit kExitInvalidSpec; or the normalised spec as YAML on
// stdout, exit 0.
int RunValidate(const Args& args);

// flypctl submit FILE: validates locally (exit kExitInvalidSpec with every
// problem), submits, prints the job id.
int RunSubmit(const Args& args);
int RunGet(const Args& args);        // get ID [-o table|json]
int RunDescribe(const Args& args);   // describe ID: status, history, spec
int RunList(const Args& args);       // list [--state S,..] [--name X] [-o table|json]
int RunCancel(const Args& args);     // cancel ID [--reason R]; waits until the world is gone
int RunWatch(const Args& args);      // watch ID: live progress; exit 0 iff SUCCEEDED
int RunLogs(const Args& args);       // logs ID [-f] [--rank R] [--tail N]
int RunArtifacts(const Args& args);  // artifacts ID
int RunDownload(const Args& args);   // download ID PATH [--out FILE]
// sweep validate|submit|get|list|watch|cancel|report ... (cli/sweep_commands.cc)
int RunSweep(const Args& args);

}  // namespace flyp::cli
