#include "coordinator/launcher/host_prober.h"

#include "common/subprocess.h"

namespace flyp::coord {

Status RshProber::Probe(const Target& t) {
  auto it = pools_.find(t.pool);
  if (it == pools_.end()) return FailedPreconditionError("no probe settings for pool '" + t.pool + "'");
  std::vector<std::string> argv = SplitWords(it->second.rsh_agent);
  argv.push_back(t.address);
  argv.push_back("true");
  FLYP_ASSIGN_OR_RETURN(ProcessOutcome r, RunProcess(argv, it->second.timeout));
  if (r.ok()) return Status::Ok();
  const std::string what =
      r.timed_out ? "no answer within " + std::to_string(it->second.timeout.count()) + " ms" : r.Describe();
  return UnavailableError("probe `" + it->second.rsh_agent + " " + t.address + " true` failed: " + what);
}

}  // namespace flyp::coord
