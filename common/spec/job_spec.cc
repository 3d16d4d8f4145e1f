#include "common/spec/job_spec.h"

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

Status SpecLoadStatus(const SpecLoad& load) {
  if (load.ok()) return Status::Ok();
  std::string text = load.ErrorText();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return InvalidArgumentError(text);
}

std::string JobSpecToYaml(const v1::JobSpec& spec) { return MessageToYaml(spec); }

}  // namespace flyp
