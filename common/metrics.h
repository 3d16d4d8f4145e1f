// Prometheus wiring shared by the coordinator and the workers (prometheus-cpp).
//
// Pattern: a component owns a prometheus::Registry, builds every metric
// family and every labelled series it will ever use ONCE at start-up, keeps
// plain pointers to the series, and on the hot path only calls
// Increment/Set/Observe (lock-free atomics). Label values come from small
// fixed sets (phase, split, state, pool), never from per-step data, so the
// number of series is bounded.
//
// MetricsServer serves one registry at http://HOST:PORT/metrics.
//
// Thread safety: MetricsServer is immutable after Start(); prometheus-cpp
// series may be updated from any thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace prometheus {
class Exposer;
}

namespace flyp {

// Splits "host:port" (host may be "[v6]" or empty meaning all interfaces).
// INVALID_ARGUMENT naming `address` when the port is not 0..65535.
Status ParseHostPort(const std::string& address, std::string* host, int* port);

class MetricsServer {
 public:
  // Serves `registry` on `address` ("host:port"; port 0 picks a free port,
  // see port()). UNAVAILABLE naming the address when it cannot be bound,
  // INVALID_ARGUMENT when it is malformed.
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                        std::shared_ptr<prometheus::Registry> registry);
  ~MetricsServer();

  int port() const { return port_; }
  // "host:port" with the bound port.
  const std::string& address() const { return address_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  int port_ = 0;
  std::string address_;
};

// The registry in the Prometheus text exposition format (what /metrics
// returns); for tests and debugging.
std::string RenderMetricsText(const prometheus::Registry& registry);

// Histogram buckets for durations in seconds: 1 ms .. ~65 s, factor 2.
const prometheus::Histogram::BucketBoundaries& DurationBuckets();
// Buckets for waits in seconds: 0.1 s .. ~1.8 days, factor 4.
const prometheus::Histogram::BucketBoundaries& WaitBuckets();

}  // namespace flyp
