// Loading sweep specs: YAML text (or a SweepSpec message) -> the sweep with
// its defaults -> every trial expanded, its job spec normalised and
// validated like a job's. flypctl and the coordinator both call this, so a
// sweep means the same everywhere (docs/sweeps.md).
//
// The YAML is the SweepSpec message (proto/flyp/v1/sweep_spec.proto) read by
// the job spec's front end (YamlToMessage: field paths, did-you-mean), except
// `search_space`, a mapping from JobSpec field path to domain or a list of
// such mappings:
//   search_space:
//     - method.name: [zeroshot]
//     - method.name: [ft, flyp]
//       optim.learning_rate: [1e-5, 1e-4, 1e-3]
//       schedule.seed: {range: [0, 5], also: [data.train.seed]}
// A trial's job spec is the base with each assigned value set at its path
// (a mapping value is merged into the mapping there, anything else replaces
// it), named "<sweep name>-t<index>", then defaults and validation as for
// any job. Problems are reported with their paths: "search_space[1].
// optim.learning_rate.values[2]: expected a number, got 'fast'",
// "trials[4].optim.learning_rate: must be > 0 (got -1) [trial 4:
// optim.learning_rate=-1]".
//
// Budgets: at most kMaxSweepTrials trials, kMaxSearchValues values per
// parameter, kMaxSearchParameters parameters per space.
//
// Thread safety: pure functions.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/spec/spec_yaml.h"
#include "common/status.h"
#include "flyp/v1/sweep.pb.h"
#include "flyp/v1/sweep_spec.pb.h"

namespace flyp {

inline constexpr int kMaxSweepTrials = 1000;
inline constexpr int kMaxSearchValues = 1000;
inline constexpr int kMaxSearchParameters = 64;

// One trial of a sweep as expanded from its spec.
struct TrialPlan {
  int index = 0;
  // The assignment: each parameter's path and value (YAML text); `also`
  // paths are set too but not listed.
  std::vector<v1::TrialParameter> parameters;
  v1::JobSpec spec;  // normalised and validated
  // "path=value" of the group_by paths (in the normalised spec), joined by
  // ", "; empty without group_by.
  std::string group;
};

struct SweepLoad {
  v1::SweepSpec spec;  // with the sweep-level defaults applied
  std::vector<TrialPlan> trials;
  std::vector<FieldError> errors;
  bool ok() const { return errors.empty(); }
  // One problem per line: "path: message".
  std::string ErrorText() const;
};

// YAML -> defaults -> validation -> trials. Syntax, unknown-key and type
// errors are reported before anything is expanded.
SweepLoad LoadSweepSpecYaml(std::string_view yaml);
// As above for a file; an unreadable file is one error with an empty path.
SweepLoad LoadSweepSpecFile(const std::string& path);
// A SweepSpec message (a gRPC client's): defaults, validation, trials.
SweepLoad NormalizeSweepSpec(const v1::SweepSpec& spec);
// INVALID_ARGUMENT with ErrorText() when !load.ok().
Status SweepLoadStatus(const SweepLoad& load);

// The spec as YAML in the form LoadSweepSpecYaml reads (search_space as
// path -> domain mappings); LoadSweepSpecYaml(SweepSpecToYaml(s)).spec == s
// for a normalised s.
std::string SweepSpecToYaml(const v1::SweepSpec& spec);

// "path=value, path=value" of a trial's parameters whose path is not in
// `replicate_by` (the configuration: what a group chooses among), and of
// those that are (the replicate, e.g. "schedule.seed=2").
std::string TrialConfigKey(const std::vector<v1::TrialParameter>& params,
                           const std::vector<std::string>& replicate_by);
std::string TrialReplicateKey(const std::vector<v1::TrialParameter>& params,
                              const std::vector<std::string>& replicate_by);

// The value at a JobSpec field path of `msg` as text (enums by their YAML
// name, numbers shortest, "-" when unset). INVALID_ARGUMENT when the path
// names no scalar field.
StatusOr<std::string> FieldValueText(const google::protobuf::Message& msg, const std::string& path);

}  // namespace flyp
