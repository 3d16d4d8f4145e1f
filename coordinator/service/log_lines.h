// The job's world log (<artifact_dir>/logs/world.log) holds the ranks' lines
// tagged with their rank: mpirun's --tag-output "[<jobid>,<rank>]<stdout>:text"
// (local and Kubernetes worlds) or srun's --label "<rank>: text", the rank
// right-aligned to the width of the largest (Slurm worlds). Other lines
// come from the launcher itself (rank -1).
#pragma once

#include <string>

#include "flyp/v1/job.pb.h"

namespace flyp::coord {

v1::LogLine ParseWorldLogLine(const std::string& line);

}  // namespace flyp::coord
