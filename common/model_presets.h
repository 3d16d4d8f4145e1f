// The named CLIP architectures (ARCHITECTURE §4). A preset is an expansion
// of the spec's `model.architecture` block; fields the spec sets override it.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp {

// Names accepted in `model.preset`, in display order ("custom" excluded).
const std::vector<std::string>& ModelPresetNames();

// The full architecture of a preset; NOT_FOUND for an unknown name.
StatusOr<v1::Architecture> PresetArchitecture(const std::string& name);

// `preset` expanded, then every field set in `overrides` applied on top.
// preset "custom" (or empty) starts from an empty architecture.
StatusOr<v1::Architecture> ResolveArchitecture(const std::string& preset, const v1::Architecture& overrides);

}  // namespace flyp
