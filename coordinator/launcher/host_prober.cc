#include "coordinator/launcher/host_prober.h"

#include "common/subprocess.h"

namespace flyp::coord {

Status RshProber::Probe(const Target& t) {
  auto it = pools_.find(t.pool);
  if (it == pools_.end()) return FailedPreconditionError("no probe settings for pool '" + t.pool + "'");
  ProcessOptions p;
  p.argv = SplitWords(it->second.rsh_agent);
  p.argv.push_back(t.address);
  p.argv.push_back("true");
  p.timeout = it->second.timeout;
  p.max_output_bytes = 4096;  // an ssh error fits; a chatty login banner is cut
  FLYP_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(p));
  if (r.ok()) return Status::Ok();
  const std::string what =
      r.timed_out ? "no answer within " + std::to_string(it->second.timeout.count()) + " ms" : r.Describe();
  return UnavailableError("probe `" + it->second.rsh_agent + " " + t.address + " true` failed: " + what);
}

}  // namespace flyp::coord
