#include "cli/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "common/edit_distance.h"
#include "common/env.h"
#include "common/file_util.h"

namespace flyp::cli {
namespace fs = std::filesystem;
namespace {

std::string Home() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? home : "";
}

}  // namespace

const Context* CliConfig::Find(const std::string& name) const {
  for (const Context& c : contexts) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Status CliConfig::Unknown(const std::string& name) const {
  std::vector<std::string> names;
  std::string known;
  for (const Context& c : contexts) {
    names.push_back(c.name);
    known += (known.empty() ? "" : ", ") + c.name;
  }
  const std::string guess = ClosestMatch(name, names);
  return NotFoundError("no context '" + name + "' in " + path +
                       (guess.empty() ? "" : "; did you mean " + guess + "?") +
                       (known.empty() ? " (it has none; add one with flypctl config set-context)"
                                      : " (known: " + known + ")"));
}

std::string CliConfig::ResolvePath(const std::string& p) const {
  if (p.empty()) return p;
  if (p == "~" || p.rfind("~/", 0) == 0) return Home() + p.substr(1);
  if (fs::path(p).is_absolute()) return p;
  return (fs::path(path).parent_path() / p).string();
}

std::string DefaultConfigPath() {
  if (EnvIsSet(env::kConfig)) return EnvString(env::kConfig);
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/flyp/config.yaml";
  return Home() + "/.config/flyp/config.yaml";
}

StatusOr<CliConfig> LoadCliConfig(const std::string& path) {
  CliConfig config;
  config.path = path;
  StatusOr<std::string> text = ReadFileToString(path, kMaxConfigFileBytes);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return config;
    return text.status().WithContext("flypctl config");
  }
  auto bad = [&](const std::string& what) { return InvalidArgumentError(path + ": " + what); };
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return bad("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return config;
  if (!root.IsMap()) return bad("expected a mapping with current-context and contexts");
  std::set<std::string> names;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "current-context") {
      if (!kv.second.IsScalar()) return bad("current-context: expected a name");
      config.current_context = kv.second.Scalar();
    } else if (key == "contexts") {
      if (!kv.second.IsSequence()) return bad("contexts: expected a list");
      for (size_t i = 0; i < kv.second.size(); ++i) {
        const YAML::Node& n = kv.second[i];
        const std::string where = "contexts[" + std::to_string(i) + "]";
        if (!n.IsMap()) return bad(where + ": expected a mapping");
        Context c;
        for (const auto& f : n) {
          const std::string k = f.first.Scalar();
          if (!f.second.IsScalar()) return bad(where + "." + k + ": expected a value");
          const std::string v = f.second.Scalar();
          if (k == "name") {
            c.name = v;
          } else if (k == "server") {
            c.server = v;
          } else if (k == "token-file") {
            c.token_file = v;
          } else if (k == "tls-ca") {
            c.tls_ca = v;
          } else {
            const std::string guess = ClosestMatch(k, {"name", "server", "token-file", "tls-ca"});
            return bad(where + "." + k + ": unknown key" +
                       (guess.empty() ? "" : "; did you mean " + guess + "?"));
          }
        }
        if (c.name.empty()) return bad(where + ": a context needs a name");
        if (!names.insert(c.name).second) return bad(where + ": context '" + c.name + "' appears twice");
        config.contexts.push_back(c);
      }
    } else {
      const std::string guess = ClosestMatch(key, {"current-context", "contexts"});
      return bad(key + ": unknown key" + (guess.empty() ? "" : "; did you mean " + guess + "?"));
    }
  }
  if (!config.current_context.empty() && config.Find(config.current_context) == nullptr) {
    return bad("current-context: no context is named '" + config.current_context + "'");
  }
  return config;
}

Status SaveCliConfig(const CliConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!config.current_context.empty())
    out << YAML::Key << "current-context" << YAML::Value << config.current_context;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq;
  for (const Context& c : config.contexts) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << c.name;
    if (!c.server.empty()) out << YAML::Key << "server" << YAML::Value << c.server;
    if (!c.token_file.empty()) out << YAML::Key << "token-file" << YAML::Value << c.token_file;
    if (!c.tls_ca.empty()) out << YAML::Key << "tls-ca" << YAML::Value << c.tls_ca;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  std::error_code ec;
  const fs::path dir = fs::path(config.path).parent_path();
  if (!dir.empty()) fs::create_directories(dir, ec);
  if (ec) return PermissionDeniedError("cannot create " + dir.string() + ": " + ec.message());
  return WriteFileAtomic(config.path, std::string(out.c_str()) + "\n", 0600);
}

}  // namespace flyp::cli
