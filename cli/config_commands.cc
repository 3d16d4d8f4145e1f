// flypctl config: contexts in the config file (cli/config.h).
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/exit_codes.h"

namespace flyp::cli {
namespace {

// The config file, or nullopt after printing why it cannot be read.
std::optional<CliConfig> Load() {
  StatusOr<CliConfig> c = LoadCliConfig(DefaultConfigPath());
  if (!c.ok()) {
    std::cerr << "flypctl config: " << c.status().message() << "\n";
    return std::nullopt;
  }
  return std::move(c).value();
}

int Save(const CliConfig& c) {
  Status s = SaveCliConfig(c);
  if (!s.ok()) {
    std::cerr << "flypctl config: " << s.message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

int GetContexts() {
  std::optional<CliConfig> c = Load();
  if (!c) return kExitFailure;
  size_t w = 4;
  for (const Context& x : c->contexts) w = std::max(w, x.name.size());
  auto pad = [](const std::string& s, size_t n) {
    return s + std::string(n > s.size() ? n - s.size() : 0, ' ');
  };
  std::cout << "CURRENT  " << pad("NAME", w) << "  " << pad("SERVER", 24) << "  " << pad("TOKEN-FILE", 24)
            << "  TLS-CA\n";
  for (const Context& x : c->contexts) {
    std::cout << pad(x.name == c->current_context ? "*" : "", 7) << "  " << pad(x.name, w) << "  "
              << pad(x.server.empty() ? "-" : x.server, 24) << "  "
              << pad(x.token_file.empty() ? "-" : x.token_file, 24) << "  "
              << (x.tls_ca.empty() ? "-" : x.tls_ca) << "\n";
  }
  if (c->contexts.empty()) std::cerr << "(no contexts in " << c->path << ")\n";
  return kExitOk;
}

int UseContext(const std::string& name) {
  std::optional<CliConfig> c = Load();
  if (!c) return kExitFailure;
  if (c->Find(name) == nullptr) {
    std::cerr << "flypctl config: " << c->Unknown(name).message() << "\n";
    return kExitFailure;
  }
  c->current_context = name;
  if (int rc = Save(*c); rc != kExitOk) return rc;
  std::cout << "current context: " << name << "\n";
  return kExitOk;
}

int SetContext(const std::string& name, bool use) {
  std::optional<CliConfig> c = Load();
  if (!c) return kExitFailure;
  const GlobalOptions& g = Globals();
  Context* ctx = nullptr;
  for (Context& x : c->contexts) {
    if (x.name == name) ctx = &x;
  }
  const bool created = ctx == nullptr;
  if (created) {
    c->contexts.push_back({name, "", "", ""});
    ctx = &c->contexts.back();
  }
  if (!g.server.empty()) ctx->server = g.server;
  if (!g.token_file.empty()) ctx->token_file = g.token_file;
  if (!g.tls_ca.empty()) ctx->tls_ca = g.tls_ca;
  if (!g.token.empty()) {
    std::cerr << "flypctl config: contexts keep a --token-file, not a token\n";
    return kExitUsage;
  }
  if (use || c->current_context.empty()) c->current_context = name;
  if (int rc = Save(*c); rc != kExitOk) return rc;
  std::cout << (created ? "created" : "updated") << " context " << name << " in " << c->path
            << (c->current_context == name ? " (current)" : "") << "\n";
  return kExitOk;
}

int DeleteContext(const std::string& name) {
  std::optional<CliConfig> c = Load();
  if (!c) return kExitFailure;
  if (c->Find(name) == nullptr) {
    std::cerr << "flypctl config: " << c->Unknown(name).message() << "\n";
    return kExitFailure;
  }
  c->contexts.erase(std::remove_if(c->contexts.begin(), c->contexts.end(),
                                   [&](const Context& x) { return x.name == name; }),
                    c->contexts.end());
  if (c->current_context == name) c->current_context.clear();
  if (int rc = Save(*c); rc != kExitOk) return rc;
  std::cout << "deleted context " << name << "\n";
  return kExitOk;
}

}  // namespace

Command ConfigCommand() {
  Command config{
      "config", "contexts: named coordinators with their token file and CA (~/.config/flyp/config.yaml)",
      "The file is $FLYP_CONFIG, else ~/.config/flyp/config.yaml. Flags and environment variables win "
      "over the context's settings.",
      nullptr};
  config.subcommands.push_back({"get-contexts", "list the contexts; * marks the current one", "",
                                [](FlagSet&) { return [] { return GetContexts(); }; }});
  config.subcommands.push_back({"use-context", "make a context the current one", "", [](FlagSet& f) {
                                  auto name = std::make_shared<std::string>();
                                  f.Arg("NAME", name.get(), "the context");
                                  return [name] { return UseContext(*name); };
                                }});
  config.subcommands.push_back(
      {"set-context", "create or update a context from the global flags given",
       "The context takes the --server, --token-file and --tls-ca given on this command line; settings not "
       "given "
       "are kept. The first context becomes the current one.\n"
       "\n"
       "  flypctl config set-context prod --server flyp.example.com:50051 --token-file ~/.flyp/prod.token "
       "--tls-ca ~/.flyp/ca.pem --use",
       [](FlagSet& f) {
         auto name = std::make_shared<std::string>();
         auto use = std::make_shared<bool>(false);
         f.Arg("NAME", name.get(), "the context");
         f.Switch("use", use.get(), "also make it the current context");
         return [name, use] { return SetContext(*name, *use); };
       }});
  config.subcommands.push_back({"current-context", "print the current context's name", "", [](FlagSet&) {
                                  return [] {
                                    std::optional<CliConfig> c = Load();
                                    if (!c) return kExitFailure;
                                    if (c->current_context.empty()) {
                                      std::cerr << "flypctl config: no current context in " << c->path
                                                << "\n";
                                      return kExitFailure;
                                    }
                                    std::cout << c->current_context << "\n";
                                    return kExitOk;
                                  };
                                }});
  config.subcommands.push_back({"delete-context", "remove a context", "", [](FlagSet& f) {
                                  auto name = std::make_shared<std::string>();
                                  f.Arg("NAME", name.get(), "the context");
                                  return [name] { return DeleteContext(*name); };
                                }});
  return config;
}

}  // namespace flyp::cli
