// The CPUs this process may run on: its affinity mask (taskset, a cgroup's
// cpuset, mpirun's binding), or every online core when the mask cannot be
// read. One place for what the coordinator counts as its slots and what a
// worker rank sizes its LibTorch threads by.
//
// Thread safety: thread-safe (reads the calling thread's mask).
#pragma once

#include <vector>

namespace flyp {

// The CPU ids of the affinity mask in increasing order; never empty.
std::vector<int> AllowedCpus();

// The machine's online cores (std::thread::hardware_concurrency), at least 1.
int OnlineCpuCount();

}  // namespace flyp
