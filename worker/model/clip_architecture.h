// The job spec's model architecture (proto) as a validated ClipConfig. Kept
// apart from clip_config.h so that the model itself (clip.h, transformer.h)
// builds with LibTorch alone, as bench/gpu/standalone does on GPU machines
// without protobuf.
#pragma once

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/model/clip_config.h"

namespace flyp::model {

// Checks and converts a fully resolved architecture (see
// flyp::ResolveArchitecture). INVALID_ARGUMENT naming the field
// ("model.architecture.vision.heads: ...") when a field is missing or
// inconsistent: non-positive sizes, heads not dividing width, image size not
// a multiple of the patch size, activation unspecified is taken as GELU.
StatusOr<ClipConfig> ClipConfigFromArchitecture(const v1::Architecture& arch);

}  // namespace flyp::model
