// Confines the file paths of a job spec to the coordinator's data roots.
// Relative paths are taken relative to the first root; absolute paths must
// lie inside one of the roots once ".." and symlinks are resolved, dangling
// symlinks included. This is the check at submit time; the worker checks
// every file again when it opens it (FLYP_DATA_ROOTS, common/confine.h),
// since what a path means can change until then.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp::coord {

// Rewrites every path field of `spec` (model.checkpoint, model.vocab unless
// "byte", data.<split>.path / class_names_file, data.templates.file) to its
// absolute form. INVALID_ARGUMENT lists every escaping path, one
// "field: message" per line; the spec is unchanged then.
Status ResolveSpecPaths(const std::vector<std::string>& data_roots, v1::JobSpec* spec);

}  // namespace flyp::coord
