// The job's world log (<artifact_dir>/logs/world.log) is mpirun's output with
// --tag-output: "[<jobid>,<rank>]<stdout>:text". Lines without the tag come
// from mpirun itself (rank -1).
#pragma once

#include <string>

#include "flyp/v1/job.pb.h"

namespace flyp::coord {

v1::LogLine ParseWorldLogLine(const std::string& line);

}  // namespace flyp::coord
