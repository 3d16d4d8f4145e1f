// Command lines: one grammar and one parser for flypctl, flyp-worker and
// flyp-coordinator, with their --help texts, the docs/cli.md reference and
// shell completion all rendered from the same declarations.
//
// Grammar:
//   PROGRAM [GLOBAL FLAGS] [COMMAND [SUBCOMMAND]] [FLAGS] [ARGUMENTS]
//   - a flag is --name VALUE or --name=VALUE; a switch is --name (or
//     --name=true / --name=false); a short alias is -x VALUE or -x=VALUE;
//   - global flags may come before or after the command, command flags
//     anywhere after it, flags and arguments in any order;
//   - "--" ends the flags: everything after it is an argument; "-" alone is
//     an argument (stdin, by convention);
//   - -h / --help anywhere before "--" prints the usage of the command
//     given so far, with every flag, on stdout and exits 0;
//   - --version (when the program has a version) prints it and exits 0;
//   - --help-markdown as the only argument prints MarkdownReference (what
//     scripts/gen-cli-docs collects into docs/cli.md);
//   - an unknown command or flag, a missing or surplus argument, or a value
//     that does not parse is a usage error: the problem (with a did-you-mean
//     suggestion for names), a pointer to --help, exit Program::usage_exit.
//
// Declaring a flag is one line of a command's setup function:
//
//   Command{"cancel", "stop a job", "", [](FlagSet& f) {
//     auto o = std::make_shared<CancelOptions>();
//     f.Arg("ID", &o->id, "the job");
//     f.String("reason", &o->reason, "TEXT", "why (recorded in the job's history)");
//     return [o] { return RunCancel(*o); };
//   }};
//
// The setup function runs once per invocation (its flags bound to fresh
// state) and on a throwaway FlagSet whenever help, docs or completion are
// rendered, so it must not do any work itself.
//
// Thread safety: not synchronised; a FlagSet belongs to one thread.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace flyp {

class FlagSet {
 public:
  using Setter = std::function<Status(const std::string& value)>;

  struct Flag {
    std::string name;        // without the dashes: "server"
    char short_name = 0;     // 'o' for -o; 0: none
    std::string value_name;  // "HOST:PORT"; empty: a switch
    std::string help;
    bool repeatable = false;
    Setter set;
  };
  struct Argument {
    std::string name;  // "FILE"
    std::string help;
    bool optional = false;
    bool variadic = false;  // takes every remaining argument
    Setter set;
  };

  // Flags bound to `out`; the value parses with common/numbers.h and an
  // error names the flag. `help` should state the default when it matters.
  FlagSet& String(const std::string& name, std::string* out, const std::string& value_name,
                  const std::string& help);
  FlagSet& Int(const std::string& name, int* out, const std::string& value_name, const std::string& help);
  FlagSet& Int64(const std::string& name, int64_t* out, const std::string& value_name,
                 const std::string& help);
  FlagSet& Double(const std::string& name, double* out, const std::string& value_name,
                  const std::string& help);
  FlagSet& Switch(const std::string& name, bool* out, const std::string& help);
  // Repeatable: every occurrence appends.
  FlagSet& Strings(const std::string& name, std::vector<std::string>* out, const std::string& value_name,
                   const std::string& help);
  // Anything else: `set` gets the text (its error is the usage error).
  FlagSet& Custom(const std::string& name, const std::string& value_name, const std::string& help, Setter set,
                  bool repeatable = false);
  // A short alias for the flag declared last: f.String("output", ...).Short('o').
  FlagSet& Short(char c);

  // Positional arguments, in order.
  FlagSet& Arg(const std::string& name, std::string* out, const std::string& help);
  FlagSet& OptionalArg(const std::string& name, std::string* out, const std::string& help);
  FlagSet& Args(const std::string& name, std::vector<std::string>* out, const std::string& help,
                bool at_least_one = false);

  const std::vector<Flag>& flags() const { return flags_; }
  const std::vector<Argument>& arguments() const { return args_; }
  const Flag* FindLong(const std::string& name) const;
  const Flag* FindShort(char c) const;
  // Every flag of `other` is added to this set (global flags after a command).
  void AddAll(const FlagSet& other);

 private:
  std::vector<Flag> flags_;
  std::vector<Argument> args_;
};

struct Command {
  // What running the command does, with its flags parsed; returns the exit code.
  using Runner = std::function<int()>;
  // Declares the command's flags and arguments, bound to the state the
  // returned runner uses.
  using Setup = std::function<Runner(FlagSet& flags)>;

  std::string name;
  std::string summary;      // one line, for the command list
  std::string description;  // further paragraphs for --help; may be empty
  Setup setup;              // unused for a group of subcommands
  std::vector<Command> subcommands = {};
};

struct Program {
  std::string name;  // "flypctl"
  std::string summary;
  std::string description;
  // "0.3.0 (git 1a2b3c4)": --version prints "<name> <version>"; empty: no --version.
  std::string version;
  // Flags accepted before and after any command, bound to the program's own
  // state (flypctl: server, token file, CA, output format).
  std::function<void(FlagSet&)> global_flags;
  std::vector<Command> commands;
  // With commands: the command run when the first argument is a flag
  // (flyp-worker --spec job.yaml runs "train"); empty: none.
  std::string default_command;
  // Without commands: the program's own flags and runner (flyp-coordinator).
  Command::Setup setup;
  // A section printed at the end of the top-level --help (environment variables).
  std::string help_footer;
  int usage_exit = 2;
};

// Parses `args` (argv without argv[0]) and runs what they name; returns the
// exit code. Usage and errors go to `out` / `err` as described above.
int RunProgram(const Program& program, const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err);

// Applies `args` to `flags` alone (its flags and arguments; no commands,
// no --help): what RunProgram does after finding the command.
// INVALID_ARGUMENT naming the problem ("unknown flag --lisen; did you mean
// --listen?", "--cpu-slots: expected an integer, got 'x'").
Status ParseFlagSet(const FlagSet& flags, const std::vector<std::string>& args);

// The --help text of `program` (path empty) or of the command at `path`
// ({"config", "use-context"}).
std::string HelpText(const Program& program, const std::vector<std::string>& path = {});
// The reference of every command and flag as Markdown (docs/cli.md).
std::string MarkdownReference(const Program& program);
// Completion scripts: `source <(flypctl completion bash)`; zsh: a #compdef
// function (also usable with `source`).
std::string BashCompletion(const Program& program);
std::string ZshCompletion(const Program& program);

}  // namespace flyp
