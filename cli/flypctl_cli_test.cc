// The real flypctl binary without a server: --help of every command, the
// did-you-mean paths, global flags on either side of the command, config
// contexts and their precedence, completion, validate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>

#include "cli/commands.h"
#include "tests/testing/test_env.h"

namespace flyp::cli {
namespace {

using Result = testing::CommandResult;

std::string Bin() {
  const char* bin = std::getenv("FLYPCTL");
  return bin ? bin : "flypctl";
}

// flypctl with stderr folded into stdout, with an empty config and no
// FLYP_ settings from the environment unless `env` sets them.
Result Flypctl(const std::string& args, const std::string& env = "") {
  const std::string config = testing::TempDir() + "/no-config.yaml";
  return testing::RunCommand(
      "env -u FLYP_SERVER -u FLYP_TOKEN -u FLYP_TOKEN_FILE -u FLYP_TLS_CA -u FLYP_CONTEXT "
      "FLYP_CONFIG=" +
      config + " " + env + " " + Bin() + " " + args);
}

// Every command path of the program ("submit", "config use-context") with
// its flags.
void ForEachCommand(const std::function<void(const std::string&, const FlagSet&)>& f) {
  const Program p = FlypctlProgram();
  std::function<void(const Command&, const std::string&)> visit = [&](const Command& c,
                                                                      const std::string& path) {
    FlagSet fs;
    if (c.setup) c.setup(fs);
    f(path, fs);
    for (const Command& s : c.subcommands) visit(s, path + " " + s.name);
  };
  for (const Command& c : p.commands) visit(c, c.name);
}

TEST(FlypctlCliTest, EveryCommandsHelpExitsZeroAndListsEveryFlag) {
  FlagSet globals;
  FlypctlProgram().global_flags(globals);
  int commands = 0;
  ForEachCommand([&](const std::string& path, const FlagSet& fs) {
    ++commands;
    for (const char* help : {"--help", "-h"}) {
      Result r = Flypctl(path + " " + help);
      EXPECT_EQ(r.code, 0) << path << " " << help << ":\n" << r.out;
      EXPECT_NE(r.out.find("flypctl " + path), std::string::npos) << r.out;
      for (const auto& flag : fs.flags())
        EXPECT_NE(r.out.find("--" + flag.name), std::string::npos) << path << ": " << flag.name;
      for (const auto& arg : fs.arguments())
        EXPECT_NE(r.out.find(arg.name), std::string::npos) << path << ": " << arg.name;
      if (fs.flags().size() + fs.arguments().size() > 0) {  // a command, not a group: the global flags too
        for (const auto& flag : globals.flags())
          EXPECT_NE(r.out.find("--" + flag.name), std::string::npos) << path;
      }
    }
  });
  EXPECT_GE(commands, 20);  // 15 commands and the config group's 5
  // Help before the command, and the top level.
  Result before = Flypctl("--help logs");
  EXPECT_EQ(before.code, 0);
  EXPECT_NE(before.out.find("--timestamps"), std::string::npos) << before.out;
  Result top = Flypctl("--help");
  EXPECT_EQ(top.code, 0);
  ForEachCommand([&](const std::string& path, const FlagSet&) {
    if (path.find(' ') == std::string::npos) {
      EXPECT_NE(top.out.find("  " + path + " "), std::string::npos) << path;
    }
  });
  EXPECT_EQ(Flypctl("").code, 2);  // no command: usage on stderr
}

TEST(FlypctlCliTest, DidYouMean) {
  Result cmd = Flypctl("sumbit job.yaml");
  EXPECT_EQ(cmd.code, 2);
  EXPECT_EQ(
      cmd.out,
      "flypctl: unknown command 'sumbit'; did you mean submit?\nRun 'flypctl --help' for the commands.\n");
  Result flag = Flypctl("logs job-000001 --timestaps");
  EXPECT_EQ(flag.code, 2);
  EXPECT_EQ(flag.out,
            "flypctl logs: unknown flag --timestaps; did you mean --timestamps?\nRun 'flypctl logs --help' "
            "for usage.\n");
  Result global = Flypctl("get job-000001 --sever localhost:1");
  EXPECT_EQ(global.code, 2);
  EXPECT_NE(global.out.find("unknown flag --sever; did you mean --server?"), std::string::npos) << global.out;
  Result sub = Flypctl("config use-contex prod");
  EXPECT_EQ(sub.code, 2);
  EXPECT_NE(sub.out.find("flypctl config: unknown command 'use-contex'; did you mean use-context?"),
            std::string::npos)
      << sub.out;
  Result output = Flypctl("get job-000001 -o xml");
  EXPECT_EQ(output.code, 2);
  EXPECT_NE(output.out.find("-o must be table, json or yaml (got 'xml')"), std::string::npos) << output.out;
  EXPECT_EQ(Flypctl("get").code, 2);              // missing ID
  EXPECT_EQ(Flypctl("get a b").code, 2);          // one ID only
  EXPECT_EQ(Flypctl("completion fish").code, 2);  // bash or zsh
}

TEST(FlypctlCliTest, GlobalFlagsBeforeOrAfterTheCommandAndBothSpellings) {
  // Nothing listens on port 1: version names the server it tried.
  for (const char* args : {"--server 127.0.0.1:1 version", "version --server=127.0.0.1:1",
                           "--server=127.0.0.1:1 version -o json"}) {
    Result r = Flypctl(args);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("127.0.0.1:1 not reachable"), std::string::npos) << args << "\n" << r.out;
    EXPECT_NE(r.out.find("0.1.0"), std::string::npos) << r.out;
  }
  Result v = Flypctl("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("flypctl 0.1.0 (git ", 0), 0u) << v.out;
}

TEST(FlypctlCliTest, ContextsAndTheirPrecedence) {
  const std::string dir = testing::TempDir() + "/contexts";
  const std::string env = "FLYP_CONFIG=" + dir + "/config.yaml";
  Result none = Flypctl("config get-contexts", env);
  EXPECT_EQ(none.code, 0) << none.out;
  Result a = Flypctl("config set-context prod --server 127.0.0.1:2 --token-file prod.token", env);
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_NE(a.out.find("created context prod"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("(current)"), std::string::npos) << a.out;  // the first context becomes current
  ASSERT_EQ(Flypctl("config set-context dev --server=127.0.0.1:3", env).code, 0);
  std::ofstream(dir + "/prod.token") << "tok-prod\n";  // relative to the config file's folder
  Result list = Flypctl("config get-contexts", env);
  EXPECT_NE(list.out.find("*        prod"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("127.0.0.1:3"), std::string::npos) << list.out;
  Result current = Flypctl("config current-context", env);
  EXPECT_EQ(current.out, "prod\n");

  // The context's server, unless the environment or a flag says otherwise.
  EXPECT_NE(Flypctl("version", env).out.find("127.0.0.1:2 not reachable"), std::string::npos);
  EXPECT_NE(Flypctl("version", env + " FLYP_SERVER=127.0.0.1:4").out.find("127.0.0.1:4 not reachable"),
            std::string::npos);
  EXPECT_NE(
      Flypctl("version --server 127.0.0.1:5", env + " FLYP_SERVER=127.0.0.1:4").out.find("127.0.0.1:5 not"),
      std::string::npos);
  EXPECT_NE(Flypctl("version --context dev", env).out.find("127.0.0.1:3 not reachable"), std::string::npos);
  EXPECT_NE(Flypctl("version", env + " FLYP_CONTEXT=dev").out.find("127.0.0.1:3 not reachable"),
            std::string::npos);

  ASSERT_EQ(Flypctl("config use-context dev", env).code, 0);
  EXPECT_EQ(Flypctl("config current-context", env).out, "dev\n");
  Result unknown = Flypctl("config use-context prd", env);
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.out.find("no context 'prd'"), std::string::npos) << unknown.out;
  EXPECT_NE(unknown.out.find("did you mean prod?"), std::string::npos) << unknown.out;
  Result unknown_flag = Flypctl("version --context prd", env);
  EXPECT_EQ(unknown_flag.code, 0);  // version still prints the client's
  EXPECT_NE(unknown_flag.out.find("no context 'prd'"), std::string::npos) << unknown_flag.out;
  ASSERT_EQ(Flypctl("config delete-context dev", env).code, 0);
  EXPECT_EQ(Flypctl("config current-context", env).code, 1);  // it was current

  // A malformed file names itself and the key.
  std::ofstream(dir + "/bad.yaml") << "contexts:\n  - name: x\n    sever: a:1\n";
  Result bad = Flypctl("config get-contexts", "FLYP_CONFIG=" + dir + "/bad.yaml");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("bad.yaml: contexts[0].sever: unknown key; did you mean server?"), std::string::npos)
      << bad.out;
}

TEST(FlypctlCliTest, AMissingCaOrTokenFileIsAnErrorNotPlaintext) {
  Result flag = Flypctl("get job-000001 --server 127.0.0.1:1 --tls-ca /nonexistent/ca.pem");
  EXPECT_EQ(flag.code, 2);
  EXPECT_NE(flag.out.find("--tls-ca: cannot open '/nonexistent/ca.pem'"), std::string::npos) << flag.out;
  Result env = Flypctl("get job-000001", "FLYP_TLS_CA=/nonexistent/env.pem");
  EXPECT_EQ(env.code, 2);
  EXPECT_NE(env.out.find("FLYP_TLS_CA: cannot open '/nonexistent/env.pem'"), std::string::npos) << env.out;
  const std::string dir = testing::TempDir() + "/ca-context";
  const std::string cfg = "FLYP_CONFIG=" + dir + "/config.yaml";
  ASSERT_EQ(Flypctl("config set-context c --server 127.0.0.1:1 --tls-ca ca.pem", cfg).code, 0);
  Result ctx = Flypctl("list", cfg);
  EXPECT_EQ(ctx.code, 2);
  EXPECT_NE(ctx.out.find("context 'c' tls-ca: cannot open '" + dir + "/ca.pem'"), std::string::npos)
      << ctx.out;
  Result token = Flypctl("list --token-file /nonexistent/t");
  EXPECT_EQ(token.code, 2);
  EXPECT_NE(token.out.find("--token-file: cannot open '/nonexistent/t'"), std::string::npos) << token.out;
}

TEST(FlypctlCliTest, CompletionScripts) {
  Result bash = Flypctl("completion bash");
  ASSERT_EQ(bash.code, 0);
  const std::string path = testing::TempDir() + "/flypctl.bash";
  std::ofstream(path) << bash.out;
  auto complete = [&](const std::string& words) {
    return testing::RunCommand(
               "bash -c 'source " + path + "; COMP_WORDS=(" + words +
               "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _flypctl; echo \"${COMPREPLY[*]}\"'")
        .out;
  };
  EXPECT_EQ(complete("flypctl sub"), "submit\n");
  EXPECT_EQ(complete("flypctl config use"), "use-context\n");
  EXPECT_EQ(complete("flypctl logs job-1 --tim"), "--timestamps\n");
  EXPECT_EQ(complete("flypctl -o json li"), "list\n");
  Result zsh = Flypctl("completion zsh");
  ASSERT_EQ(zsh.code, 0);
  EXPECT_EQ(zsh.out.rfind("#compdef flypctl\n", 0), 0u);
  EXPECT_NE(zsh.out.find("compdef _flypctl flypctl"), std::string::npos);
}

TEST(FlypctlCliTest, ValidateFromStdinWithOverrides) {
  const std::string spec = testing::SourceDir() + "/examples/fashion-mnist-flyp.yaml";
  Result r = Flypctl("validate - --set schedule.epochs=7 --set optim.learning_rate=3e-5 < " + spec);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epochs: 7\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("learning_rate: 3e-05\n"), std::string::npos) << r.out;
  Result bad = Flypctl("validate " + spec + " --set schedule.epoch=7");
  EXPECT_EQ(bad.code, 3);
  EXPECT_NE(bad.out.find("--set schedule.epoch: unknown field; did you mean epochs?"), std::string::npos)
      << bad.out;
  Result json = Flypctl("validate " + spec + " -o json");
  EXPECT_EQ(json.code, 0);
  EXPECT_NE(json.out.find("\"method\": {"), std::string::npos) << json.out;
}

}  // namespace
}  // namespace flyp::cli
