#include "common/spec/job_spec.h"

#include <yaml-cpp/yaml.h>

#include <optional>

#include "common/file_util.h"

namespace flyp {

std::string SpecLoad::ErrorText() const {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

SpecLoad NormalizeJobSpec(const v1::JobSpec& spec) {
  SpecLoad load;
  load.spec = spec;
  ApplyJobSpecDefaults(&load.spec);
  load.errors = ValidateJobSpec(load.spec);
  return load;
}

SpecLoad LoadJobSpecYaml(std::string_view yaml) {
  v1::JobSpec raw;
  std::vector<FieldError> errors;
  if (!YamlToMessage(yaml, &raw, &errors)) {
    SpecLoad load;
    load.errors = std::move(errors);
    return load;
  }
  return NormalizeJobSpec(raw);
}

SpecLoad LoadJobSpecFile(const std::string& path) {
  StatusOr<std::string> yaml = ReadFileToString(path, kMaxSpecYamlBytes);
  if (!yaml.ok()) {
    SpecLoad load;
    load.errors.push_back({"", "spec file: " + yaml.status().message()});
    return load;
  }
  return LoadJobSpecYaml(*yaml);
}

namespace {

// The keys of a Job document besides its spec (flyp.v1.Job).
bool IsJobKey(const std::string& key) {
  return key == "id" || key == "status" || key == "owner" || key == "artifact_dir";
}

// The spec inside a Job document, as YAML text; nullopt when `text` is not
// one (a plain spec, or not YAML at all: the spec reader reports that).
std::optional<std::string> SpecOfJobDocument(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
  if (!root.IsMap() || !root["spec"]) return std::nullopt;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key != "spec" && !IsJobKey(key)) return std::nullopt;
  }
  YAML::Emitter out;
  out << root["spec"];
  return std::string(out.c_str());
}

}  // namespace

SpecLoad LoadJobSpecDocument(std::string_view text, const std::vector<std::string>& overrides) {
  const std::optional<std::string> inner = SpecOfJobDocument(text);
  const std::string_view yaml = inner ? std::string_view(*inner) : text;
  SpecLoad load;
  v1::JobSpec raw;
  if (!YamlToMessage(yaml, &raw, &load.errors)) {
    if (inner) {
      for (auto& e : load.errors) e.path = e.path.empty() ? "spec" : "spec." + e.path;
    }
    return load;
  }
  for (const std::string& o : overrides) {
    std::vector<FieldError> errors;
    if (!ApplyFieldOverride(o, &raw, &errors)) {
      for (auto& e : errors) load.errors.push_back({e.path.empty() ? "--set" : "--set " + e.path, e.message});
    }
  }
  if (!load.ok()) return load;
  return NormalizeJobSpec(raw);
}

Status SpecLoadStatus(const SpecLoad& load) {
  if (load.ok()) return Status::Ok();
  std::string text = load.ErrorText();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return InvalidArgumentError(text);
}

std::string JobSpecToYaml(const v1::JobSpec& spec) { return MessageToYaml(spec); }

}  // namespace flyp
