// Loading job specs: YAML text -> typed JobSpec with defaults -> validated.
// This is what flypctl, the coordinator and flyp-worker all call, so a spec
// means the same thing everywhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/spec/spec_defaults.h"
#include "common/spec/spec_validate.h"
#include "common/spec/spec_yaml.h"
#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp {

// The outcome of loading a spec: the normalised spec (defaults applied) and
// every problem found. `spec` is meaningful only when `errors` is empty.
struct SpecLoad {
  v1::JobSpec spec;
  std::vector<FieldError> errors;
  bool ok() const { return errors.empty(); }
  // One problem per line: "path: message".
  std::string ErrorText() const;
};

// YAML text -> defaults -> validation. Syntax, unknown-key and type errors are
// reported before defaults are applied; validation runs only when there are none.
SpecLoad LoadJobSpecYaml(std::string_view yaml);
// As above for a file; a missing or unreadable file is one error with an empty path.
SpecLoad LoadJobSpecFile(const std::string& path);
// A spec document as users hand it to flypctl: a job spec (YAML, or JSON,
// which is YAML too), or a Job as `flypctl get -o yaml|json` prints it (its
// `spec` is used; id, status, owner and artifact_dir are ignored, so a job
// is resubmittable as printed). Then every override "path=value" in order
// (ApplyFieldOverride; errors name the path), then defaults and validation.
SpecLoad LoadJobSpecDocument(std::string_view text, const std::vector<std::string>& overrides = {});
// A spec message (e.g. from a gRPC client): unset fields get defaults, then validation.
SpecLoad NormalizeJobSpec(const v1::JobSpec& spec);

// INVALID_ARGUMENT with ErrorText() when !load.ok().
Status SpecLoadStatus(const SpecLoad& load);

// The normalised spec as YAML (every field, defaults included).
std::string JobSpecToYaml(const v1::JobSpec& spec);

}  // namespace flyp
