#include "common/flags.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "tests/testing/test_env.h"

namespace flyp {
namespace {

// A program shaped like flypctl: global flags, commands, a group.
struct State {
  std::string server = "localhost:50051";
  std::string output = "table";
  std::string file, reason, id;
  std::vector<std::string> sets, paths;
  bool watch = false;
  int rank = -1;
  double timeout = 5;
  std::string ran;
};

Program TestProgram(State* st) {
  Program p;
  p.name = "tool";
  p.summary = "a test tool";
  p.version = "1.2.3 (git abc)";
  p.global_flags = [st](FlagSet& f) {
    f.String("server", &st->server, "HOST:PORT", "where the server is");
    f.String("output", &st->output, "FORMAT", "table, json or yaml").Short('o');
  };
  p.commands.push_back({"submit", "submit a spec", "Reads FILE ('-': stdin).", [st](FlagSet& f) {
                          f.Arg("FILE", &st->file, "the spec");
                          f.Strings("set", &st->sets, "PATH=VALUE", "override a field");
                          f.Switch("watch", &st->watch, "follow the job").Short('w');
                          return [st] {
                            st->ran = "submit";
                            return 0;
                          };
                        }});
  p.commands.push_back({"logs", "a job's output", "", [st](FlagSet& f) {
                          f.Arg("ID", &st->id, "the job");
                          f.Int("rank", &st->rank, "R", "only this rank");
                          f.Double("timeout", &st->timeout, "SECONDS", "give up after this long");
                          return [st] {
                            st->ran = "logs";
                            return 7;
                          };
                        }});
  p.commands.push_back({"download", "fetch files", "", [st](FlagSet& f) {
                          f.Arg("ID", &st->id, "the job");
                          f.Args("PATH", &st->paths, "files or folders");
                          return [st] {
                            st->ran = "download";
                            return 0;
                          };
                        }});
  Command config{"config", "contexts", "", nullptr, {}};
  config.subcommands.push_back({"use-context", "switch", "", [st](FlagSet& f) {
                                  f.Arg("NAME", &st->id, "the context");
                                  return [st] {
                                    st->ran = "config use-context";
                                    return 0;
                                  };
                                }});
  p.commands.push_back(config);
  return p;
}

struct Outcome {
  int code;
  std::string out, err;
};

Outcome RunTool(State* st, const std::vector<std::string>& args) {
  Program p = TestProgram(st);
  std::ostringstream out, err;
  int code = RunProgram(p, args, out, err);
  return {code, out.str(), err.str()};
}

TEST(FlagsTest, ValuesInBothSpellingsAndGlobalFlagsOnEitherSide) {
  State st;
  Outcome r = RunTool(
      &st, {"--server", "a:1", "submit", "spec.yaml", "--set", "x=1", "--set=y=2", "-w", "-o", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(st.ran, "submit");
  EXPECT_EQ(st.server, "a:1");
  EXPECT_EQ(st.file, "spec.yaml");
  EXPECT_EQ(st.sets, (std::vector<std::string>{"x=1", "y=2"}));
  EXPECT_TRUE(st.watch);
  EXPECT_EQ(st.output, "json");

  State st2;
  r = RunTool(&st2, {"-o=yaml", "submit", "--server=b:2", "--watch=false", "-"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(st2.output, "yaml");
  EXPECT_EQ(st2.server, "b:2");
  EXPECT_FALSE(st2.watch);
  EXPECT_EQ(st2.file, "-");  // "-" is an argument (stdin)
}

TEST(FlagsTest, TypedValuesAndTheirErrors) {
  State st;
  Outcome r = RunTool(&st, {"logs", "job-1", "--rank", "3", "--timeout=2.5"});
  EXPECT_EQ(r.code, 7);  // the runner's exit code
  EXPECT_EQ(st.rank, 3);
  EXPECT_EQ(st.timeout, 2.5);
  r = RunTool(&st, {"logs", "job-1", "--rank", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tool logs: --rank: expected an integer, got 'x'\nRun 'tool logs --help' for usage.\n");
  r = RunTool(&st, {"logs", "job-1", "--rank"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--rank needs a value (R)"), std::string::npos) << r.err;
  r = RunTool(&st, {"submit", "--watch=maybe", "f"});
  EXPECT_NE(r.err.find("--watch: expected true or false, got 'maybe'"), std::string::npos) << r.err;
}

TEST(FlagsTest, ArgumentsAreCountedAndDoubleDashEndsFlags) {
  State st;
  Outcome r = RunTool(&st, {"submit"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("tool submit: missing FILE"), std::string::npos) << r.err;
  r = RunTool(&st, {"submit", "a", "b"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unexpected argument 'b'"), std::string::npos) << r.err;
  State st2;
  r = RunTool(&st2, {"submit", "--", "--weird-name.yaml"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(st2.file, "--weird-name.yaml");
  State st3;
  r = RunTool(&st3, {"download", "job-1"});
  EXPECT_EQ(r.code, 0) << r.err;  // PATH... is optional
  r = RunTool(&st3, {"download", "job-1", "a", "b/c"});
  EXPECT_EQ(st3.paths, (std::vector<std::string>{"a", "b/c"}));
}

TEST(FlagsTest, DidYouMeanForCommandsAndFlags) {
  State st;
  Outcome r = RunTool(&st, {"sumbit", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "tool: unknown command 'sumbit'; did you mean submit?\nRun 'tool --help' for the commands.\n");
  r = RunTool(&st, {"submit", "x", "--wacth"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(
      r.err,
      "tool submit: unknown flag --wacth; did you mean --watch?\nRun 'tool submit --help' for usage.\n");
  r = RunTool(&st, {"submit", "x", "--srever=a"});  // global flags are candidates too
  EXPECT_NE(r.err.find("unknown flag --srever; did you mean --server?"), std::string::npos) << r.err;
  r = RunTool(&st, {"config", "use-contxt", "a"});
  EXPECT_NE(r.err.find("tool config: unknown command 'use-contxt'; did you mean use-context?"),
            std::string::npos)
      << r.err;
  r = RunTool(&st, {"--bogus", "submit", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("tool: unknown flag --bogus"), std::string::npos) << r.err;
  State st2;
  r = RunTool(&st2, {"config", "use-context", "prod"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(st2.ran, "config use-context");
  r = RunTool(&st2, {"config"});  // a group without its subcommand
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("use-context"), std::string::npos) << r.err;
}

TEST(FlagsTest, HelpAnywhereListsEveryFlagAndExitsZero) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"submit", "--help"}, {"submit", "-h"}, {"--help", "submit"}, {"submit", "x", "--bogus", "-h"}}) {
    State st;
    Outcome r = RunTool(&st, args);
    EXPECT_EQ(r.code, 0) << args[0];
    EXPECT_EQ(st.ran, "") << "help must not run the command";
    for (const char* want :
         {"Usage:\n  tool submit [flags] FILE", "--set PATH=VALUE", "-w, --watch", "--server HOST:PORT",
          "-o, --output FORMAT", "-h, --help", "Reads FILE ('-': stdin)."}) {
      EXPECT_NE(r.out.find(want), std::string::npos) << want << " missing in\n" << r.out;
    }
  }
  State st;
  Outcome top = RunTool(&st, {"-h"});
  EXPECT_EQ(top.code, 0);
  for (const char* want : {"submit", "logs", "config", "(use-context)", "--version"}) {
    EXPECT_NE(top.out.find(want), std::string::npos) << want << "\n" << top.out;
  }
  Outcome group = RunTool(&st, {"config", "--help"});
  EXPECT_EQ(group.code, 0);
  EXPECT_NE(group.out.find("use-context"), std::string::npos) << group.out;
  Outcome sub = RunTool(&st, {"config", "use-context", "--help"});
  EXPECT_EQ(sub.code, 0);
  EXPECT_NE(sub.out.find("tool config use-context [flags] NAME"), std::string::npos) << sub.out;
  Outcome none = RunTool(&st, {});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("Commands:"), std::string::npos);
  Outcome version = RunTool(&st, {"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_EQ(version.out, "tool 1.2.3 (git abc)\n");
}

TEST(FlagsTest, DefaultCommandAndProgramsWithoutCommands) {
  std::string spec;
  Program worker;
  worker.name = "worker";
  worker.default_command = "train";
  worker.commands.push_back({"train", "train", "", [&spec](FlagSet& f) {
                               f.String("spec", &spec, "FILE", "the spec");
                               return [] { return 0; };
                             }});
  std::ostringstream out, err;
  EXPECT_EQ(RunProgram(worker, {"--spec", "a.yaml"}, out, err), 0) << err.str();
  EXPECT_EQ(spec, "a.yaml");
  EXPECT_EQ(RunProgram(worker, {"train", "--spec=b.yaml"}, out, err), 0) << err.str();
  EXPECT_EQ(spec, "b.yaml");

  std::string listen;
  Program server;
  server.name = "server";
  server.setup = [&listen](FlagSet& f) {
    f.String("listen", &listen, "HOST:PORT", "where to serve");
    return [] { return 5; };
  };
  EXPECT_EQ(RunProgram(server, {"--listen", "0:1"}, out, err), 5);
  EXPECT_EQ(listen, "0:1");
  std::ostringstream help;
  EXPECT_EQ(RunProgram(server, {"--help"}, help, err), 0);
  EXPECT_NE(help.str().find("--listen HOST:PORT"), std::string::npos) << help.str();
  std::ostringstream bad;
  EXPECT_EQ(RunProgram(server, {"--lisen", "x"}, out, bad), 2);
  EXPECT_NE(bad.str().find("unknown flag --lisen; did you mean --listen?"), std::string::npos) << bad.str();
}

TEST(FlagsTest, MarkdownReferenceHasEveryCommandAndFlag) {
  State st;
  const std::string md = MarkdownReference(TestProgram(&st));
  for (const char* want : {"## tool", "### `tool submit`", "`--set PATH=VALUE`", "`-w`, `--watch`",
                           "### `tool config use-context`", "`--server HOST:PORT`", "| `PATH...` |"}) {
    EXPECT_NE(md.find(want), std::string::npos) << want << "\n" << md;
  }
}

// The generated bash completion, sourced into a real bash with COMP_WORDS
// set as bash sets them.
std::string Complete(const std::string& script, const std::string& line) {
  const std::string path = testing::TempDir() + "/completion.bash";
  std::ofstream(path) << script;
  std::string cmd = "bash -c 'source " + path + "; COMP_WORDS=(" + line +
                    "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _tool; echo \"${COMPREPLY[*]}\"'";
  return testing::RunCommand(cmd).out;
}

TEST(FlagsTest, BashCompletionOffersCommandsFlagsAndSubcommands) {
  State st;
  const std::string script = BashCompletion(TestProgram(&st));
  EXPECT_EQ(Complete(script, "tool su"), "submit\n");
  EXPECT_EQ(Complete(script, "tool submit --wa"), "--watch\n");
  EXPECT_EQ(Complete(script, "tool --server a:1 lo"), "logs\n");  // a global flag's value is skipped
  EXPECT_EQ(Complete(script, "tool config us"), "use-context\n");
  EXPECT_EQ(Complete(script, "tool logs x --ra"), "--rank\n");
  EXPECT_NE(ZshCompletion(TestProgram(&st)).find("#compdef tool"), std::string::npos);
}

}  // namespace
}  // namespace flyp
