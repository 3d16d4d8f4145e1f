#include "common/metrics.h"

#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <sstream>

#include "common/numbers.h"

namespace flyp {

Status ParseHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError("metrics address '" + address + "': expected host:port");
  }
  StatusOr<int32_t> p = ParseInt32(std::string_view(address).substr(colon + 1), "", 0, 65535);
  if (!p.ok() || address[colon + 1] == '-') {  // "-0" is no port either
    return InvalidArgumentError("metrics address '" + address + "': port must be a number 0..65535");
  }
  *host = address.substr(0, colon);
  *port = *p;
  return Status::Ok();
}

StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry) {
  std::string host;
  int port = 0;
  FLYP_RETURN_IF_ERROR(ParseHostPort(address, &host, &port));
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  // civetweb wants "port" for all interfaces and "host:port" otherwise.
  const std::string bind = (host.empty() || host == "0.0.0.0") ? std::to_string(port) : address;
  try {
    s->exposer_ = std::make_unique<prometheus::Exposer>(bind, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return UnavailableError("metrics: cannot listen on '" + address + "': " + e.what());
  }
  std::vector<int> ports = s->exposer_->GetListeningPorts();
  if (ports.empty() || ports[0] <= 0) return UnavailableError("metrics: cannot listen on '" + address + "'");
  s->registry_ = std::move(registry);
  s->exposer_->RegisterCollectable(s->registry_);
  s->port_ = ports[0];
  s->address_ = (host.empty() ? std::string("0.0.0.0") : host) + ":" + std::to_string(s->port_);
  return s;
}

MetricsServer::~MetricsServer() = default;

std::string RenderMetricsText(const prometheus::Registry& registry) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, registry.Collect());
  return os.str();
}

const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = [] {
    prometheus::Histogram::BucketBoundaries v;
    for (double x = 0.001; x < 70; x *= 2) v.push_back(x);
    return v;
  }();
  return b;
}

const prometheus::Histogram::BucketBoundaries& WaitBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = [] {
    prometheus::Histogram::BucketBoundaries v;
    for (double x = 0.1; x < 2e5; x *= 4) v.push_back(x);
    return v;
  }();
  return b;
}

}  // namespace flyp
