// The one place job-spec defaults live. Every field a user leaves unset gets
// its value here; some defaults depend on the method (e.g. FLYP trains both
// towers, FT only the image tower), so the method is resolved first.
#pragma once

#include "flyp/v1/job_spec.pb.h"

namespace flyp {

// Sets every unset field of `spec` to its default. Idempotent; never touches
// a field that is set (an explicit 0 stays 0 and is judged by validation).
void ApplyJobSpecDefaults(v1::JobSpec* spec);

// The OpenAI ImageNet-style alpha grid {0, 0.1, ..., 1}.
std::vector<float> DefaultWiseFtAlphas();

}  // namespace flyp
