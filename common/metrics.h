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
// Thread safety: MetricsServer is immutable after Start() (its one serving
// thread only reads the registry, which prometheus-cpp locks); series may be
// updated from any thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace flyp {

// Splits "host:port" (host may be "[v6]" or empty meaning all interfaces).
// INVALID_ARGUMENT naming `address` when the port is not 0..65535.
Status ParseHostPort(const std::string& address, std::string* host, int* port);

// A minimal HTTP/1.1 server for Prometheus scrapes: GET or HEAD /metrics
// (any query string) answers 200 with the registry in the text exposition
// format (version 0.0.4), the JSON pages given at start (e.g. the
// coordinator's /targets for Prometheus http_sd) 200 with what their function
// returns, other paths 404, other methods 405; every answer
// closes the connection. One thread serves one connection at a time; a
// client gets 5 s to send its request head (at most 8 KiB) and 5 s per write,
// so a stuck client delays other scrapes by at most that (Prometheus' default
// scrape timeout is 10 s).
class MetricsServer {
 public:
  // Path ("/targets") -> the JSON body; called on the serving thread for
  // every request of that path, so it must be thread-safe and not block.
  using JsonPages = std::map<std::string, std::function<std::string()>>;

  // Serves `registry` on `address` ("host:port"; an empty host or 0.0.0.0
  // means every IPv4 interface, "[::]" every IPv6 one; port 0 picks a free
  // port, see port()). Returns once the socket listens. INVALID_ARGUMENT
  // naming the address when it is malformed or its host does not resolve,
  // UNAVAILABLE naming it when it cannot be bound (port taken, no
  // permission), with the system's reason.
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                        std::shared_ptr<prometheus::Registry> registry,
                                                        JsonPages pages = {});
  // Stops serving (an answer in progress is finished first) and closes the socket.
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }
  // "host:port" with the bound port.
  const std::string& address() const { return address_; }

 private:
  MetricsServer() = default;
  void Serve();
  void Answer(int fd);

  std::shared_ptr<prometheus::Registry> registry_;
  JsonPages pages_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: the destructor's signal to the serving thread
  int port_ = 0;
  std::string address_;
  std::thread thread_;
};

// The registry in the Prometheus text exposition format (what /metrics
// returns); for tests and debugging.
std::string RenderMetricsText(const prometheus::Registry& registry);

// Histogram buckets for durations in seconds: 1 ms .. ~65 s, factor 2.
const prometheus::Histogram::BucketBoundaries& DurationBuckets();
// Buckets for waits in seconds: 0.1 s .. ~1.8 days, factor 4.
const prometheus::Histogram::BucketBoundaries& WaitBuckets();

}  // namespace flyp
