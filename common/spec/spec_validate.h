// The one pure validation function of a job spec. It sees the spec after
// defaults were applied and returns every problem, each with its field path,
// e.g. {"resources.world_size", "must be >= 1 (got 0)"}. It reads no files
// and touches no global state, so the coordinator and flypctl agree.
#pragma once

#include <vector>

#include "common/spec/spec_yaml.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp {

std::vector<FieldError> ValidateJobSpec(const v1::JobSpec& spec);

// Names accepted by data.templates.builtin.
const std::vector<std::string>& BuiltinTemplateSetNames();

}  // namespace flyp
