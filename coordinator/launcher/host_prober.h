// HostProber: can a host be reached the way its launcher reaches it? The
// JobManager probes a hosts pool's hosts before launching a world on them,
// after a world on them failed, and, while a host is down, again with
// backoff (coordinator/inventory.h).
//
// RshProber runs `<rsh agent words> <address> true` (RunProcess: argv only,
// killed at the pool's probe timeout). FakeHostProber (fake_launcher.h)
// answers as a test scripts it.
//
// Thread safety: Probe may be called from any thread, concurrently.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "common/status.h"

namespace flyp::coord {

class HostProber {
 public:
  struct Target {
    std::string pool;
    std::string host;
    std::string address;
  };
  virtual ~HostProber() = default;
  // Blocks up to the pool's probe timeout (plus a moment). OK when the host
  // answered; UNAVAILABLE saying what the agent said or that it did not
  // answer in time.
  virtual Status Probe(const Target& t) = 0;
};

struct RshProbeSettings {
  std::string rsh_agent = "ssh -o BatchMode=yes";
  std::chrono::milliseconds timeout{5000};
};

class RshProber : public HostProber {
 public:
  explicit RshProber(std::map<std::string, RshProbeSettings> pools) : pools_(std::move(pools)) {}
  // FAILED_PRECONDITION for a pool without settings.
  Status Probe(const Target& t) override;

 private:
  const std::map<std::string, RshProbeSettings> pools_;
};

}  // namespace flyp::coord
