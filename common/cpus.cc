#include "common/cpus.h"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace flyp {

int OnlineCpuCount() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  if (out.empty()) {
    for (int c = 0; c < OnlineCpuCount(); ++c) out.push_back(c);
  }
  return out;
}

}  // namespace flyp
